package events

import (
	"time"

	"github.com/drover/drover/pkg/marathon"
)

// Version is the schema version every message below carries in its "v" field.
// A reader refuses a message whose version it does not know (see Decode).
const Version = 1

// TaskState is a task's state, spelled as Marathon spells it in task JSON.
type TaskState string

// Task states. The first group is not terminal.
const (
	TaskStaging     TaskState = "TASK_STAGING"
	TaskStarting    TaskState = "TASK_STARTING"
	TaskRunning     TaskState = "TASK_RUNNING"
	TaskKilling     TaskState = "TASK_KILLING"
	TaskUnreachable TaskState = "TASK_UNREACHABLE"

	TaskFinished TaskState = "TASK_FINISHED"
	TaskFailed   TaskState = "TASK_FAILED"
	TaskKilled   TaskState = "TASK_KILLED"
	TaskError    TaskState = "TASK_ERROR"
	TaskLost     TaskState = "TASK_LOST"
	TaskDropped  TaskState = "TASK_DROPPED"
	TaskGone     TaskState = "TASK_GONE"
	TaskUnknown  TaskState = "TASK_UNKNOWN"
)

// Terminal reports whether a task in this state will never run again.
func (s TaskState) Terminal() bool {
	switch s {
	case TaskStaging, TaskStarting, TaskRunning, TaskKilling, TaskUnreachable:
		return false
	}
	return true
}

// PortRange is an inclusive range of host ports.
type PortRange struct {
	Begin int `json:"begin"`
	End   int `json:"end"`
}

// Resources are what an agent offers, or what its tasks use.
type Resources struct {
	Cpus  float64     `json:"cpus"`
	Mem   float64     `json:"mem"`
	Disk  float64     `json:"disk"`
	Ports []PortRange `json:"ports,omitempty"`
}

// AgentPolicy is what an agent allows the containers it runs.
type AgentPolicy struct {
	AllowPrivileged  bool     `json:"allowPrivileged"`
	HostPathPrefixes []string `json:"hostPathPrefixes,omitempty"` // empty: any host path
	// ImagePatterns are the images the agent runs, as path.Match globs over
	// the image reference ("registry.example.com/*", "httpd:*"); empty: any
	// image. See MatchImage.
	ImagePatterns []string `json:"imagePatterns,omitempty"`
	// AllowHostCommands: the agent runs apps without a container image as
	// commands on the host (Mesos' command executor). Absent is false: an
	// agent that says nothing runs none.
	AllowHostCommands bool `json:"allowHostCommands,omitempty"`
}

// DockerHealth is an agent's view of its Docker daemon, judged on evidence:
// Healthy is false only when the daemon is down (it refuses connections, its
// socket is gone, or it has answered nothing for the agent's down-after
// time); a daemon that answers slowly or with errors is Degraded, and its
// tasks run on.
type DockerHealth struct {
	Healthy    bool   `json:"healthy"`
	Degraded   bool   `json:"degraded,omitempty"`
	Error      string `json:"error,omitempty"`
	APIVersion string `json:"apiVersion,omitempty"`
}

// TaskReport is one task as an agent sees it on its runtime.
type TaskReport struct {
	TaskID      string    `json:"taskId"`
	AppID       string    `json:"appId"`
	Version     string    `json:"version"`
	State       TaskState `json:"state"`
	ContainerID string    `json:"containerId,omitempty"`
	HostPorts   []int     `json:"hostPorts,omitempty"`
	IPAddress   string    `json:"ipAddress,omitempty"`
	StartedAt   time.Time `json:"startedAt,omitzero"`
	Message     string    `json:"message,omitempty"`
	// Health holds the latest result of each of the app's health checks.
	Health []HealthResult `json:"health,omitempty"`
	// Ready is the readiness checks' verdict; nil when the app has none.
	Ready *bool `json:"ready,omitempty"`
}

// HealthResult is the state of one health check of one task, as Marathon
// reports it in healthCheckResults. Failures during the check's grace period
// (before the first success) are not counted.
type HealthResult struct {
	Index               int       `json:"index"` // in the app's healthChecks
	Alive               bool      `json:"alive"`
	ConsecutiveFailures int       `json:"consecutiveFailures"`
	FirstSuccess        time.Time `json:"firstSuccess,omitzero"`
	LastSuccess         time.Time `json:"lastSuccess,omitzero"`
	LastFailure         time.Time `json:"lastFailure,omitzero"`
	LastFailureCause    string    `json:"lastFailureCause,omitempty"`
}

