package marathon

import (
	"errors"
	"maps"
	"slices"
	"strings"
)

// TaskSpec is an app resolved, once, into what each of its tasks runs with.
// Marathon's dialect is read here and nowhere after: where the network is
// written (networks, container.docker.network, the deprecated ipAddress),
// where the port mappings are (container or container.docker), what the
// docker parameters say, the checks' defaults. The scheduler places by it
// and the agent launches from it; a runtime maps it onto its own terms.
type TaskSpec struct {
	AppID   string
	Version string // the app version the task runs

	Image     string
	ForcePull bool
	// Entrypoint replaces the image's when set; Command replaces its
	// command when set (a Marathon cmd runs through /bin/sh -c).
	Entrypoint []string
	Command    []string
	TTY        bool
	Cpus       float64 // 0: no limit
	Mem        float64 // MiB; 0: no limit

	// NetworkMode is NetworkModeHost, NetworkModeBridge, NetworkModeNone, or
	// NetworkModeUser: the network named NetworkName.
	NetworkMode string
	NetworkName string
	// Ports are the task's ports, in the order of its host ports: the port
	// definitions on the host network; on another, the port mappings then
	// the ports of publish parameters; none on NetworkModeNone.
	Ports []PortBinding
	// HostPorts are the host ports the scheduler assigned, as it sent
	// them (see ForTask): on the host network, the ports the task may bind.
	HostPorts []int
	// PublishedPorts are the fixed host ports of the publish parameters,
	// on any network: the scheduler keeps them free on the task's agent.
	PublishedPorts []int

	Volumes []VolumeBind // host volumes, then volume parameters
	// Env is the app's env (no secret references), then the env the
	// launch adds (ForTask); ParamEnv is the env docker parameters. A
	// runtime gives a task TaskEnv, which adds Marathon's and Mesos'
	// variables to them.
	Env      map[string]string
	ParamEnv map[string]string
	// AppVars are the MARATHON_APP_* variables of the app (see TaskEnv).
	AppVars map[string]string
	Labels  map[string]string // the app's labels, then label parameters
	// Options are the other docker parameters. Their Publish, Env, Labels
	// and Volumes are empty: they are in Ports, Env, Labels and Volumes.
	Options    DockerOptions
	Privileged bool

	// HealthChecks have the defaults the api fills (protocol HTTP, path
	// "/", port index 0) whatever the definition left out.
	HealthChecks    []HealthCheck
	ReadinessChecks []ReadinessCheck
	// ChecksLeftOut says why some readiness checks were left out: they
	// could not be read. It does not stop a launch.
	ChecksLeftOut error

	// User is the app's user: a host command runs as it ("" is the
	// agent's default user); a container ignores it, as Mesos' Docker
	// containerizer does (the user docker parameter sets a container's).
	User string
	// Fetch are the artifacts fetched into a host command's sandbox
	// (fetch, or uris) before it starts.
	Fetch []FetchURI

	// Access is what the task asks of its host, for the agents' policies.
	Access HostAccess
}

// PortBinding is one port of a task.
type PortBinding struct {
	Name string
	// ContainerPort is the port inside the container; 0 is the host port
	// (always so on the host network).
	ContainerPort int
	// DefinitionPort is a port definition's port (its service port, or
	// 0), on the host network: the task's env names the port by it.
	DefinitionPort int
	// HostPort is the host port: fixed, or assigned by ForTask; 0 is any.
	// HostPortEnd, when above it, makes a range of host ports.
	HostPort    int
	HostPortEnd int
	HostIP      string   // "" is every address the agent publishes on
	Protocols   []string // tcp, udp, sctp; the first is the one reported
	// NoHostPort marks a port mapping on a user network that asks for no
	// host port: the scheduler assigns it none.
	NoHostPort bool
	// Parameter marks the port of a publish parameter, which the scheduler
	// reserves but never assigns.
	Parameter bool
}

