package agent

import (
	"context"
	"errors"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
)

// Runtime runs an agent's tasks: Docker in production (services/agent/docker),
// memory in tests (services/agent/memruntime). It is safe for concurrent use.
type Runtime interface {
	// Ping checks the daemon behind the runtime. An unreachable daemon is
	// an error wrapping ErrRuntimeUnavailable, and the returned health
	// describes it.
	Ping(ctx context.Context) (events.DockerHealth, error)
	// List reports every task of this agent the runtime holds, running or
	// ended and not yet removed, in a stable order.
	List(ctx context.Context) ([]events.TaskReport, error)
	// Launch starts a task. It is idempotent: a task already there is
	// reported as it is, never started twice. An error wrapping
	// ErrInvalidSpec means the spec cannot run as written (TASK_ERROR); any
	// other error means it failed here (TASK_FAILED), a pull failure included,
	// unless Ping then fails too: the daemon is gone (TASK_LOST). The
	// spec is the launch's, resolved (events.LaunchSpec.Resolve).
	Launch(ctx context.Context, taskID string, spec marathon.TaskSpec) (events.TaskReport, error)
	// Kill stops a task, with grace between the stop signal and SIGKILL,
	// and removes it. Killing a task that is not there is not an error.
	Kill(ctx context.Context, taskID string, grace time.Duration) error
	// Events streams the task state changes the runtime observes (started,
	// exited, killed, out of memory) until ctx is done, then closes.
	Events(ctx context.Context) <-chan RuntimeEvent
}

// RuntimeEvent is a task state change a runtime observed.
type RuntimeEvent struct {
	Task events.TaskReport // the task now; Task.State is its new state
	At   time.Time
}

var (
	// ErrInvalidSpec is wrapped by Runtime.Launch errors for a launch spec
	// that cannot run as written; the agent reports TASK_ERROR.
	ErrInvalidSpec = errors.New("invalid launch spec")
	// ErrPolicy is wrapped by CheckPolicy errors: the agent's policy forbids the app.
	ErrPolicy = errors.New("refused by agent policy")
	// ErrRuntimeUnavailable is wrapped by runtime errors that show no
	// daemon is there to answer: it refuses connections or its socket is
	// gone. A slow daemon's timeouts never wrap it.
	ErrRuntimeUnavailable = errors.New("runtime unavailable")
	// ErrNoExec fails the COMMAND health checks of a runtime that is not an Execer.
	ErrNoExec = errors.New("the runtime cannot run commands in containers")
)
