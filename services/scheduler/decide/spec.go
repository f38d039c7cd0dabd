package decide

import (
	"fmt"
	"strings"

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

// taskSpec is the app resolved as the agents resolve it. An app that
// cannot run as written is placed all the same, from what could be read:
// its agent refuses it and the task's failure says why.
func taskSpec(app marathon.App) marathon.TaskSpec {
	spec, _ := marathon.ResolveTask(app)
	return spec
}

func placementRequest(app marathon.App, spec marathon.TaskSpec, count int) placement.Request {
	req := placement.Request{
		AppID:         app.ID,
		Count:         count,
		Resources:     appResources(app),
		ReservedPorts: spec.PublishedPorts,
		Constraints:   app.Constraints,
	}
	for _, p := range spec.HostPortSlots() {
		if p >= 0 {
			req.Ports = append(req.Ports, p)
		}
	}
	// What the agents' policies judge, read as the agents read it.
	ha := spec.Access
	req.Privileged, req.HostPaths, req.Image, req.HostCommand = ha.Privileged, ha.HostPaths, ha.Image, ha.HostCommand
	return req
}

// assignPorts spreads the ports placement picked over the task's host port slots.
func assignPorts(spec marathon.TaskSpec, picked []int) []int {
	slots := spec.HostPortSlots()
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
