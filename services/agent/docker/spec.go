package docker

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"
	"github.com/docker/go-units"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/agent"
)

// minMemMiB is Docker's smallest memory limit; below it no limit is set.
const minMemMiB = 6

// containerSpec is everything ContainerCreate takes for one task.
type containerSpec struct {
	Name    string
	Config  *container.Config
	Host    *container.HostConfig
	Network *network.NetworkingConfig
}

// buildSpec maps a task's launch spec onto a container. It is pure; its
// errors wrap agent.ErrInvalidSpec. publishIP is the host address ports
// published without one bind to ("" for every address).
func buildSpec(agentID, publishIP, taskID string, spec events.LaunchSpec) (containerSpec, error) {
	invalid := func(format string, a ...any) (containerSpec, error) {
		return containerSpec{}, fmt.Errorf("%w: %s", agent.ErrInvalidSpec, fmt.Sprintf(format, a...))
	}
	if err := validTaskID(taskID); err != nil {
		return invalid("%v", err)
	}
	app := spec.App
	c := app.Container
	if c == nil || c.Docker == nil || strings.TrimSpace(c.Docker.Image) == "" {
		return invalid("app %s has no docker image", app.ID)
	}
	opts, err := marathon.ParseDockerParameters(c.Docker.Parameters)
	if err != nil {
		return invalid("%v", err)
	}
	mode, err := networkMode(app)
	if err != nil {
		return invalid("%v", err)
	}
	labels := map[string]string{}
	maps.Copy(labels, app.Labels)
	maps.Copy(labels, opts.Labels)
	maps.Copy(labels, map[string]string{
		LabelTaskID: taskID, LabelAppID: app.ID, LabelAppVersion: app.Version, LabelAgentID: agentID,
	})
	delete(labels, LabelChecks)
	if checks, _ := agent.CheckSpecOf(spec); !checks.Empty() {
		// Unreadable readiness checks are left out here as the agent leaves them out.
		b, err := json.Marshal(checks)
		if err != nil {
			return invalid("checks: %v", err)
		}
		labels[LabelChecks] = string(b)
	}

	cfg := &container.Config{
		Image:      c.Docker.Image,
		Env:        envList(app.Env, opts.Env, spec.Env),
		Labels:     labels,
		User:       opts.User,
		WorkingDir: opts.Workdir,
		Hostname:   opts.Hostname,
		StopSignal: opts.StopSignal,
	}
	if app.TTY != nil && *app.TTY {
		cfg.Tty = true
	}
	switch {
	case app.Cmd != nil && strings.TrimSpace(*app.Cmd) != "":
		// As Mesos runs a Docker task's cmd: through a shell, replacing the entrypoint.
		cfg.Entrypoint = []string{"/bin/sh", "-c"}
		cfg.Cmd = []string{*app.Cmd}
	case len(app.Args) > 0:
		cfg.Cmd = slices.Clone(app.Args)
	}

	host := &container.HostConfig{
		NetworkMode:    container.NetworkMode(mode),
		Privileged:     c.Docker.Privileged,
		CapAdd:         opts.CapAdd,
		CapDrop:        opts.CapDrop,
		ExtraHosts:     opts.ExtraHosts,
		DNS:            opts.DNS,
		DNSSearch:      opts.DNSSearch,
		Init:           opts.Init,
		ReadonlyRootfs: opts.ReadOnly,
		Tmpfs:          opts.Tmpfs,
		SecurityOpt:    opts.SecurityOpt,
		Sysctls:        opts.Sysctls,
		LogConfig:      container.LogConfig{Type: opts.LogDriver, Config: opts.LogOpts},
	}
	if opts.ShmSize != nil {
		host.ShmSize = *opts.ShmSize
	}
	setResources(&host.Resources, app, opts)

	if err := setVolumes(cfg, host, c.Volumes, opts.Volumes); err != nil {
		return invalid("%v", err)
	}
	switch mode {
	case "host":
		if len(spec.HostPorts) > 0 {
			labels[LabelHostPorts] = joinInts(spec.HostPorts)
		}
	case "none":
	default:
		order, err := setPorts(cfg, host, publishIP, portMappings(c), spec.HostPorts, opts.Publish)
		if err != nil {
			return invalid("%v", err)
		}
		if len(order) > 0 {
			labels[LabelPorts] = strings.Join(order, ",")
		}
	}
	var netCfg *network.NetworkingConfig
	if !slices.Contains([]string{"host", "none", "bridge"}, mode) {
		netCfg = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{mode: {}}}
	}
	return containerSpec{Name: ContainerName(agentID, taskID), Config: cfg, Host: host, Network: netCfg}, nil
}

