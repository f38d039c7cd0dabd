package agent

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
)

// HostRuntime is a runtime of host commands (services/agent/command): it
// tells its own tasks from others' without asking a daemon.
type HostRuntime interface {
	Runtime
	Execer
	CheckRecaller
	// Has reports whether the task is one of the runtime's.
	Has(taskID string) bool
}

// Routed runs each task on one of two runtimes: a spec with an image in
// a container (Containers: Docker), a host command (marathon.TaskSpec's
// HostCommand: an app without an image) on Commands. Without Commands,
// host commands are refused as the agent's policy. The runtime's health
// (Ping) is the containers': it is what the agent's heartbeat judges.
type Routed struct {
	Containers Runtime
	Commands   HostRuntime // nil: host commands are not run here
}

var (
	_ SandboxReader = (*Routed)(nil)
	_ Runtime       = (*Routed)(nil)
	_ Execer        = (*Routed)(nil)
	_ CheckRecaller = (*Routed)(nil)
)

// Ping checks the container runtime.
func (r *Routed) Ping(ctx context.Context) (events.DockerHealth, error) {
	return r.Containers.Ping(ctx)
}

// List reports the tasks of both runtimes, by task id. A container runtime
// that cannot list fails the list: it is evidence only when whole.
func (r *Routed) List(ctx context.Context) ([]events.TaskReport, error) {
	tasks, err := r.Containers.List(ctx)
	if err != nil || r.Commands == nil {
		return tasks, err
	}
	cmds, err := r.Commands.List(ctx)
	if err != nil {
		return nil, err
	}
	tasks = append(tasks, cmds...)
	slices.SortFunc(tasks, func(a, b events.TaskReport) int { return cmp.Compare(a.TaskID, b.TaskID) })
	return tasks, nil
}

// ListContainers lists the container runtime's tasks only.
func (r *Routed) ListContainers(ctx context.Context) ([]events.TaskReport, error) {
	return r.Containers.List(ctx)
}

// ListHost lists the host commands only: they need no daemon, so their
// list holds when Docker's fails. ok is false when this agent runs none.
func (r *Routed) ListHost(ctx context.Context) (tasks []events.TaskReport, ok bool, err error) {
	if r.Commands == nil {
		return nil, false, nil
	}
	tasks, err = r.Commands.List(ctx)
	return tasks, true, err
}

// Launch starts the task on the runtime its spec needs.
func (r *Routed) Launch(ctx context.Context, taskID string, spec marathon.TaskSpec) (events.TaskReport, error) {
	if !spec.HostCommand() {
		return r.Containers.Launch(ctx, taskID, spec)
	}
	if r.Commands == nil {
		return events.TaskReport{}, fmt.Errorf("%w: %w: app %s has no container image, and this agent runs no host commands (--allow-host-commands)",
			ErrInvalidSpec, ErrPolicy, spec.AppID)
	}
	return r.Commands.Launch(ctx, taskID, spec)
}

// Kill stops the task on the runtime that holds it.
func (r *Routed) Kill(ctx context.Context, taskID string, grace time.Duration) error {
	if r.Commands != nil && r.Commands.Has(taskID) {
		return r.Commands.Kill(ctx, taskID, grace)
	}
	return r.Containers.Kill(ctx, taskID, grace)
}

// Exec runs a command health check where the task runs: in its container,
// or in its sandbox on the host.
func (r *Routed) Exec(ctx context.Context, taskID string, cmd []string) (ExecResult, error) {
	if r.Commands != nil && r.Commands.Has(taskID) {
		return r.Commands.Exec(ctx, taskID, cmd)
	}
	if e, ok := r.Containers.(Execer); ok {
		return e.Exec(ctx, taskID, cmd)
	}
	return ExecResult{}, ErrNoExec
}

// RecallChecks asks the runtime that holds the task for its checks.
func (r *Routed) RecallChecks(ctx context.Context, taskID string) (CheckSpec, error) {
	if r.Commands != nil && r.Commands.Has(taskID) {
		return r.Commands.RecallChecks(ctx, taskID)
	}
	if c, ok := r.Containers.(CheckRecaller); ok {
		return c.RecallChecks(ctx, taskID)
	}
	return CheckSpec{}, nil
}

// ReadSandbox reads a sandbox file of the runtime that holds the task: a
// host command's, or a container's (the sandbox mounted into it), when
// that runtime has sandboxes (else ErrNoSandbox).
func (r *Routed) ReadSandbox(ctx context.Context, taskID, path string, offset, length int64) (SandboxChunk, error) {
	var rt Runtime = r.Containers
	if r.Commands != nil && r.Commands.Has(taskID) {
		rt = r.Commands
	}
	sr, ok := rt.(SandboxReader)
	if !ok {
		return SandboxChunk{}, fmt.Errorf("agent: task %s: %w", taskID, ErrNoSandbox)
	}
	return sr.ReadSandbox(ctx, taskID, path, offset, length)
}

// Events merges both runtimes' events until ctx is done.
func (r *Routed) Events(ctx context.Context) <-chan RuntimeEvent {
	ins := []<-chan RuntimeEvent{r.Containers.Events(ctx)}
	if r.Commands != nil {
		ins = append(ins, r.Commands.Events(ctx))
	}
	out := make(chan RuntimeEvent)
	var wg sync.WaitGroup
	for _, in := range ins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ev := range in {
				select {
				case out <- ev:
				case <-ctx.Done():
				}
			}
		}()
	}
	go func() { wg.Wait(); close(out) }()
	return out
}