// ResolveTask resolves an app into the spec its tasks run with. The error
// joins everything that keeps the app from running as written (an app
// without an image is left to the runtime, which may need none); the spec
// returned holds all that could be resolved, so that placement can still
// read what an unrunnable app asks for.
func ResolveTask(app App) (TaskSpec, error) {
	s := TaskSpec{AppID: app.ID, Version: app.Version, TTY: app.TTY != nil && *app.TTY}
	s.Cpus, s.Mem = derefFloat(app.Cpus), derefFloat(app.Mem)
	var errs []error
	var opts DockerOptions
	c := app.Container // without an image, a runtime that needs one refuses the spec
	if c != nil && c.Docker != nil {
		s.Image, s.ForcePull, s.Privileged = c.Docker.Image, c.Docker.ForcePullImage, c.Docker.Privileged
		var err error
		if opts, err = ParseDockerParameters(c.Docker.Parameters); err != nil {
			errs = append(errs, err)
		}
	}
	s.Access = hostAccessOf(app, opts)
	switch {
	case app.Cmd != nil && strings.TrimSpace(*app.Cmd) != "":
		// As Mesos runs a Docker task's cmd: through a shell, replacing the entrypoint.
		s.Entrypoint, s.Command = []string{"/bin/sh", "-c"}, []string{*app.Cmd}
	case len(app.Args) > 0:
		s.Command = slices.Clone(app.Args)
	}
	var err error
	if s.NetworkMode, s.NetworkName, err = taskNetwork(&app); err != nil {
		errs = append(errs, err)
	}
	if s.Ports, err = taskPorts(&app, s.NetworkMode, opts.Publish); err != nil {
		errs = append(errs, err)
	}
	s.PublishedPorts = publishedPorts(opts.Publish)
	if s.Volumes, err = taskVolumes(c, opts.Volumes); err != nil {
		errs = append(errs, err)
	}
	s.Env, s.ParamEnv = appEnv(app.Env), paramEnv(opts.Env)
	s.AppVars = appVars(&app)
	s.Labels = maps.Clone(app.Labels)
	if len(opts.Labels) > 0 {
		s.Labels = orEmpty(s.Labels)
		maps.Copy(s.Labels, opts.Labels)
	}
	opts.Publish, opts.Env, opts.Labels, opts.Volumes = nil, nil, nil, nil
	s.Options = opts
	s.HealthChecks = taskHealthChecks(app.HealthChecks)
	s.ReadinessChecks, s.ChecksLeftOut = ParseReadinessChecks(app.ReadinessChecks)
	s.User = taskUser(app)
	if s.Fetch, err = taskFetch(app); err != nil {
		errs = append(errs, err)
	}
	return s, errors.Join(errs...)
}

// ForTask is the spec of one task: the host ports the scheduler assigned
// (one per port mapping or port definition, in order; 0 keeps the
// binding's own) and the env it adds, which wins over the app's.
func (s TaskSpec) ForTask(hostPorts []int, env map[string]string) TaskSpec {
	s.HostPorts = slices.Clone(hostPorts)
	s.Ports = slices.Clone(s.Ports)
	i := 0
	for k := range s.Ports {
		if s.Ports[k].Parameter {
			continue
		}
		if i < len(hostPorts) && hostPorts[i] > 0 {
			s.Ports[k].HostPort = hostPorts[i]
		}
		i++
	}
	if len(env) > 0 {
		s.Env = orEmpty(maps.Clone(s.Env))
		maps.Copy(s.Env, env)
	}
	return s
}

// HostPortSlots lists the host ports the task's ports ask the scheduler
// for, one per port mapping or port definition: 0 for any free port, -1
// for none, else that exact port.
func (s TaskSpec) HostPortSlots() []int {
	var slots []int
	for _, p := range s.Ports {
		switch {
		case p.Parameter:
		case p.NoHostPort:
			slots = append(slots, -1)
		default:
			slots = append(slots, p.HostPort)
		}
	}
	return slots
}

// publishedPorts are the fixed host ports of the publish parameters.
func publishedPorts(pubs []PortPublish) []int {
	var ports []int
	for _, p := range pubs {
		for port := p.HostPort; port > 0 && port <= max(p.HostPort, p.HostPortEnd); port++ {
			ports = append(ports, port)
		}
	}
	return ports
}

func derefFloat(f *float64) float64 {
	if f == nil {
		return 0
	}
	return *f
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// appEnv is the app's env, secret references left out (validation
// refuses them: Drover has no secrets).
func appEnv(env map[string]EnvValue) map[string]string {
	out := map[string]string{}
	for k, v := range env {
		if v.Secret == "" {
			out[k] = v.Value
		}
	}
	return out
}

// paramEnv reads the env parameters (KEY=VALUE, later ones winning).
func paramEnv(params []string) map[string]string {
	var out map[string]string
	for _, kv := range params {
		k, v, _ := strings.Cut(kv, "=")
		out = orEmpty(out)
		out[k] = v
	}
	return out
}

// taskHealthChecks are the health checks with the defaults the api fills.
func taskHealthChecks(hcs []HealthCheck) []HealthCheck {
	out := slices.Clone(hcs)
	for i := range out {
		h := &out[i]
		h.Protocol = strings.ToUpper(h.Protocol)
		if h.Protocol == "" {
			h.Protocol = HealthHTTP
		}
		if h.Path == "" {
			h.Path = "/"
		}
		if h.Port == nil && h.PortIndex == nil {
			zero := 0
			h.PortIndex = &zero
		}
	}
	return out
}
