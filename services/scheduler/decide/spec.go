package decide

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/drover/drover/pkg/deployplan"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/scheduler/placement"
	"github.com/google/uuid"
)

func appResources(app marathon.App) placement.Resources {
	return placement.Resources{Cpus: floatValue(app.Cpus), Mem: floatValue(app.Mem), Disk: floatValue(app.Disk)}
}

// floatValue is *f, or 0 when f is nil.
func floatValue(f *float64) float64 {
	if f == nil {
		return 0
	}
	return *f
}

// portMappings are the app's port mappings, wherever the definition put them.
func portMappings(app marathon.App) []marathon.PortMapping {
	if app.Container == nil {
		return nil
	}
	if len(app.Container.PortMappings) > 0 {
		return app.Container.PortMappings
	}
	if app.Container.Docker != nil {
		return app.Container.Docker.PortMappings
	}
	return nil
}

func network(app marathon.App) string {
	if len(app.Networks) > 0 {
		switch app.Networks[0].Mode {
		case "host":
			return "HOST"
		case "container/bridge":
			return "BRIDGE"
		case "container":
			return "USER"
		}
	}
	if app.Container != nil && app.Container.Docker != nil && app.Container.Docker.Network != "" {
		return app.Container.Docker.Network
	}
	return "HOST"
}

// hostPortSlots lists the host ports an app asks for, one per port mapping
// (BRIDGE) or port definition (HOST): 0 for any free port, -1 for none
// (a USER-network mapping without a host port), else that exact port.
func hostPortSlots(app marathon.App) []int {
	switch network(app) {
	case "BRIDGE", "USER":
		user := network(app) == "USER"
		var slots []int
		for _, pm := range portMappings(app) {
			switch {
			case pm.HostPort == nil && user:
				slots = append(slots, -1)
			case pm.HostPort == nil:
				slots = append(slots, 0)
			default:
				slots = append(slots, *pm.HostPort)
			}
		}
		return slots
	case "HOST":
		var slots []int
		for _, pd := range app.PortDefinitions {
			if app.RequirePorts != nil && *app.RequirePorts {
				slots = append(slots, pd.Port)
			} else {
				slots = append(slots, 0)
			}
		}
		return slots
	}
	return nil
}

// publishedPorts are the host ports the app publishes through docker
// parameters ("publish": "80:80"): placement keeps them free per agent.
func publishedPorts(app marathon.App) []int {
	if app.Container == nil || app.Container.Docker == nil {
		return nil
	}
	opts, err := marathon.ParseDockerParameters(app.Container.Docker.Parameters)
	if err != nil {
		return nil // the api refuses such apps; nothing to reserve
	}
	var ports []int
	for _, p := range opts.Publish {
		for port := p.HostPort; port > 0 && port <= max(p.HostPort, p.HostPortEnd); port++ {
			ports = append(ports, port)
		}
	}
	return ports
}

func placementRequest(app marathon.App, count int) placement.Request {
	req := placement.Request{
		AppID:         app.ID,
		Count:         count,
		Resources:     appResources(app),
		ReservedPorts: publishedPorts(app),
		Constraints:   app.Constraints,
	}
	for _, p := range hostPortSlots(app) {
		if p >= 0 {
			req.Ports = append(req.Ports, p)
		}
	}
	// What the agents' policies judge, read as the agents read it.
	ha := marathon.HostAccessOf(app)
	req.Privileged, req.HostPaths, req.Image = ha.Privileged, ha.HostPaths, ha.Image
	return req
}

// assignPorts spreads the ports placement picked over the app's slots.
func assignPorts(app marathon.App, picked []int) []int {
	slots := hostPortSlots(app)
	out := make([]int, len(slots))
	i := 0
	for j, p := range slots {
		if p < 0 || i >= len(picked) {
			continue
		}
		out[j] = picked[i]
		i++
	}
	return out
}

// newTaskID makes a Marathon-style task id: app path with '/' as '_', then
// ".instance-<uuid>._app.1". It is a valid KV key and Docker name part.
func newTaskID(appID string) string {
	path := strings.ReplaceAll(strings.TrimPrefix(appID, "/"), "/", "_")
	return fmt.Sprintf("%s.instance-%s._app.1", path, uuid.NewString())
}

// TaskEnv is the environment Marathon gives every task.
func TaskEnv(app marathon.App, taskID, host string, hostPorts []int) map[string]string {
	env := map[string]string{
		"HOST":                       host,
		"MARATHON_APP_ID":            app.ID,
		"MARATHON_APP_VERSION":       deployplan.ConfigVersion(&app),
		"MESOS_TASK_ID":              taskID,
		"MARATHON_APP_RESOURCE_CPUS": strconv.FormatFloat(floatValue(app.Cpus), 'f', -1, 64),
		"MARATHON_APP_RESOURCE_MEM":  strconv.FormatFloat(floatValue(app.Mem), 'f', -1, 64),
		"MARATHON_APP_RESOURCE_DISK": strconv.FormatFloat(floatValue(app.Disk), 'f', -1, 64),
	}
	if app.Container != nil && app.Container.Docker != nil {
		env["MARATHON_APP_DOCKER_IMAGE"] = app.Container.Docker.Image
	}
	var ports []string
	for i, p := range hostPorts {
		if p <= 0 {
			continue
		}
		env["PORT"+strconv.Itoa(i)] = strconv.Itoa(p)
		ports = append(ports, strconv.Itoa(p))
	}
	if len(ports) > 0 {
		env["PORT"] = ports[0]
		env["PORTS"] = strings.Join(ports, ",")
	}
	return env
}
