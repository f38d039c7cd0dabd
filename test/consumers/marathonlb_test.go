package consumers

import (
	"fmt"
	"net"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// What marathon-lb (github.com/mesosphere/marathon-lb, marathon_lb.py and
// utils.py) reads of GET /v2/apps?embed=apps.tasks to write HAProxy's
// configuration, and a small generator that does what it does with it: one
// frontend per service port of each app in the load balancer's groups, one
// server per task port of each running task that passes its health checks.
// None of marathon-lb's code is here; the comments name the functions whose
// behaviour each step follows.

type lbApps struct {
	Apps []lbApp `json:"apps"`
}

type lbApp struct {
	ID        string            `json:"id"`
	Labels    map[string]string `json:"labels"`
	Instances int               `json:"instances"`
	IPAddress *struct {
		Discovery struct {
			Ports []struct {
				Number int `json:"number"`
			} `json:"ports"`
		} `json:"discovery"`
	} `json:"ipAddress"`
	Container *struct {
		Docker *struct {
			Network      string          `json:"network"`
			PortMappings []lbPortMapping `json:"portMappings"`
		} `json:"docker"`
		PortMappings []lbPortMapping `json:"portMappings"`
	} `json:"container"`
	Networks []struct {
		Mode string `json:"mode"`
	} `json:"networks"`
	PortDefinitions *[]struct {
		Port *int `json:"port"`
	} `json:"portDefinitions"`
	Ports        []int `json:"ports"`
	HealthChecks []struct {
		Protocol string `json:"protocol"`
	} `json:"healthChecks"`
	VersionInfo struct {
		LastScalingAt string `json:"lastScalingAt"`
	} `json:"versionInfo"`
	Tasks []lbTask `json:"tasks"`
}

type lbPortMapping struct {
	ContainerPort *int `json:"containerPort"`
	ServicePort   *int `json:"servicePort"`
}

type lbTask struct {
	ID           string `json:"id"`
	Host         string `json:"host"`
	State        string `json:"state"`
	Ports        []int  `json:"ports"`
	ServicePorts []int  `json:"servicePorts"`
	IPAddresses  []struct {
		IPAddress string `json:"ipAddress"`
	} `json:"ipAddresses"`
	// nil when the field is absent: marathon-lb then keeps the task out
	// (unless it had seen it alive before).
	HealthCheckResults *[]struct {
		Alive bool `json:"alive"`
	} `json:"healthCheckResults"`
	Draining bool `json:"draining"`
}

// lbService is one frontend: an app's service port and the servers behind it.
type lbService struct {
	AppID       string
	ServicePort int
	Index       int
	Mode        string
	BindAddr    string
	Backends    []lbBackend
}

// Backend is the backend's name as marathon-lb writes it.
func (s lbService) Backend() string {
	return strings.ReplaceAll(strings.TrimPrefix(s.AppID, "/"), "/", "_") + "_" + fmt.Sprint(s.ServicePort)
}

type lbBackend struct {
	Host, IP string
	Port     int
	Draining bool
}

// excludedStates are the task states marathon-lb routes nothing to
// (EXCLUDED_TASK_STATES).
var excludedStates = []string{"TASK_STAGING", "TASK_STARTING", "TASK_KILLING", "TASK_FINISHED", "TASK_FAILED",
	"TASK_KILLED", "TASK_ERROR", "TASK_DROPPED", "TASK_GONE", "TASK_GONE_BY_OPERATOR", "TASK_UNKNOWN"}

// networkingMode is get_app_networking_mode: host, container/bridge or container.
func networkingMode(app lbApp) string {
	mode := "host"
	if app.IPAddress != nil {
		mode = "container"
	}
	if app.Container != nil && app.Container.Docker != nil {
		switch app.Container.Docker.Network {
		case "USER":
			mode = "container"
		case "BRIDGE":
			mode = "container/bridge"
		}
	}
	for _, n := range app.Networks {
		mode = n.Mode
		if mode == "" {
			mode = "container"
		}
	}
	return mode
}

// portMappings is get_app_port_mappings: container.docker's, else container's.
func portMappings(app lbApp) []lbPortMapping {
	if app.Container == nil {
		return nil
	}
	if app.Container.Docker != nil && len(app.Container.Docker.PortMappings) > 0 {
		return app.Container.Docker.PortMappings
	}
	return app.Container.PortMappings
}

// servicePorts is ServicePortAssigner.get_service_ports without the
// assigner (which serves only Marathon 1.4's IP-per-task apps).
func servicePorts(app lbApp) []int {
	mode := networkingMode(app)
	if mode == "container" || mode == "container/bridge" {
		var ports []int
		for _, pm := range portMappings(app) {
			if pm.ServicePort != nil {
				ports = append(ports, *pm.ServicePort)
			}
		}
		if len(ports) > 0 {
			return ports
		}
	}
	ports := app.Ports
	if app.PortDefinitions != nil {
		ports = nil
		for _, pd := range *app.PortDefinitions {
			if pd.Port != nil {
				ports = append(ports, *pd.Port)
			}
		}
	}
	return ports
}

// taskIPAndPorts is get_task_ip_and_ports: the task's first IP address and
// the ports its services listen on for IP-per-task apps, else its host's
// address and its host ports.
func taskIPAndPorts(app lbApp, task lbTask, resolve func(string) (string, error)) (string, []int) {
	mode := networkingMode(app)
	var ip string
	if mode == "container" {
		if len(task.IPAddresses) > 0 {
			ip = task.IPAddresses[0].IPAddress
		}
	} else if task.Host != "" {
		ip, _ = resolve(task.Host)
	}
	var definitionPorts []int
	if app.PortDefinitions != nil {
		for _, pd := range *app.PortDefinitions {
			if pd.Port != nil {
				definitionPorts = append(definitionPorts, *pd.Port)
			}
		}
	}
	var mappingPorts []int
	for _, pm := range portMappings(app) {
		if pm.ContainerPort != nil {
			mappingPorts = append(mappingPorts, *pm.ContainerPort)
		}
	}
	var ports []int
	switch mode {
	case "host":
		ports = firstNonEmpty(task.Ports, definitionPorts)
	case "container/bridge":
		ports = firstNonEmpty(task.Ports, definitionPorts, mappingPorts)
	default:
		var discovery []int
		if app.IPAddress != nil {
			for _, p := range app.IPAddress.Discovery.Ports {
				discovery = append(discovery, p.Number)
			}
		}
		ports = firstNonEmpty(discovery, mappingPorts)
	}
	if ip == "" || len(ports) == 0 {
		return "", nil
	}
	return ip, ports
}

// firstNonEmpty is the first non-empty list.
func firstNonEmpty(lists ...[]int) []int {
	for _, l := range lists {
		if len(l) > 0 {
			return l
		}
	}
	return nil
}

// lbServices is get_apps followed by config's group filter: the services of
// the apps in groups (HAPROXY_GROUP, "external" when unset; "*" takes all),
// with the tasks marathon-lb started with --health-check would route to.
func lbServices(apps []lbApp, groups []string, resolve func(string) (string, error)) []lbService {
	var out []lbService
	for _, app := range apps {
		appGroups := []string{"external"}
		if g, ok := app.Labels["HAPROXY_GROUP"]; ok {
			appGroups = strings.Split(g, ",")
		}
		if !slices.Contains(groups, "*") && !slices.ContainsFunc(appGroups, func(g string) bool { return slices.Contains(groups, g) }) {
			continue
		}
		sps := servicePorts(app)
		services := make([]lbService, len(sps))
		for i, sp := range sps {
			mode := app.Labels[fmt.Sprintf("HAPROXY_%d_MODE", i)]
			if mode == "" {
				mode = "tcp"
				if app.Labels[fmt.Sprintf("HAPROXY_%d_VHOST", i)] != "" {
					mode = "http"
				}
			}
			bind := app.Labels[fmt.Sprintf("HAPROXY_%d_BIND_ADDR", i)]
			if bind == "" {
				bind = "*"
			}
			services[i] = lbService{AppID: app.ID, ServicePort: sp, Index: i, Mode: mode, BindAddr: bind}
		}
		for _, task := range app.Tasks {
			if task.Host == "" || slices.Contains(excludedStates, task.State) {
				continue
			}
			if len(app.HealthChecks) > 0 {
				if task.HealthCheckResults == nil || !slices.ContainsFunc(*task.HealthCheckResults, func(r struct {
					Alive bool `json:"alive"`
				}) bool {
					return r.Alive
				}) {
					continue
				}
			}
			ip, ports := taskIPAndPorts(app, task, resolve)
			if ip == "" {
				continue
			}
			for i := 0; i < len(ports) && i < len(services); i++ {
				services[i].Backends = append(services[i].Backends, lbBackend{Host: task.Host, IP: ip, Port: ports[i], Draining: task.Draining})
			}
		}
		for _, s := range services {
			if len(s.Backends) > 0 {
				out = append(out, s)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].AppID != out[j].AppID {
			return out[i].AppID < out[j].AppID
		}
		return out[i].ServicePort < out[j].ServicePort
	})
	return out
}

var serverNameUnsafe = regexp.MustCompile(`[^a-zA-Z0-9\-]`)

// haproxyConfig writes the configuration marathon-lb's default templates
// (HAPROXY_HEAD, FRONTEND_HEAD, BACKEND_HEAD, BACKEND_SERVER_OPTIONS) give
// for services, trimmed of what needs files (TLS, maps, the stats socket).
// In http mode each backend names the server that answered in an
// X-Drover-Server header, for the test to see requests reach every task.
func haproxyConfig(services []lbService) string {
	var b strings.Builder
	b.WriteString("global\n  maxconn 256\n\ndefaults\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n")
	for _, s := range services {
		fmt.Fprintf(&b, "\nfrontend %s\n  bind %s:%d\n  mode %s\n  use_backend %s\n", s.Backend(), s.BindAddr, s.ServicePort, s.Mode, s.Backend())
		fmt.Fprintf(&b, "\nbackend %s\n  balance roundrobin\n  mode %s\n", s.Backend(), s.Mode)
		if s.Mode == "http" {
			b.WriteString("  http-response set-header X-Drover-Server %s\n")
		}
		for i, be := range s.Backends {
			name := serverNameUnsafe.ReplaceAllString(fmt.Sprintf("%s_%s_%d", be.Host, be.IP, be.Port), "_")
			fmt.Fprintf(&b, "  server %s %s:%d id %d", name, be.IP, be.Port, i+1)
			if be.Draining {
				b.WriteString(" disabled")
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// resolveIPv4 resolves a host as marathon-lb's resolve_ip does (its IPv4
// address).
func resolveIPv4(host string) (string, error) {
	addrs, err := net.LookupIP(host)
	if err != nil {
		return "", err
	}
	for _, a := range addrs {
		if v4 := a.To4(); v4 != nil {
			return v4.String(), nil
		}
	}
	return "", fmt.Errorf("no IPv4 address for %s", host)
}
