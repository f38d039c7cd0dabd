package decide

import (
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
)

// State is what the leader knows when it decides: plain values, read and
// never changed by this package (what changes comes back in Decisions).
type State struct {
	Now    time.Time
	Epoch  uint64 // the leader's term; stamped on every command and record
	Config Config

	Apps        map[string]*App              // by app id
	Deployments map[string]Deployment        // by key in the deployments bucket
	Agents      map[string]*Agent            // by agent id
	Instances   map[string]*events.Instance  // by task id
	Queue       map[string]events.QueueEntry // as last written to the queue bucket
	KillSent    map[string]KillTry           // by task id
	// Removed are the last definitions of apps deleted while a deployment
	// lists them, by app id: the original of that deployment's events.
	Removed map[string]marathon.App

	View  View  // how far the leader's own view of the agents can be trusted
	Self  Self  // this pass's reading of the leader's connection
	Brake Brake // the silent-majority brake
	// Passes is how many placement requests the leader made: the seed of
	// their ports, so a retried launch seeks other ports.
	Passes uint64
	// FullPlans: someone receives deployment events with full plans (an
	// api replica announced it: package plandemand), so the events carry
	// the plan's original and target. Without it they are light, as
	// ?plan-format=light has them, unless the deployment's record asks
	// for full ones (events.Deployment.FullPlans).
	FullPlans bool
}

// Config holds the durations and shares the rules use.
type Config struct {
	// ReconcileInterval is how often the leader reconciles without a trigger.
	ReconcileInterval time.Duration
	// UnreachableAfter is how long without a heartbeat makes an agent
	// unreachable and its tasks lost (3 missed heartbeats at 1 s).
	UnreachableAfter time.Duration
	// DockerDownAfter is how long an agent's heartbeats must report its
	// Docker daemon down before its tasks are lost and replaced elsewhere.
	DockerDownAfter time.Duration
	// SilentShare: when more than this share of the agents (and two at
	// least) are unreachable together, the scheduler suspects itself or
	// the network and replaces none of their tasks for up to SilentHold.
	SilentShare float64
	SilentHold  time.Duration
	// StagingTimeout is how long a launched task may stay unseen by its agent.
	StagingTimeout time.Duration
	// BackoffResetAfter: a task that ran at least this long before it died is
	// replaced at once, and its app's launch delay starts again from zero.
	BackoffResetAfter time.Duration
	// KillRetry is how long before a kill command for the same task is resent.
	KillRetry time.Duration
	// DeploymentTimeout is how long a deployment may take before it fails
	// with a reason (deployment_failed) instead of hanging.
	DeploymentTimeout time.Duration
}

// App is one app as the leader follows it.
type App struct {
	Def          marathon.App
	DeploymentID string // the deployment the app's last write started
	// Sentenced are the tasks the app's last write lowered its instances
	// for (kill-and-scale): scale kills them rather than killSelection's.
	Sentenced []string
	// Changed is when the leader saw the current record arrive, and
	// DeploymentSeen whether the deployment written with it has arrived.
	Changed        time.Time
	DeploymentSeen bool
	Backoff        Backoff
	// Prev is the definition before the last write, when the leader saw
	// that write replace it; nil for a new app, or one loaded at start.
	Prev *marathon.App
}

// Backoff is an app's launch delay: the next delay, no launch before
// NotBefore, and the last death that counted.
type Backoff struct {
	Delay     time.Duration
	NotBefore time.Time
	FailedAt  time.Time
}

// Deployment is one record of the deployments bucket at a revision.
type Deployment struct {
	D   events.Deployment
	Rev uint64
	// Finishing: its delete is on its way (Decisions.Finished); it is
	// left alone until the bucket says it is gone.
	Finishing bool
}

// Agent is an agent as its heartbeats and the leader's verdicts say.
type Agent struct {
	Heartbeat events.Heartbeat
	Seen      time.Time // when its last heartbeat was stored by NATS
	// ListedAt is when, on the leader's clock, the agent listed the tasks
	// of its last heartbeat; zero when that list is no evidence of what is
	// missing from it (stale, or never taken). See ListedAt.
	ListedAt time.Time
	// HostListedAt is the same for the host commands in that list, which
	// the agent lists whatever its Docker daemon does (HostListedAt).
	HostListedAt time.Time
	// DockerDownSince is when its heartbeats began to report Docker down.
	DockerDownSince time.Time
	State           string    // the last verdict (events.Agent*)
	Recorded        time.Time // when the agents bucket was last written for it
}

