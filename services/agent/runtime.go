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

// SandboxReader reads files of its tasks' sandboxes: the command
// runtime's task directories, the Docker runtime's directories mounted
// at /mnt/mesos/sandbox.
type SandboxReader interface {
	// ReadSandbox reads up to length bytes of the file at path, relative
	// to the task's sandbox, from offset, or (offset < 0) its last length
	// bytes. Errors wrap ErrSandboxNotFound for a task or file not there,
	// ErrSandboxPath for a path that is no regular file inside the
	// sandbox (a symbolic link leaving it included), ErrNoSandbox for a
	// task of a runtime without sandboxes.
	ReadSandbox(ctx context.Context, taskID, path string, offset, length int64) (SandboxChunk, error)
}

// SandboxChunk is what a ReadSandbox read: Data from Offset, of a file of Size bytes.
type SandboxChunk struct {
	Data   []byte
	Offset int64
	Size   int64
}

var (
	// ErrSandboxNotFound: no such task, or no such file in its sandbox.
	ErrSandboxNotFound = errors.New("no such task or file")
	// ErrSandboxPath: the path is no regular file inside the sandbox.
	ErrSandboxPath = errors.New("not a regular file inside the sandbox")
	// ErrNoSandbox: the task's runtime keeps no sandboxes (a runtime in
	// memory, an agent run with --no-docker-sandboxes).
	ErrNoSandbox = errors.New("the task has no sandbox on its agent")
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