// networkMode is the Docker network of an app: container.docker.network
// (BRIDGE, HOST, NONE, USER) or else app.networks; Marathon's default is the host's.
func networkMode(app marathon.App) (string, error) {
	switch n := strings.ToUpper(app.Container.Docker.Network); n {
	case "BRIDGE":
		return "bridge", nil
	case "HOST":
		return "host", nil
	case "NONE":
		return "none", nil
	case "USER":
		if name := userNetworkName(app); name != "" {
			return name, nil
		}
		return "", errors.New("network USER needs networks[].name or ipAddress.networkName")
	case "":
	default:
		return "", fmt.Errorf("unknown docker network %q", app.Container.Docker.Network)
	}
	if len(app.Networks) == 0 {
		return "host", nil
	}
	switch nw := app.Networks[0]; nw.Mode {
	case "host", "":
		return "host", nil
	case "container/bridge":
		return "bridge", nil
	case "container":
		if nw.Name == "" {
			return "", errors.New("a container network needs a name")
		}
		return nw.Name, nil
	default:
		return "", fmt.Errorf("unknown network mode %q", nw.Mode)
	}
}

func userNetworkName(app marathon.App) string {
	for _, nw := range app.Networks {
		if nw.Mode == "container" && nw.Name != "" {
			return nw.Name
		}
	}
	var ip struct {
		NetworkName string `json:"networkName"`
	}
	if len(app.IPAddress) > 0 && json.Unmarshal(app.IPAddress, &ip) == nil {
		return ip.NetworkName
	}
	return ""
}