// Heartbeat is what an agent publishes every second on AgentHeartbeat.
type Heartbeat struct {
	V          int               `json:"v"`
	AgentID    string            `json:"agentId"`
	Hostname   string            `json:"hostname"`
	Address    string            `json:"address,omitempty"` // where its published ports are reached
	Attributes map[string]string `json:"attributes,omitempty"`
	Resources  Resources         `json:"resources"`
	Policy     AgentPolicy       `json:"policy"`
	Docker     DockerHealth      `json:"docker"`
	Tasks      []TaskReport      `json:"tasks"`
	// TasksListedAt is when, by the agent's clock (compare it with SentAt,
	// never with another host's clock), the runtime listed Tasks; zero
	// when it never has.
	TasksListedAt time.Time `json:"tasksListedAt,omitzero"`
	// TasksStale: the runtime could not list its tasks lately, so Tasks is
	// the last list it gave, and a task missing from it is not evidence
	// that the task is gone.
	TasksStale bool `json:"tasksStale,omitempty"`
	// HostTasksListedAt is when (agent's clock, as TasksListedAt) the
	// command runtime listed its tasks in Tasks, which it does whatever
	// Docker's state: a host command missing from that list is gone even
	// when the list as a whole is stale. Zero on agents that run no host
	// commands (and on agents older than the field).
	HostTasksListedAt time.Time `json:"hostTasksListedAt,omitzero"`
	Epoch             uint64    `json:"epoch"` // highest scheduler epoch the agent has seen
	StartedAt         time.Time `json:"startedAt"`
	SentAt            time.Time `json:"sentAt"`
	// Refused counts, since the agent started, the commands it terminated
	// unrun: malformed (undecodable or invalid: a broken or hostile
	// publisher) and stale (a deposed leader's epoch).
	Refused *CommandRefusals `json:"refused,omitempty"`
}

// CommandRefusals are an agent's counts of commands it would not run.
type CommandRefusals struct {
	Malformed uint64 `json:"malformed"`
	Stale     uint64 `json:"stale"`
}

// CommandKind says what a Command asks an agent to do.
type CommandKind string

// Command kinds.
const (
	CommandLaunch CommandKind = "launch"
	CommandKill   CommandKind = "kill"
)

// Command is what the scheduler leader sends an agent on AgentCommand. Its ID
// is also the JetStream message id, so a command resent is a command deduplicated.
// An agent refuses a command whose Epoch is lower than the highest it has seen.
type Command struct {
	V        int         `json:"v"`
	ID       string      `json:"id"`
	Epoch    uint64      `json:"epoch"`
	Kind     CommandKind `json:"kind"`
	TaskID   string      `json:"taskId"`
	AppID    string      `json:"appId"`
	Launch   *LaunchSpec `json:"launch,omitempty"`
	IssuedAt time.Time   `json:"issuedAt"`
}

// LaunchSpec is everything an agent needs to start a task.
type LaunchSpec struct {
	App marathon.App `json:"app"` // the app's definition at the version to launch
	// HostPorts are the host ports the scheduler assigned, one per port
	// mapping (BRIDGE) or port definition (HOST), in order.
	HostPorts []int `json:"hostPorts,omitempty"`
	// Env is added to the app's env, winning over it. Schedulers no longer
	// send it (older ones sent Marathon's variables here): the agent's
	// runtime gives a task its variables (marathon.TaskSpec.TaskEnv).
	Env map[string]string `json:"env,omitempty"`
}

// Resolve is the spec the task runs with: its app resolved, once (see
// marathon.ResolveTask), with this launch's host ports and env. The error
// says why the app cannot run as written; the spec holds what could be read.
func (l LaunchSpec) Resolve() (marathon.TaskSpec, error) {
	s, err := marathon.ResolveTask(l.App)
	return s.ForTask(l.HostPorts, l.Env), err
}

// TaskStatus is a task state change an agent reports on AgentStatus.
type TaskStatus struct {
	V           int       `json:"v"`
	AgentID     string    `json:"agentId"`
	TaskID      string    `json:"taskId"`
	AppID       string    `json:"appId"`
	Version     string    `json:"version"`
	State       TaskState `json:"state"`
	Message     string    `json:"message,omitempty"`
	ContainerID string    `json:"containerId,omitempty"`
	HostPorts   []int     `json:"hostPorts,omitempty"`
	IPAddress   string    `json:"ipAddress,omitempty"`
	At          time.Time `json:"at"`
	// Health, when set, is a health report of a task whose state did not
	// change; the agent sends one whenever a check's result changes.
	Health []HealthResult `json:"health,omitempty"`
	Ready  *bool          `json:"ready,omitempty"`
}

