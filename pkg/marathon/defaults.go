package marathon

import (
	"encoding/json"
)

// Marathon's defaults for an app definition.
const (
	DefaultCpus                  = 1.0
	DefaultMem                   = 128.0
	DefaultDisk                  = 0.0
	DefaultGpus                  = 0.0
	DefaultInstances             = 1
	DefaultBackoffSeconds        = 1.0
	DefaultBackoffFactor         = 1.15
	DefaultMaxLaunchDelaySeconds = 300.0 // Marathon >= 1.8; 1.7 and older used 3600
	DefaultKillSelection         = KillYoungestFirst
	DefaultContainerType         = ContainerDocker
	DefaultVolumeMode            = VolumeRW
	DefaultPortProtocol          = "tcp"

	DefaultHealthProtocol               = HealthHTTP
	DefaultHealthPath                   = "/"
	DefaultHealthGracePeriodSeconds     = 300
	DefaultHealthIntervalSeconds        = 60
	DefaultHealthTimeoutSeconds         = 20
	DefaultHealthMaxConsecutiveFailures = 3

	DefaultMinimumHealthCapacity = 1.0
	DefaultMaximumOverCapacity   = 1.0
)

// DefaultUnreachableStrategy is Marathon's (1.5+) default unreachableStrategy.
var DefaultUnreachableStrategy = json.RawMessage(`{"inactiveAfterSeconds":0,"expungeAfterSeconds":0}`)

// Enumerations of the app definition.
const (
	KillYoungestFirst = "YOUNGEST_FIRST"
	KillOldestFirst   = "OLDEST_FIRST"

	ContainerDocker = "DOCKER"
	ContainerMesos  = "MESOS"

	VolumeRO = "RO"
	VolumeRW = "RW"

	HealthHTTP       = "HTTP"
	HealthHTTPS      = "HTTPS"
	HealthTCP        = "TCP"
	HealthCommand    = "COMMAND"
	HealthMesosHTTP  = "MESOS_HTTP"
	HealthMesosHTTPS = "MESOS_HTTPS"
	HealthMesosTCP   = "MESOS_TCP"
)

// Network modes as NetworkMode resolves them, in docker.network's spelling.
const (
	NetworkModeHost   = "HOST"
	NetworkModeBridge = "BRIDGE"
	NetworkModeUser   = "USER"
	NetworkModeNone   = "NONE"
)

// ApplyDefaults fills what the definition leaves out with Marathon's
// defaults, so that the app reads back the way Marathon echoes it: absent
// resources, backoff, upgrade strategy ({1, 1}; {0, 0} for an app labelled
// MARATHON_SINGLE_INSTANCE_APP), kill selection and unreachable strategy get
// their defaults; absent collections become empty ones (env {},
// labels {}, constraints [], ...); a container gets type DOCKER, volumes get
// mode RW, ports get protocol tcp and, on a bridge network, host port 0;
// health checks get protocol HTTP, path "/" and port index 0; the deprecated
// "ports" become portDefinitions on the host network and are dropped on
// another (as Marathon does); and an app on the host network with no
// port definitions gets one, {port: 0, protocol: tcp}.
//
// Numeric health check fields and the two upgrade strategy fields are filled
// when decoding (see HealthCheck.UnmarshalJSON), since a zero there is a
// choice, not an absence. ApplyDefaults never removes or rewrites what the
// definition sets: docker.network is not migrated to networks.
func ApplyDefaults(a *App) {
	if a == nil {
		return
	}
	setFloat(&a.Cpus, DefaultCpus)
	setFloat(&a.Mem, DefaultMem)
	setFloat(&a.Disk, DefaultDisk)
	setFloat(&a.Gpus, DefaultGpus)
	if a.Instances == nil {
		n := DefaultInstances
		a.Instances = &n
	}
	setFloat(&a.BackoffSeconds, DefaultBackoffSeconds)
	setFloat(&a.BackoffFactor, DefaultBackoffFactor)
	setFloat(&a.MaxLaunchDelaySeconds, DefaultMaxLaunchDelaySeconds)
	if a.UpgradeStrategy == nil {
		a.UpgradeStrategy = &UpgradeStrategy{
			MinimumHealthCapacity: DefaultMinimumHealthCapacity,
			MaximumOverCapacity:   DefaultMaximumOverCapacity,
		}
		if a.Labels[LabelSingleInstanceApp] == "true" {
			// Marathon: a single-instance app never runs old and new together.
			a.UpgradeStrategy = &UpgradeStrategy{}
		}
	}
	if a.KillSelection == "" {
		a.KillSelection = DefaultKillSelection
	}
	if a.RequirePorts == nil {
		f := false
		a.RequirePorts = &f
	}
	if len(a.UnreachableStrategy) == 0 || string(a.UnreachableStrategy) == "null" {
		a.UnreachableStrategy = append(json.RawMessage(nil), DefaultUnreachableStrategy...)
	}
	if a.Env == nil {
		a.Env = map[string]EnvValue{}
	}
	if a.Labels == nil {
		a.Labels = map[string]string{}
	}
	if a.Constraints == nil {
		a.Constraints = []Constraint{}
	}
	if a.Fetch == nil {
		a.Fetch = []json.RawMessage{}
	}
	if a.Dependencies == nil {
		a.Dependencies = []string{}
	}
	if a.ReadinessChecks == nil {
		a.ReadinessChecks = []json.RawMessage{}
	}
	if a.HealthChecks == nil {
		a.HealthChecks = []HealthCheck{}
	}
	for i := range a.HealthChecks {
		applyHealthCheckDefaults(&a.HealthChecks[i])
	}
	if a.Container != nil {
		applyContainerDefaults(a.Container, a.NetworkMode() == NetworkModeBridge)
	}
	applyPortDefaults(a)
}