// envList merges the app's env (secret references skipped), the env
// parameters and the scheduler's env, later ones winning, as KEY=VALUE.
func envList(appEnv map[string]marathon.EnvValue, params []string, extra map[string]string) []string {
	env := map[string]string{}
	for k, v := range appEnv {
		if v.Secret == "" {
			env[k] = v.Value
		}
	}
	for _, kv := range params {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	maps.Copy(env, extra)
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

// setResources maps cpus and mem: shares and a CFS quota for cpus, a hard
// limit for mem (MiB) when Docker accepts it.
func setResources(r *container.Resources, app marathon.App, opts marathon.DockerOptions) {
	if app.Cpus != nil && *app.Cpus > 0 {
		r.CPUShares = max(2, int64(*app.Cpus*1024))
		r.NanoCPUs = int64(*app.Cpus * 1e9)
	}
	if app.Mem != nil && *app.Mem >= minMemMiB {
		r.Memory = int64(*app.Mem * (1 << 20))
	}
	if opts.MemorySwap != nil {
		r.MemorySwap = *opts.MemorySwap
	}
	for _, u := range opts.Ulimits {
		r.Ulimits = append(r.Ulimits, &units.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
	}
	for _, d := range opts.Devices {
		r.Devices = append(r.Devices, container.DeviceMapping{PathOnHost: d.PathOnHost, PathInContainer: d.PathInContainer, CgroupPermissions: d.Permissions})
	}
}

// setVolumes binds the app's host volumes and the volume parameters.
func setVolumes(cfg *container.Config, host *container.HostConfig, vols []marathon.Volume, params []marathon.VolumeBind) error {
	for i, v := range vols {
		if v.HostPath == "" || len(v.Persistent) > 0 || len(v.External) > 0 {
			return fmt.Errorf("volume %d: only host volumes (hostPath) are supported", i)
		}
		if !path.IsAbs(v.HostPath) || !path.IsAbs(v.ContainerPath) {
			return fmt.Errorf("volume %d: hostPath and containerPath must be absolute", i)
		}
		if strings.Contains(v.HostPath+v.ContainerPath, ":") {
			// A bind is SOURCE:TARGET:MODE: a ':' would make other paths of it.
			return fmt.Errorf("volume %d: hostPath and containerPath must not contain ':'", i)
		}
		mode := strings.ToLower(v.Mode)
		switch mode {
		case "ro", "rw":
		case "":
			mode = "rw"
		default:
			return fmt.Errorf("volume %d: mode %q is not RO or RW", i, v.Mode)
		}
		host.Binds = append(host.Binds, v.HostPath+":"+v.ContainerPath+":"+mode)
	}
	for _, b := range params {
		if b.Source == "" {
			if cfg.Volumes == nil {
				cfg.Volumes = map[string]struct{}{}
			}
			cfg.Volumes[b.Target] = struct{}{}
			continue
		}
		bind := b.Source + ":" + b.Target
		if b.Mode != "" {
			bind += ":" + b.Mode
		}
		host.Binds = append(host.Binds, bind)
	}
	return nil
}

// portMappings are container.portMappings, or the deprecated
// container.docker.portMappings.
func portMappings(c *marathon.Container) []marathon.PortMapping {
	if len(c.PortMappings) > 0 {
		return c.PortMappings
	}
	return c.Docker.PortMappings
}

// setPorts exposes and publishes the port mappings, host ports taken from
// the scheduler's assignment (index-aligned) or the mapping's fixed one, then
// the publish parameters. It returns the container ports to report, in order.
func setPorts(cfg *container.Config, host *container.HostConfig, publishIP string, pms []marathon.PortMapping, assigned []int, pubs []marathon.PortPublish) ([]string, error) {
	var order []string
	bind := func(cport int, proto, hostIP, hostPort string) {
		p := nat.Port(fmt.Sprintf("%d/%s", cport, proto))
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = nat.PortSet{}
			host.PortBindings = nat.PortMap{}
		}
		cfg.ExposedPorts[p] = struct{}{}
		if hostIP == "" {
			hostIP = publishIP
		}
		host.PortBindings[p] = append(host.PortBindings[p], nat.PortBinding{HostIP: hostIP, HostPort: hostPort})
	}
	for i, pm := range pms {
		hostPort := 0
		if i < len(assigned) && assigned[i] > 0 {
			hostPort = assigned[i]
		} else if pm.HostPort != nil {
			hostPort = *pm.HostPort
		}
		cport := pm.ContainerPort
		if cport == 0 {
			cport = hostPort
		}
		if cport <= 0 || cport > 65535 || hostPort < 0 || hostPort > 65535 {
			return nil, fmt.Errorf("port mapping %d: container port %d, host port %d", i, pm.ContainerPort, hostPort)
		}
		protos, err := protocols(pm.Protocol)
		if err != nil {
			return nil, fmt.Errorf("port mapping %d: %w", i, err)
		}
		hp := ""
		if hostPort > 0 {
			hp = strconv.Itoa(hostPort)
		}
		for _, proto := range protos {
			bind(cport, proto, "", hp)
		}
		order = append(order, fmt.Sprintf("%d/%s", cport, protos[0]))
	}
	for _, p := range pubs {
		for k := 0; k <= p.ContainerPortEnd-p.ContainerPort; k++ {
			hp := ""
			switch {
			case p.HostPort == 0:
			case p.ContainerPortEnd > p.ContainerPort:
				hp = strconv.Itoa(p.HostPort + k)
			case p.HostPortEnd > p.HostPort:
				hp = fmt.Sprintf("%d-%d", p.HostPort, p.HostPortEnd)
			default:
				hp = strconv.Itoa(p.HostPort)
			}
			bind(p.ContainerPort+k, p.Protocol, p.HostIP, hp)
			order = append(order, fmt.Sprintf("%d/%s", p.ContainerPort+k, p.Protocol))
		}
	}
	return order, nil
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