// ListedAt is when a heartbeat seen at seen listed its tasks, on the
// scheduler's clock: the agent says how long before sending it listed them,
// which no clock skew between the hosts changes. Zero for a stale list.
func ListedAt(hb events.Heartbeat, seen time.Time) time.Time {
	if hb.TasksStale || hb.TasksListedAt.IsZero() || hb.SentAt.Before(hb.TasksListedAt) {
		return time.Time{}
	}
	return seen.Add(-hb.SentAt.Sub(hb.TasksListedAt))
}

// HostListedAt is when a heartbeat seen at seen listed its host commands,
// on the scheduler's clock; zero when it did not (an agent running none, or
// older than Heartbeat.HostTasksListedAt).
func HostListedAt(hb events.Heartbeat, seen time.Time) time.Time {
	if hb.HostTasksListedAt.IsZero() || hb.SentAt.Before(hb.HostTasksListedAt) {
		return time.Time{}
	}
	return seen.Add(-hb.SentAt.Sub(hb.HostTasksListedAt))
}

// listedAt is when the agent last listed the runtime that runs inst: a
// list that is evidence of what is missing from it, or zero. A whole list
// that is fresh lists the host commands too.
func (a *Agent) listedAt(inst *events.Instance) time.Time {
	if inst.OnDocker() || a.HostListedAt.Before(a.ListedAt) {
		return a.ListedAt
	}
	return a.HostListedAt
}

// KillTry is when a task's last kill command was sent, and how long to wait
// before the next.
type KillTry struct {
	At   time.Time
	Wait time.Duration
}

// View says since when the leader's view of the agents holds: Started is
// when it began to follow heartbeats, FeedBroken when it last found its
// own view lagging, LastPass when its last pass ended, published (the
// scheduler sets it; zero at a term's start).
type View struct {
	Started    time.Time
	FeedBroken time.Time
	LastPass   time.Time
}

// Self is what the leader reads of itself before a pass.
type Self struct {
	Reconnected bool      // the NATS connection is down, or reconnected since the last pass
	Backlog     int       // heartbeats waiting unread in the subscription
	LastHeard   time.Time // when any agent's live heartbeat last arrived; zero if none yet
}

// Brake is the silent-majority brake: since when more than SilentShare of
// the agents are unreachable together, and while replacements are held, why.
type Brake struct {
	Since time.Time
	Held  string
}

// Decisions is what one pass (or one status report) decided: the writes to
// publish, in order, and the leader's state that changes with them.
type Decisions struct {
	Writes []Write
	// Agents are the verdicts that changed, or were recorded again.
	Agents   map[string]Verdict
	Backoffs map[string]Backoff // by app id
	// KillSent replaces the kill bookkeeping when not nil.
	KillSent map[string]KillTry
	// Finished are the deployments whose delete is among the writes.
	Finished []string
	View     View
	Brake    Brake
	Passes   uint64
	Poke     bool // decide again soon: something changed that a pass acts on
}

// Verdict is an agent's state and when the agents bucket was last written
// for it.
type Verdict struct {
	State    string
	Recorded time.Time
}

// Write is one record to write or message to send; exactly one field is set.
// The scheduler encodes it later, outside its lock, as it publishes it: what
// a Write reaches (slices, maps, apps and plans it shares with the state) is
// replaced whole when it changes, never edited in place.
type Write struct {
	Instance          *events.Instance // put, under its task id
	DeleteInstance    string           // a task id
	Command           *Command
	Queue             *events.QueueEntry // put, under its app id
	DeleteQueue       string             // an app id
	Agent             *events.AgentRecord
	DeleteDeployment  *DeploymentDelete
	AdvanceDeployment *DeploymentAdvance
	Event             *Event
}

// Command is a command for an agent.
type Command struct {
	AgentID string
	Command events.Command
}

// DeploymentDelete deletes a deployment if it is still at revision Rev.
type DeploymentDelete struct {
	Key string
	Rev uint64
}

// DeploymentAdvance writes a deployment again, at the step it is now at
// (D.CurrentStep), if it is still at revision Rev.
type DeploymentAdvance struct {
	Key string
	Rev uint64
	D   events.Deployment
}

// Event is a Marathon event. AfterPrevious: publish it only once the write
// before it has landed (a deployment's outcome follows its delete).
type Event struct {
	Type          string
	Payload       any
	AfterPrevious bool
}
