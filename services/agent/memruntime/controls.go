package memruntime

import (
	"context"
	"fmt"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/agent"
)

// Exit ends a task as a process exiting with code would: TASK_FINISHED for
// 0, TASK_FAILED otherwise. The task stays listed, ended.
func (r *Runtime) Exit(taskID string, code int) error {
	state, msg := events.TaskFinished, ""
	if code != 0 {
		state, msg = events.TaskFailed, fmt.Sprintf("exit code %d", code)
	}
	return r.SetState(taskID, state, msg)
}

// SetState moves a task to any state, with a message, and reports it.
func (r *Runtime) SetState(taskID string, state events.TaskState, message string) error {
	r.mu.Lock()
	t, ok := r.tasks[taskID]
	if !ok {
		r.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrNoTask, taskID)
	}
	t.State, t.Message = state, message
	rep := *t
	r.mu.Unlock()
	r.hub.Publish(agent.RuntimeEvent{Task: rep, At: r.now()})
	return nil
}

// SetDown makes the fake daemon unreachable with err (nil brings it back):
// every call but Events fails with it, wrapped as agent.ErrRuntimeUnavailable,
// meanwhile.
func (r *Runtime) SetDown(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		err = fmt.Errorf("%w: %w", agent.ErrRuntimeUnavailable, err)
	}
	r.down = err
}

// SetSlow makes Ping and List take d before they answer (0: at once), or
// until their context ends, as a loaded daemon does.
func (r *Runtime) SetSlow(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.slow = d
}

// SetListSlow makes every List take d more than SetSlow's (0: none more).
func (r *Runtime) SetListSlow(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.listSlow = d
}

// wait is the fake daemon's slowness: d, or less if ctx ends first.
func (r *Runtime) wait(ctx context.Context) error {
	r.mu.Lock()
	d := r.slow
	r.mu.Unlock()
	return sleep(ctx, d)
}

// sleep waits d, or less if ctx ends first.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// FailLaunches makes Launch return what f returns, when not nil, before
// creating a task (f nil: launches succeed). Wrap agent.ErrInvalidSpec for
// TASK_ERROR; any other error is a TASK_FAILED, as a pull failure is.
func (r *Runtime) FailLaunches(f func(taskID string, spec marathon.TaskSpec) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failWith = f
}

// Adopt puts a task in the runtime as if it had been running before, as a
// restarted agent finds its containers.
func (r *Runtime) Adopt(t events.TaskReport) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tasks[t.TaskID] = &t
}

// AdoptLaunched is Adopt of a task launched from spec, whose checks
// RecallChecks gives back as Docker's container labels do.
func (r *Runtime) AdoptLaunched(t events.TaskReport, spec marathon.TaskSpec) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tasks[t.TaskID] = &t
	r.specs[t.TaskID] = spec
}

// SetExec makes Exec return what f returns (f nil: exit code 0).
func (r *Runtime) SetExec(f func(taskID string, cmd []string) (agent.ExecResult, error)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.exec = f
}

// Task reports one task.
func (r *Runtime) Task(taskID string) (events.TaskReport, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.tasks[taskID]
	if !ok {
		return events.TaskReport{}, false
	}
	return *t, true
}

// Launches counts the tasks Launch created; Kills the tasks Kill removed.
func (r *Runtime) Launches() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.launches
}

// Kills counts the tasks Kill removed.
func (r *Runtime) Kills() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.kills
}

// SetLaunchDelay makes every launch take d, like a container runtime's
// create and start (the scale simulator's start latency).
func (r *Runtime) SetLaunchDelay(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delay = d
}
