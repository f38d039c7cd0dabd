package marathon

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"
)

// appNetwork reads the app's network wherever the definition wrote it:
// from app.networks when set (any "container/bridge" is BRIDGE, else any
// "container" or mode-less one is USER, named by the first such network
// with a name; all "host" is HOST), else from container.docker.network (as
// written; USER is named by ipAddress.networkName), else USER for the
// deprecated ipAddress (named by its networkName), else HOST.
func appNetwork(a *App) (mode, name string) {
	if len(a.Networks) > 0 {
		mode = NetworkModeHost
		for _, n := range a.Networks {
			switch strings.ToLower(n.Mode) {
			case "container/bridge":
				return NetworkModeBridge, ""
			case "container", "":
				mode = NetworkModeUser
				if name == "" {
					name = n.Name
				}
			}
		}
		return mode, name
	}
	if a.Container != nil && a.Container.Docker != nil && a.Container.Docker.Network != "" {
		mode = a.Container.Docker.Network
		if strings.EqualFold(mode, NetworkModeUser) {
			name = ipAddressNetworkName(a.IPAddress)
		}
		return mode, name
	}
	if isSet(a.IPAddress) {
		return NetworkModeUser, ipAddressNetworkName(a.IPAddress) // the deprecated IP-per-task API
	}
	return NetworkModeHost, ""
}

func ipAddressNetworkName(raw json.RawMessage) string {
	var ip struct {
		NetworkName string `json:"networkName"`
	}
	if isSet(raw) && json.Unmarshal(raw, &ip) == nil {
		return ip.NetworkName
	}
	return ""
}

// taskNetwork is the network a task runs on: one of the NetworkMode
// constants, and the network's name for NetworkModeUser.
func taskNetwork(a *App) (mode, name string, err error) {
	for _, n := range a.Networks {
		switch strings.ToLower(n.Mode) {
		case "host", "container", "container/bridge", "":
		default:
			return NetworkModeHost, "", fmt.Errorf("unknown network mode %q", n.Mode)
		}
	}
	mode, name = appNetwork(a)
	switch up := strings.ToUpper(mode); up {
	case NetworkModeHost, NetworkModeBridge, NetworkModeNone:
		return up, "", nil
	case NetworkModeUser:
		if name == "" {
			return up, "", errors.New("a USER or container network needs a name: networks[].name or ipAddress.networkName")
		}
		return up, name, nil
	}
	return mode, "", fmt.Errorf("unknown docker network %q", mode)
}

// taskPorts lists a task's ports on its network: the port definitions on
// the host network; on another, the port mappings, then the publish
// parameters, one binding per container port; none on no network.
func taskPorts(a *App, mode string, pubs []PortPublish) ([]PortBinding, error) {
	var out []PortBinding
	switch mode {
	case NetworkModeHost:
		for _, pd := range a.PortDefinitions {
			b := PortBinding{Name: pd.Name, DefinitionPort: pd.Port}
			b.Protocols, _ = protocols(pd.Protocol)
			if a.RequirePorts != nil && *a.RequirePorts {
				b.HostPort = pd.Port
			}
			out = append(out, b)
		}
		return out, nil
	case NetworkModeBridge, NetworkModeUser:
	default:
		return nil, nil
	}
	for i, pm := range a.PortMappingList() {
		protos, err := protocols(pm.Protocol)
		if err != nil {
			return nil, fmt.Errorf("port mapping %d: %w", i, err)
		}
		b := PortBinding{Name: pm.Name, ContainerPort: pm.ContainerPort, Protocols: protos}
		if pm.HostPort != nil {
			b.HostPort = *pm.HostPort
		} else if mode == NetworkModeUser {
			b.NoHostPort = true
		}
		out = append(out, b)
	}
	for _, p := range pubs {
		for k := 0; k <= p.ContainerPortEnd-p.ContainerPort; k++ {
			b := PortBinding{ContainerPort: p.ContainerPort + k, HostIP: p.HostIP, Protocols: []string{p.Protocol}, Parameter: true}
			switch {
			case p.HostPort == 0:
			case p.ContainerPortEnd > p.ContainerPort: // a range onto a range, port by port
				b.HostPort = p.HostPort + k
			default:
				b.HostPort, b.HostPortEnd = p.HostPort, p.HostPortEnd
			}
			out = append(out, b)
		}
	}
	return out, nil
}

// protocols splits Marathon's protocol ("tcp", "udp", "udp,tcp"; "" is tcp).
func protocols(s string) ([]string, error) {
	if s == "" {
		return []string{"tcp"}, nil
	}
	var out []string
	for _, p := range strings.Split(strings.ToLower(s), ",") {
		switch p = strings.TrimSpace(p); p {
		case "tcp", "udp", "sctp":
			out = append(out, p)
		default:
			return nil, fmt.Errorf("unknown protocol %q", p)
		}
	}
	return out, nil
}

// taskVolumes are the container's host volumes, then the volume parameters.
func taskVolumes(c *Container, params []VolumeBind) ([]VolumeBind, error) {
	var out []VolumeBind
	if c != nil {
		for i, v := range c.Volumes {
			b, err := hostVolume(v)
			if err != nil {
				return nil, fmt.Errorf("volume %d: %w", i, err)
			}
			out = append(out, b)
		}
	}
	return append(out, params...), nil
}

func hostVolume(v Volume) (VolumeBind, error) {
	if v.HostPath == "" || len(v.Persistent) > 0 || len(v.External) > 0 {
		return VolumeBind{}, errors.New("only host volumes (hostPath) are supported")
	}
	if !path.IsAbs(v.HostPath) || !path.IsAbs(v.ContainerPath) {
		return VolumeBind{}, errors.New("hostPath and containerPath must be absolute")
	}
	if strings.Contains(v.HostPath+v.ContainerPath, ":") {
		// A bind is SOURCE:TARGET:MODE: a ':' would make other paths of it.
		return VolumeBind{}, errors.New("hostPath and containerPath must not contain ':'")
	}
	mode := strings.ToLower(v.Mode)
	switch mode {
	case "ro", "rw":
	case "":
		mode = "rw"
	default:
		return VolumeBind{}, fmt.Errorf("mode %q is not RO or RW", v.Mode)
	}
	return VolumeBind{Source: v.HostPath, Target: v.ContainerPath, Mode: mode}, nil
}