func setFloat(p **float64, v float64) {
	if *p == nil {
		*p = &v
	}
}

func applyContainerDefaults(c *Container, bridge bool) {
	if c.Type == "" {
		c.Type = DefaultContainerType
	}
	if c.Volumes == nil {
		c.Volumes = []Volume{}
	}
	for i := range c.Volumes {
		if c.Volumes[i].Mode == "" {
			c.Volumes[i].Mode = DefaultVolumeMode
		}
	}
	applyPortMappingDefaults(c.PortMappings, bridge)
	if c.Docker != nil {
		if c.Docker.Parameters == nil {
			c.Docker.Parameters = []Parameter{}
		}
		applyPortMappingDefaults(c.Docker.PortMappings, bridge)
	}
}

func applyPortMappingDefaults(pms []PortMapping, bridge bool) {
	for i := range pms {
		if pms[i].Protocol == "" {
			pms[i].Protocol = DefaultPortProtocol
		}
		// Marathon: in BRIDGE mode a missing host port means "any" (0).
		if bridge && pms[i].HostPort == nil {
			zero := 0
			pms[i].HostPort = &zero
		}
	}
}

func applyPortDefaults(a *App) {
	host := a.NetworkMode() == NetworkModeHost
	if a.PortDefinitions == nil && len(a.Ports) > 0 {
		// Marathon: "ports" are port definitions on the host network; on
		// another network they are service ports, which live on the port
		// mappings, and are dropped.
		if host {
			for _, p := range a.Ports {
				a.PortDefinitions = append(a.PortDefinitions, PortDefinition{Port: p})
			}
		}
		a.Ports = nil
	}
	if a.PortDefinitions == nil {
		if host {
			a.PortDefinitions = []PortDefinition{{Port: 0, Protocol: DefaultPortProtocol}}
		} else {
			a.PortDefinitions = []PortDefinition{}
		}
	}
	for i := range a.PortDefinitions {
		if a.PortDefinitions[i].Protocol == "" {
			a.PortDefinitions[i].Protocol = DefaultPortProtocol
		}
	}
}

func applyHealthCheckDefaults(h *HealthCheck) {
	if h.Protocol == "" {
		h.Protocol = DefaultHealthProtocol
	}
	switch h.Protocol {
	case HealthHTTP, HealthHTTPS, HealthMesosHTTP, HealthMesosHTTPS:
		if h.Path == "" {
			h.Path = DefaultHealthPath
		}
	}
	if h.Protocol != HealthCommand && h.Port == nil && h.PortIndex == nil {
		zero := 0
		h.PortIndex = &zero
	}
}

// UnmarshalJSON reads a health check, with Marathon's defaults for the
// numeric fields the JSON leaves out.
func (h *HealthCheck) UnmarshalJSON(b []byte) error {
	type plain HealthCheck
	p := plain{
		GracePeriodSeconds:     DefaultHealthGracePeriodSeconds,
		IntervalSeconds:        DefaultHealthIntervalSeconds,
		TimeoutSeconds:         DefaultHealthTimeoutSeconds,
		MaxConsecutiveFailures: DefaultHealthMaxConsecutiveFailures,
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*h = HealthCheck(p)
	return nil
}

// UnmarshalJSON reads an upgrade strategy, with Marathon's default (1) for a
// field the JSON leaves out.
func (u *UpgradeStrategy) UnmarshalJSON(b []byte) error {
	type plain UpgradeStrategy
	p := plain{MinimumHealthCapacity: DefaultMinimumHealthCapacity, MaximumOverCapacity: DefaultMaximumOverCapacity}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*u = UpgradeStrategy(p)
	return nil
}

// NetworkMode is the app's network as one of the NetworkMode constants:
// from app.networks when set ("container/bridge" is BRIDGE, "container" is
// USER, all "host" is HOST), else from container.docker.network, else USER
// for the deprecated ipAddress, else HOST (Marathon's default). An unknown
// docker.network is returned as written. ResolveTask reads it the same way.
func (a *App) NetworkMode() string {
	mode, _ := appNetwork(a)
	return mode
}

// PortMappingList is the app's port mappings: container.portMappings, or
// the deprecated container.docker.portMappings when the former is empty.
func (a *App) PortMappingList() []PortMapping {
	if a.Container == nil {
		return nil
	}
	if len(a.Container.PortMappings) > 0 {
		return a.Container.PortMappings
	}
	if a.Container.Docker != nil {
		return a.Container.Docker.PortMappings
	}
	return nil
}
