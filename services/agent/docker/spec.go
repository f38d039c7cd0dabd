package docker

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"
	"github.com/docker/go-units"

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

// buildSpec maps a task's resolved spec onto a container of the
// runtime's agent (cfg.AgentID), whose ports published without an address
// bind to cfg.PublishIP ("" for every address), with the task's sandbox
// under cfg.SandboxRoot mounted where Mesos mounts it (setSandbox). The
// container's env is the task's as Marathon and Mesos give it
// (TaskSpec.TaskEnv, MESOS_SANDBOX that mount). It is pure; its errors
// wrap agent.ErrInvalidSpec.
func buildSpec(cfg Config, taskID string, spec marathon.TaskSpec) (containerSpec, error) {
	agentID := cfg.AgentID
	invalid := func(format string, a ...any) (containerSpec, error) {
		return containerSpec{}, fmt.Errorf("%w: %s", agent.ErrInvalidSpec, fmt.Sprintf(format, a...))
	}
	if err := validTaskID(taskID); err != nil {
		return invalid("%v", err)
	}
	if strings.TrimSpace(spec.Image) == "" {
		return invalid("app %s has no docker image", spec.AppID)
	}
	labels, err := containerLabels(agentID, taskID, spec)
	if err != nil {
		return invalid("%v", err)
	}
	name := ContainerName(agentID, taskID)
	env := spec.TaskEnv(marathon.TaskContext{TaskID: taskID, Host: cfg.Hostname, Sandbox: marathon.DockerSandbox, Container: name})
	opts := spec.Options
	ccfg := &container.Config{
		Image: spec.Image, Env: envList(env), Labels: labels, Tty: spec.TTY,
		Entrypoint: slices.Clone(spec.Entrypoint), Cmd: slices.Clone(spec.Command),
		User: opts.User, WorkingDir: opts.Workdir, Hostname: opts.Hostname, StopSignal: opts.StopSignal,
	}
	host := &container.HostConfig{
		Privileged:     spec.Privileged,
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
	setResources(&host.Resources, spec)
	setVolumes(ccfg, host, spec.Volumes)
	setSandbox(host, sandboxDir(cfg.SandboxRoot, agentID, taskID), spec)
	netCfg, err := setNetwork(ccfg, host, cfg.PublishIP, spec)
	if err != nil {
		return invalid("%v", err)
	}
	return containerSpec{Name: name, Config: ccfg, Host: host, Network: netCfg}, nil
}

// containerLabels are the task's labels, then Drover's own, the checks
// the agent keeps (in LabelChecks) included.
func containerLabels(agentID, taskID string, spec marathon.TaskSpec) (map[string]string, error) {
	labels := map[string]string{}
	maps.Copy(labels, spec.Labels)
	maps.Copy(labels, map[string]string{
		LabelTaskID: taskID, LabelAppID: spec.AppID, LabelAppVersion: spec.Version, LabelAgentID: agentID,
	})
	delete(labels, LabelChecks)
	if checks, _ := agent.CheckSpecOf(spec); !checks.Empty() {
		// Unreadable readiness checks are left out here as the agent leaves them out.
		b, err := json.Marshal(checks)
		if err != nil {
			return nil, fmt.Errorf("checks: %v", err)
		}
		labels[LabelChecks] = string(b)
	}
	return labels, nil
}

// setNetwork puts the container on the task's network: the host's (its
// host ports in a label), none, the bridge or a named network (its ports
// published, their order in a label). A named network is joined by name,
// with an endpoint on it.
func setNetwork(cfg *container.Config, host *container.HostConfig, publishIP string, spec marathon.TaskSpec) (*network.NetworkingConfig, error) {
	switch spec.NetworkMode {
	case marathon.NetworkModeHost:
		host.NetworkMode = network.NetworkHost
		if len(spec.HostPorts) > 0 {
			cfg.Labels[LabelHostPorts] = joinInts(spec.HostPorts)
		}
		return nil, nil
	case marathon.NetworkModeNone:
		host.NetworkMode = network.NetworkNone
		return nil, nil
	case marathon.NetworkModeBridge:
		host.NetworkMode = network.NetworkBridge
	case marathon.NetworkModeUser:
		if spec.NetworkName == "" {
			return nil, errors.New("a user network needs a name")
		}
		host.NetworkMode = container.NetworkMode(spec.NetworkName)
	default:
		return nil, fmt.Errorf("unknown network mode %q", spec.NetworkMode)
	}
	order, err := setPorts(cfg, host, publishIP, spec.Ports)
	if err != nil {
		return nil, err
	}
	if len(order) > 0 {
		cfg.Labels[LabelPorts] = strings.Join(order, ",")
	}
	if spec.NetworkMode != marathon.NetworkModeUser {
		return nil, nil
	}
	return &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{spec.NetworkName: {}}}, nil
}