// Instance is one task as the scheduler records it in BucketInstances.
type Instance struct {
	V         int       `json:"v"`
	TaskID    string    `json:"taskId"`
	AppID     string    `json:"appId"`
	Version   string    `json:"version"`
	AgentID   string    `json:"agentId"`
	Host      string    `json:"host"`
	HostPorts []int     `json:"hostPorts,omitempty"`
	IPAddress string    `json:"ipAddress,omitempty"`
	State     TaskState `json:"state"`
	Message   string    `json:"message,omitempty"`
	StagedAt  time.Time `json:"stagedAt"`
	StartedAt time.Time `json:"startedAt,omitzero"`
	UpdatedAt time.Time `json:"updatedAt"`
	// Health is the latest result of each health check; empty without checks.
	Health []HealthResult `json:"health,omitempty"`
	// Ready is the readiness checks' verdict; nil when the app has none.
	Ready *bool `json:"ready,omitempty"`
	// UnreachableSince is when its agent went silent (State TASK_UNREACHABLE).
	UnreachableSince time.Time `json:"unreachableSince,omitzero"`
	// Epoch is the term of the scheduler leader that wrote the record, so a
	// leader tells a deposed leader's late writes from its own.
	Epoch uint64 `json:"epoch,omitempty"`
	// Runtime is the agent's runtime that runs the task: RuntimeCommand
	// for a host command, else Docker (RuntimeDocker; records written
	// before the field have none, and were Docker's unless their app ran
	// a command).
	Runtime string `json:"runtime,omitempty"`
}

// Task runtimes (Instance.Runtime).
const (
	RuntimeDocker  = "docker"
	RuntimeCommand = "command"
)

// OnDocker reports whether Docker runs the task: only such tasks depend on
// their agent's Docker daemon.
func (i Instance) OnDocker() bool { return i.Runtime != RuntimeCommand }

// Healthy is Marathon's view of an instance's health: nil when its app has no
// health checks or no result is in yet, else whether every check is alive.
func (i Instance) Healthy() *bool {
	if len(i.Health) == 0 {
		return nil
	}
	ok := true
	for _, h := range i.Health {
		ok = ok && h.Alive
	}
	return &ok
}

// Agent states in BucketAgents.
const (
	AgentActive = "ACTIVE"
	// AgentDockerDegraded: its Docker daemon answers slowly or with
	// errors; its tasks run on, and it takes new tasks only when no other
	// agent can.
	AgentDockerDegraded = "DOCKER_DEGRADED"
	AgentDockerDown     = "DOCKER_DOWN"
	AgentUnreachable    = "UNREACHABLE"
)

