package marathon

import (
	"cmp"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// portNamePattern is Marathon's rule for port mapping and definition names.
const portNamePattern = `^[a-z][a-z0-9-]*$`

var portNameRe = regexp.MustCompile(portNamePattern)

var (
	dockerNetworks     = []string{NetworkModeBridge, NetworkModeHost, NetworkModeNone, NetworkModeUser}
	appNetworkModes    = []string{"container", "container/bridge", "host"}
	mappingProtocols   = []string{"tcp", "udp", "udp,tcp"}
	appVolumeModes     = []string{VolumeRO, VolumeRW}
	containerTypes     = []string{ContainerDocker, ContainerMesos}
	msgHostPortMapping = "portMappings are not allowed with host-networking"
	msgPortDefsNonHost = "portDefinitions are only allowed with host-networking"
	// msgNetworkNameMissing is Marathon's refusal of an unnamed container network.
	msgNetworkNameMissing = "Network name must be specified when container network is selected."
)

func (v *validator) container(a *App) {
	c := a.Container
	if c == nil {
		return
	}
	if c.Type != "" && !slices.Contains(containerTypes, c.Type) {
		v.add("/container/type", oneOf(containerTypes...))
	}
	if c.Docker == nil {
		if c.Type == "" || c.Type == ContainerDocker {
			v.add("/container/docker", msgNotEmpty)
		}
	} else {
		d := c.Docker
		if d.Image == "" {
			v.add("/container/docker/image", msgNotEmpty)
		}
		if d.Network != "" && !slices.Contains(dockerNetworks, d.Network) {
			v.add("/container/docker/network", oneOf(dockerNetworks...))
		}
		for i, p := range d.Parameters {
			if p.Key == "" {
				v.add(fmt.Sprintf("/container/docker/parameters(%d)/key", i), msgNotEmpty)
			}
		}
		if _, err := ParseDockerParameters(d.Parameters); err != nil {
			for _, pe := range ParameterErrors(err) {
				if pe.Key != "" {
					v.add(pe.Path(), pe.Reason)
				}
			}
		}
		if isSet(d.PullConfig) && c.Type != ContainerMesos {
			v.add("/container/docker/pullConfig", "pullConfig is not supported with Docker containerizer")
		}
	}
	for i, vol := range c.Volumes {
		p := fmt.Sprintf("/container/volumes(%d)", i)
		switch {
		case isSet(vol.Persistent):
			v.add(p+"/persistent", msgUnsupported)
		case isSet(vol.External):
			v.add(p+"/external", msgUnsupported)
		default:
			if vol.ContainerPath == "" {
				v.add(p+"/containerPath", msgNotEmpty)
			}
			if vol.HostPath == "" {
				v.add(p+"/hostPath", msgNotEmpty)
			}
			// Docker's bind syntax (SOURCE:TARGET:MODE) cannot hold a ':'
			// in a path: refused, rather than read as other paths.
			if strings.Contains(vol.ContainerPath, ":") {
				v.add(p+"/containerPath", "must not contain ':'")
			}
			if strings.Contains(vol.HostPath, ":") {
				v.add(p+"/hostPath", "must not contain ':'")
			}
		}
		if vol.Mode != "" && !slices.Contains(appVolumeModes, vol.Mode) {
			v.add(p+"/mode", oneOf(appVolumeModes...))
		}
	}
	if len(c.PortMappings) > 0 && c.Docker != nil && len(c.Docker.PortMappings) > 0 {
		v.add("/container", "cannot specify both portMappings and docker.portMappings")
	}
	v.portMappings("/container/portMappings", c.PortMappings)
	if c.Docker != nil {
		v.portMappings("/container/docker/portMappings", c.Docker.PortMappings)
	}
}

func (v *validator) portMappings(prefix string, pms []PortMapping) {
	names := map[string]bool{}
	// fixed are the fixed host ports taken so far, per protocol: a second
	// mapping of one would wait for ever as InsufficientPorts.
	fixed := map[string]int{}
	for i, pm := range pms {
		p := fmt.Sprintf("%s(%d)", prefix, i)
		v.port(p+"/containerPort", pm.ContainerPort)
		if pm.HostPort != nil {
			v.port(p+"/hostPort", *pm.HostPort)
			if *pm.HostPort > 0 {
				for _, proto := range strings.Split(cmp.Or(pm.Protocol, "tcp"), ",") {
					key := fmt.Sprintf("%d/%s", *pm.HostPort, proto)
					if j, ok := fixed[key]; ok {
						v.add(p+"/hostPort", fmt.Sprintf("must be unique: %s(%d) has hostPort %d (%s) already", prefix, j, *pm.HostPort, proto))
						break
					}
					fixed[key] = i
				}
			}
		}
		v.port(p+"/servicePort", pm.ServicePort)
		if pm.Protocol != "" && !slices.Contains(mappingProtocols, pm.Protocol) {
			v.add(p+"/protocol", oneOf(mappingProtocols...))
		}
		v.portName(p+"/name", pm.Name)
		if pm.Name != "" {
			if names[pm.Name] {
				v.add(prefix, "Port names must be unique.")
			}
			names[pm.Name] = true
		}
	}
}

func (v *validator) port(path string, port int) {
	switch {
	case port < 0:
		v.add(path, gotMin(float64(port), 0, true))
	case port > 65535:
		v.add(path, gotMax(float64(port), 65535, true))
	}
}

func (v *validator) portName(path, name string) {
	if name != "" && !portNameRe.MatchString(name) {
		v.add(path, fmt.Sprintf("must fully match regular expression '%s'", portNamePattern))
	}
}

func (v *validator) networking(a *App) {
	if a.Container != nil && a.Container.Docker != nil && a.Container.Docker.Network != "" && len(a.Networks) > 0 {
		v.add("/", "must not specify both container.docker.network and networks")
	}
	if isSet(a.IPAddress) {
		if len(a.Networks) > 0 {
			v.add("/", "must not specify both networks and ipAddress")
		}
		if len(a.Ports) > 0 || len(a.PortDefinitions) > 0 {
			v.add("/", "cannot specify both an IP address and port")
		}
		var ip struct {
			Discovery json.RawMessage `json:"discovery"`
		}
		if err := json.Unmarshal(a.IPAddress, &ip); err != nil {
			v.add("/ipAddress", "must be an object")
		} else if isSet(ip.Discovery) && a.Container != nil && a.Container.Type != ContainerMesos {
			v.add("/ipAddress", "ipAddress/discovery is not allowed for Docker containers")
		}
	}
	host := 0
	for i, n := range a.Networks {
		if n.Mode != "" && !slices.Contains(appNetworkModes, n.Mode) {
			v.add(fmt.Sprintf("/networks(%d)/mode", i), oneOf(appNetworkModes...))
		}
		if n.Mode == "host" {
			host++
		}
	}
	if host > 0 && host < len(a.Networks) {
		v.add("/networks", "host networking may not be combined with other networks")
	}
	mode, name := appNetwork(a)
	if strings.EqualFold(mode, NetworkModeUser) && name == "" {
		// Marathon has --default_network_name; Drover has none, so an
		// unnamed container network could only fail at every launch.
		v.add("/networks", msgNetworkNameMissing)
	}
	if mode == NetworkModeHost && len(a.PortMappingList()) > 0 {
		v.add("/", msgHostPortMapping)
	}
	if mode != NetworkModeHost && len(a.PortDefinitions) > 0 && !isSet(a.IPAddress) {
		v.add("/", msgPortDefsNonHost)
	}
}

func (v *validator) portDefinitions(a *App) {
	if len(a.Ports) > 0 && len(a.PortDefinitions) > 0 {
		same := len(a.Ports) == len(a.PortDefinitions)
		for i := 0; same && i < len(a.Ports); i++ {
			same = a.Ports[i] == a.PortDefinitions[i].Port
		}
		if !same {
			v.add("/", "cannot specify both ports and port definitions")
		}
	}
	if !uniqueNonZero(a.Ports) {
		v.add("/", "ports must be unique")
	}
	for i, p := range a.Ports {
		v.port(fmt.Sprintf("/ports(%d)", i), p)
	}
	names := map[string]bool{}
	ports := make([]int, 0, len(a.PortDefinitions))
	for i, pd := range a.PortDefinitions {
		p := fmt.Sprintf("/portDefinitions(%d)", i)
		v.port(p+"/port", pd.Port)
		if pd.Protocol != "" && !slices.Contains(mappingProtocols, pd.Protocol) {
			v.add(p+"/protocol", oneOf(mappingProtocols...))
		}
		v.portName(p+"/name", pd.Name)
		if pd.Name != "" {
			if names[pd.Name] {
				v.add("/portDefinitions", "Port names must be unique.")
			}
			names[pd.Name] = true
		}
		ports = append(ports, pd.Port)
	}
	if !uniqueNonZero(ports) {
		v.add("/portDefinitions", "Ports must be unique.")
	}
}

// uniqueNonZero reports whether the non-zero (fixed) ports are distinct.
func uniqueNonZero(ports []int) bool {
	seen := map[int]bool{}
	for _, p := range ports {
		if p == 0 {
			continue
		}
		if seen[p] {
			return false
		}
		seen[p] = true
	}
	return true
}

// portIndices is how many ports a health check's portIndex may address:
// the port mappings on a container network, else the port definitions.
func portIndices(a *App) int {
	if a.NetworkMode() != NetworkModeHost {
		return len(a.PortMappingList())
	}
	if len(a.PortDefinitions) > 0 {
		return len(a.PortDefinitions)
	}
	return len(a.Ports)
}
