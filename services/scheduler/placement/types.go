package placement

import "github.com/drover/drover/pkg/marathon"

// Resources are scalar resources.
type Resources struct {
	Cpus float64
	Mem  float64
	Disk float64
}

func (r Resources) add(o Resources) Resources {
	return Resources{Cpus: r.Cpus + o.Cpus, Mem: r.Mem + o.Mem, Disk: r.Disk + o.Disk}
}

// PortRange is an inclusive range of host ports an agent offers.
type PortRange struct{ Begin, End int }

// Policy is what an agent allows.
type Policy struct {
	AllowPrivileged  bool
	HostPathPrefixes []string // empty: any host path
	ImagePatterns    []string // empty: any image (see marathon.ImageAllowed)
	// AllowHostCommands: the agent runs apps without an image on the host.
	AllowHostCommands bool
}

// Agent is one agent as placement sees it.
type Agent struct {
	ID         string
	Hostname   string
	Attributes map[string]string
	Total      Resources
	Ports      []PortRange
	Policy     Policy
	// Unavailable, when not empty, is why no task may go there now
	// (ReasonDockerDown, ReasonUnreachable).
	Unavailable Reason
	// DockerDown: its Docker daemon is down; it takes host commands
	// (Request.HostCommand) only, the others rejected as ReasonDockerDown.
	DockerDown bool
	// Degraded agents (their Docker daemon slow) take an instance only
	// when no other agent can: a launch adds to the load that slows them.
	Degraded bool
}

// Task is a task that holds resources on an agent.
type Task struct {
	ID        string
	AppID     string
	AgentID   string
	Resources Resources
	HostPorts []int
}

// Request asks for Count more instances of one app.
type Request struct {
	AppID     string
	Count     int
	Resources Resources
	// Ports are the app's host ports in order: 0 asks for any free port from
	// the agent's ranges, another number for exactly that port.
	Ports []int
	// ReservedPorts must be free on the agent too but are not assigned
	// (ports published through docker parameters).
	ReservedPorts []int
	Constraints   []marathon.Constraint
	Privileged    bool
	HostPaths     []string
	Image         string
	// HostCommand: the app runs on the host, without an image; only agents
	// allowing host commands take it (ReasonHostCommands).
	HostCommand bool
	// PortSeed varies where in an agent's ranges dynamic ports are sought,
	// so a launch retried after a port clash (a port taken by something
	// Drover does not know) tries other ports. Same seed, same result.
	PortSeed uint64
}

// Reason is why an agent was rejected for an instance.
type Reason string

// Reasons, as /v2/queue reports them.
const (
	ReasonCpus       Reason = "InsufficientCpus"
	ReasonMem        Reason = "InsufficientMemory"
	ReasonDisk       Reason = "InsufficientDisk"
	ReasonPorts      Reason = "InsufficientPorts"
	ReasonConstraint Reason = "UnfulfilledConstraint"
	ReasonPolicy     Reason = "DeclinedByPolicy"
	// ReasonHostCommands: the app has no image and the agent runs no
	// commands on the host (its --allow-host-commands is off).
	ReasonHostCommands Reason = "HostCommandsDisabled"
	ReasonDockerDown   Reason = "DockerUnavailable"
	ReasonUnreachable  Reason = "AgentUnreachable"
)

// Launch places one instance of an app on an agent.
type Launch struct {
	AppID     string
	AgentID   string
	HostPorts []int // Request.Ports with every 0 replaced by the port picked
}

// Unplaced says how many instances of an app found no agent, and for the
// first of them, how many agents were rejected per reason.
type Unplaced struct {
	AppID    string
	Count    int
	Rejected map[Reason]int
}

// Result is the outcome of Place.
type Result struct {
	Launches []Launch
	Unplaced []Unplaced
}