// AgentRecord is an agent as the scheduler leader records it in BucketAgents.
type AgentRecord struct {
	V          int               `json:"v"`
	AgentID    string            `json:"agentId"`
	Hostname   string            `json:"hostname"`
	Address    string            `json:"address,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
	Total      Resources         `json:"total"`
	Used       Resources         `json:"used"`
	Policy     AgentPolicy       `json:"policy"`
	Docker     DockerHealth      `json:"docker"`
	State      string            `json:"state"`
	LastSeen   time.Time         `json:"lastSeen"`
}

// AppRecord is an app definition as the api writes it in BucketApps.
type AppRecord struct {
	V   int          `json:"v"`
	App marathon.App `json:"app"`
	// DeploymentID is the deployment this write started.
	DeploymentID string `json:"deploymentId"`
	// Sentenced are the tasks this write lowered the instances for
	// (Marathon's kill-and-scale, /v2/tasks/delete?scale=true): the leader
	// kills them, not the ones killSelection would pick.
	Sentenced []string `json:"sentenced,omitempty"`
}

// Deployment actions, as Marathon names them.
const (
	ActionStart   = "StartApplication"
	ActionStop    = "StopApplication"
	ActionScale   = "ScaleApplication"
	ActionRestart = "RestartApplication"
)

// DeploymentAction is one action of a deployment step.
type DeploymentAction struct {
	Action string `json:"action"`
	App    string `json:"app"`
}

// Deployment is a running deployment in BucketDeployments. The api creates it
// with the write that starts it; the scheduler advances it and deletes it
// when it is done.
type Deployment struct {
	V            int                  `json:"v"`
	ID           string               `json:"id"`
	Version      string               `json:"version"`
	AffectedApps []string             `json:"affectedApps"`
	Steps        [][]DeploymentAction `json:"steps"`
	CurrentStep  int                  `json:"currentStep"`
	CreatedAt    time.Time            `json:"createdAt"`
	// FullPlans: the api that wrote it had someone to receive full plans
	// (PlanDemand), so the scheduler's events of it carry them too,
	// whatever the scheduler has heard of that demand by then. Absent:
	// as the scheduler's own view of the demand says.
	FullPlans bool `json:"fullPlans,omitempty"`
}

// LeaderRecord is the value of LeaderKey in BucketLeader. The revision of the
// Create that won the key is the leader's epoch.
type LeaderRecord struct {
	V           int    `json:"v"`
	SchedulerID string `json:"schedulerId"`
	Hostname    string `json:"hostname"`
	// APIAddress is host:port where clients reach the Marathon API beside
	// the leading scheduler: what /v2/leader, /v2/info's leader and the
	// X-Marathon-Leader header name, as Marathon names its leader's HTTP
	// address. Empty in records from before it: the api then reports
	// Hostname with its own port.
	APIAddress string `json:"apiAddress,omitempty"`
	// NATSServer is the server name of the NATS node on the leading
	// scheduler's master (its --colocated-nats): the node whose crash
	// would take the scheduler with it, so the NATS nodes keep the
	// JetStream meta leader off it (internal/metaplace). Empty when the
	// scheduler was given none.
	NATSServer string `json:"natsServer,omitempty"`
	// Nonce is random per scheduler process: it tells the lock a process
	// wrote itself from one another process with the same id wrote.
	Nonce string `json:"nonce,omitempty"`
	Epoch uint64 `json:"epoch"`
	// Lineage is the epoch of the first of an unbroken run of terms of
	// this process: a term that ended (a renewal came too late on a
	// loaded machine) and was reclaimed before anyone else held the lock
	// keeps its lineage. No other scheduler held the lock between Lineage
	// and Epoch, so commands of any epoch in between are this process's
	// and agents still run them. Zero in records from before it: Epoch.
	Lineage uint64    `json:"lineage,omitempty"`
	Since   time.Time `json:"since"`
}

// QueueEntry is an app that is not fully placed, as the scheduler leader
// records it in BucketQueue (key: AppKey) for /v2/queue; deleted once placed.
type QueueEntry struct {
	V     int    `json:"v"`
	AppID string `json:"appId"`
	// Count is how many instances still wait for an agent.
	Count int `json:"count"`
	// Since is when the app began to wait.
	Since time.Time `json:"since"`
	// DelayUntil is when the launch backoff lets the app launch again.
	DelayUntil time.Time `json:"delayUntil,omitzero"`
	// Rejected counts, per reason (placement.Reason names), the agents that
	// could not take the next instance at the last placement.
	Rejected map[string]int `json:"rejected,omitempty"`
	// Agents is how many agents the last placement looked at.
	Agents    int       `json:"agents"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// RequestKind says what a SchedulerRequest asks.
type RequestKind string

// Request kinds.
const (
	// RequestKillTasks kills TaskIDs; the scheduler replaces them unless the
	// app wants fewer (the api lowers instances first for scale=true).
	RequestKillTasks RequestKind = "killTasks"
	// RequestResetDelay resets AppID's launch backoff (DELETE /v2/queue/{id}/delay).
	RequestResetDelay RequestKind = "resetDelay"
	// RequestAbdicate makes the leader step down (DELETE /v2/leader).
	RequestAbdicate RequestKind = "abdicate"
)

// SchedulerRequest is what the api asks of the scheduler leader on
// SchedulerRequests; the api never commands agents itself.
type SchedulerRequest struct {
	V       int         `json:"v"`
	ID      string      `json:"id"`
	Kind    RequestKind `json:"kind"`
	AppID   string      `json:"appId,omitempty"`
	TaskIDs []string    `json:"taskIds,omitempty"`
	// Wipe forgets the tasks instead of letting them be replaced in place
	// (Marathon's wipe=true, for resident tasks); Drover replaces either way.
	Wipe bool      `json:"wipe,omitempty"`
	At   time.Time `json:"at"`
}

// Subscriber is an HTTP callback subscription in BucketSubscribers (key:
// SubscriberKey of CallbackURL).
type Subscriber struct {
	V           int       `json:"v"`
	CallbackURL string    `json:"callbackUrl"`
	ClientIP    string    `json:"clientIp"`
	At          time.Time `json:"at"`
}

// PortClaim is a service port's claim in BucketPortClaims (key:
// PortClaimKey of the port): the app that took it.
type PortClaim struct {
	V   int    `json:"v"`
	App string `json:"app"`
}

// Version reports each message's schema version; Decode checks it.
func (m Heartbeat) version() int        { return m.V }
func (m Command) version() int          { return m.V }
func (m TaskStatus) version() int       { return m.V }
func (m Instance) version() int         { return m.V }
func (m AgentRecord) version() int      { return m.V }
func (m AppRecord) version() int        { return m.V }
func (m Deployment) version() int       { return m.V }
func (m LeaderRecord) version() int     { return m.V }
func (m QueueEntry) version() int       { return m.V }
func (m SchedulerRequest) version() int { return m.V }
func (m Subscriber) version() int       { return m.V }
func (m SandboxRead) version() int      { return m.V }
func (m SandboxFile) version() int      { return m.V }
func (m PortClaim) version() int        { return m.V }
func (m PlanDemandNotice) version() int { return m.V }
