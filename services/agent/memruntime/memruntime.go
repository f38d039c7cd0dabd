package memruntime

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/agent"
)

var (
	_ agent.Runtime       = (*Runtime)(nil)
	_ agent.Execer        = (*Runtime)(nil)
	_ agent.CheckRecaller = (*Runtime)(nil)
)

// ErrNoTask is returned by the test controls for a task the runtime does not hold.
var ErrNoTask = errors.New("memruntime: no such task")

// Runtime holds fake tasks. The zero value is not usable; call New.
type Runtime struct {
	mu       sync.Mutex
	tasks    map[string]*events.TaskReport
	specs    map[string]marathon.TaskSpec // what each task was launched (or adopted) with
	exec     func(taskID string, cmd []string) (agent.ExecResult, error)
	down     error
	failWith func(taskID string, spec marathon.TaskSpec) error
	launches int
	kills    int
	seq      int
	hub      agent.EventHub
	now      func() time.Time
	delay    time.Duration // how long a launch takes (SetLaunchDelay)
	slow     time.Duration // how long Ping and List take (SetSlow)
	listSlow time.Duration // how much longer List takes (SetListSlow)
}

// New makes an empty, healthy runtime.
func New() *Runtime {
	return &Runtime{tasks: map[string]*events.TaskReport{}, specs: map[string]marathon.TaskSpec{}, now: time.Now}
}

// Ping reports the fake daemon's health.
func (r *Runtime) Ping(ctx context.Context) (events.DockerHealth, error) {
	if err := r.wait(ctx); err != nil {
		return events.DockerHealth{Healthy: false, Error: err.Error()}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down != nil {
		return events.DockerHealth{Healthy: false, Error: r.down.Error()}, r.down
	}
	return events.DockerHealth{Healthy: true, APIVersion: "mem"}, nil
}

// List reports every task, by task id.
func (r *Runtime) List(ctx context.Context) ([]events.TaskReport, error) {
	r.mu.Lock()
	more := r.listSlow
	r.mu.Unlock()
	if err := sleep(ctx, more); err != nil {
		return nil, err
	}
	if err := r.wait(ctx); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down != nil {
		return nil, r.down
	}
	out := make([]events.TaskReport, 0, len(r.tasks))
	for _, t := range r.tasks {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b events.TaskReport) int { return cmp.Compare(a.TaskID, b.TaskID) })
	return out, nil
}

// Launch starts a fake task: after the launch delay (none by default) it is
// TASK_RUNNING with the spec's host ports.
func (r *Runtime) Launch(ctx context.Context, taskID string, spec marathon.TaskSpec) (events.TaskReport, error) {
	r.mu.Lock()
	delay := r.delay
	r.mu.Unlock()
	if delay > 0 {
		select {
		case <-ctx.Done():
			return events.TaskReport{}, ctx.Err()
		case <-time.After(delay):
		}
	}
	r.mu.Lock()
	if r.down != nil {
		r.mu.Unlock()
		return events.TaskReport{}, r.down
	}
	if t, ok := r.tasks[taskID]; ok {
		r.mu.Unlock()
		return *t, nil
	}
	if r.failWith != nil {
		if err := r.failWith(taskID, spec); err != nil {
			r.mu.Unlock()
			return events.TaskReport{}, err
		}
	}
	r.launches++
	r.seq++
	t := &events.TaskReport{
		TaskID:      taskID,
		AppID:       spec.AppID,
		Version:     spec.Version,
		State:       events.TaskRunning,
		ContainerID: fmt.Sprintf("mem-%d", r.seq),
		HostPorts:   slices.Clone(spec.HostPorts),
		IPAddress:   fmt.Sprintf("10.%d.%d.%d", r.seq>>16&255, r.seq>>8&255, r.seq&255),
		StartedAt:   r.now(),
	}
	r.tasks[taskID] = t
	r.specs[taskID] = spec
	rep := *t
	r.mu.Unlock()
	r.hub.Publish(agent.RuntimeEvent{Task: rep, At: rep.StartedAt})
	return rep, nil
}

// Kill removes a task; a running one is reported TASK_KILLED.
func (r *Runtime) Kill(_ context.Context, taskID string, _ time.Duration) error {
	r.mu.Lock()
	if r.down != nil {
		r.mu.Unlock()
		return r.down
	}
	t, ok := r.tasks[taskID]
	delete(r.tasks, taskID)
	delete(r.specs, taskID)
	if ok {
		r.kills++
	}
	r.mu.Unlock()
	if ok && !t.State.Terminal() {
		rep := *t
		rep.State = events.TaskKilled
		r.hub.Publish(agent.RuntimeEvent{Task: rep, At: r.now()})
	}
	return nil
}

// Events streams task state changes until ctx is done.
func (r *Runtime) Events(ctx context.Context) <-chan agent.RuntimeEvent {
	return r.hub.Subscribe(ctx)
}

// Exec runs a fake command in a task: what SetExec's function says, else
// exit code 0. A task that is not running cannot run commands.
func (r *Runtime) Exec(_ context.Context, taskID string, cmd []string) (agent.ExecResult, error) {
	r.mu.Lock()
	t, ok := r.tasks[taskID]
	down, exec := r.down, r.exec
	r.mu.Unlock()
	switch {
	case down != nil:
		return agent.ExecResult{}, down
	case !ok || t.State != events.TaskRunning:
		return agent.ExecResult{}, fmt.Errorf("%w: %s is not running", ErrNoTask, taskID)
	case exec != nil:
		return exec(taskID, cmd)
	}
	return agent.ExecResult{}, nil
}

// RecallChecks is the check spec of the spec a task was launched or adopted with.
func (r *Runtime) RecallChecks(_ context.Context, taskID string) (agent.CheckSpec, error) {
	r.mu.Lock()
	spec, ok := r.specs[taskID]
	_, exists := r.tasks[taskID]
	down := r.down
	r.mu.Unlock()
	switch {
	case down != nil:
		return agent.CheckSpec{}, down
	case !exists:
		return agent.CheckSpec{}, fmt.Errorf("%w: %s", ErrNoTask, taskID)
	case !ok:
		return agent.CheckSpec{}, nil
	}
	return agent.CheckSpecOf(spec)
}