// envList is the env as KEY=VALUE, sorted.
func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

// setResources maps cpus and mem: shares and a CFS quota for cpus, a hard
// limit for mem (MiB) when Docker accepts it; and the resource parameters.
func setResources(r *container.Resources, spec marathon.TaskSpec) {
	if spec.Cpus > 0 {
		r.CPUShares = max(2, int64(spec.Cpus*1024))
		r.NanoCPUs = int64(spec.Cpus * 1e9)
	}
	if spec.Mem >= minMemMiB {
		r.Memory = int64(spec.Mem * (1 << 20))
	}
	opts := spec.Options
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

// setVolumes binds the task's volumes; one without a source is an
// anonymous volume.
func setVolumes(cfg *container.Config, host *container.HostConfig, vols []marathon.VolumeBind) {
	for _, b := range vols {
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
}

// setSandbox bind-mounts the task's sandbox directory at
// marathon.DockerSandbox, read-write, unless dir is "" (no sandboxes) or
// the app mounts something there, or above it (/mnt, /mnt/mesos), itself
// (a volume, a volume parameter or a tmpfs: the app's own wins, as it did
// before sandboxes; under one above, the sandbox would be mounted inside
// the app's volume, and Docker would make its mount point in the app's
// host directory). It is a
// mount, not a bind (-v): a source the daemon cannot see (a daemon on
// another host, an agent in a container without the directory mounted at
// the same path) fails the create, where a bind's would be made, empty,
// on the daemon's host.
func setSandbox(host *container.HostConfig, dir string, spec marathon.TaskSpec) {
	if dir == "" || mountsOver(spec, marathon.DockerSandbox) {
		return
	}
	host.Mounts = append(host.Mounts, mount.Mount{Type: mount.TypeBind, Source: dir, Target: marathon.DockerSandbox})
}

// mountsOver reports whether the app mounts something itself at target
// or at a directory above it.
func mountsOver(spec marathon.TaskSpec, target string) bool {
	over := func(p string) bool {
		p = path.Clean(p)
		return p == target || p == "/" || strings.HasPrefix(target, p+"/")
	}
	for _, v := range spec.Volumes {
		if over(v.Target) {
			return true
		}
	}
	for p := range spec.Options.Tmpfs {
		if over(p) {
			return true
		}
	}
	return false
}

// setPorts exposes and publishes the task's ports. It returns the
// container ports to report, in order.
func setPorts(cfg *container.Config, host *container.HostConfig, publishIP string, ports []marathon.PortBinding) ([]string, error) {
	var order []string
	for i, p := range ports {
		cport := p.ContainerPort
		if cport == 0 {
			cport = p.HostPort
		}
		if cport <= 0 || cport > 65535 || p.HostPort < 0 || p.HostPort > 65535 || len(p.Protocols) == 0 {
			return nil, fmt.Errorf("port %d: container port %d, host port %d, protocols %v", i, p.ContainerPort, p.HostPort, p.Protocols)
		}
		hp := ""
		switch {
		case p.HostPort == 0:
		case p.HostPortEnd > p.HostPort:
			hp = fmt.Sprintf("%d-%d", p.HostPort, p.HostPortEnd)
		default:
			hp = strconv.Itoa(p.HostPort)
		}
		hostIP := cmp.Or(p.HostIP, publishIP)
		for _, proto := range p.Protocols {
			port := nat.Port(fmt.Sprintf("%d/%s", cport, proto))
			if cfg.ExposedPorts == nil {
				cfg.ExposedPorts, host.PortBindings = nat.PortSet{}, nat.PortMap{}
			}
			cfg.ExposedPorts[port] = struct{}{}
			host.PortBindings[port] = append(host.PortBindings[port], nat.PortBinding{HostIP: hostIP, HostPort: hp})
		}
		order = append(order, fmt.Sprintf("%d/%s", cport, p.Protocols[0]))
	}
	return order, nil
}
