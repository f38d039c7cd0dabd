package docker

import (
	"context"
	"fmt"
	"strconv"
	"time"

	dockerevents "github.com/docker/docker/api/types/events"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/services/agent"
)

// Events streams this agent's task state changes until ctx is done. The
// first call starts watching the daemon, until Close: its container events
// (start, die, oom, destroy) become task states, and after every
// (re)connection a list of the containers reports what changed unseen, so
// containers found running at start are reported (adopted).
func (r *Runtime) Events(ctx context.Context) <-chan agent.RuntimeEvent {
	ch := r.hub.Subscribe(ctx)
	r.watch.Do(func() {
		r.wg.Add(1)
		go func() { defer r.wg.Done(); r.watchEvents(r.ctx) }()
	})
	return ch
}

// watchEvents follows the daemon's events, reconnecting with backoff.
func (r *Runtime) watchEvents(ctx context.Context) {
	const initial = 250 * time.Millisecond
	backoff := initial
	for ctx.Err() == nil {
		connected, err := r.streamEvents(ctx)
		if ctx.Err() != nil {
			return
		}
		if connected {
			backoff = initial
		}
		r.log.Warn("docker events interrupted; reconnecting", "error", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, r.cfg.EventsBackoffMax)
	}
}

// streamEvents subscribes to the daemon's events of this agent's containers,
// resynchronises, then handles events until the stream fails.
func (r *Runtime) streamEvents(ctx context.Context) (connected bool, err error) {
	if err := r.ready(ctx); err != nil {
		return false, fmt.Errorf("docker: %w", err)
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	f := r.agentFilter()
	f.Add("type", string(dockerevents.ContainerEventType))
	// Since replays what happens between the subscription and the resync.
	since := time.Now().Add(-time.Second)
	msgs, errs := r.cli.Events(sctx, dockerevents.ListOptions{
		Filters: f,
		Since:   strconv.FormatInt(since.Unix(), 10) + "." + fmt.Sprintf("%09d", since.Nanosecond()),
	})
	if err := r.resync(ctx); err != nil {
		return false, err
	}
	for {
		select {
		case <-ctx.Done():
			return true, nil
		case err := <-errs:
			return true, fmt.Errorf("docker: events: %w", err)
		case m := <-msgs:
			r.handleEvent(ctx, m)
		}
	}
}

// resync reports every container's state, and tasks whose containers
// vanished while the runtime was not looking as lost.
func (r *Runtime) resync(ctx context.Context) error {
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	reps, err := r.List(lctx)
	if err != nil {
		return err
	}
	now := time.Now()
	present := map[string]bool{}
	for _, rep := range reps {
		present[rep.TaskID] = true
		r.emit(rep, now)
	}
	r.mu.Lock()
	var lost []string
	for id, k := range r.known {
		if !present[id] && !k.state.Terminal() && !r.killing[id] {
			lost = append(lost, id)
		}
	}
	r.mu.Unlock()
	for _, id := range lost {
		r.emit(events.TaskReport{TaskID: id, State: events.TaskLost, Message: "container disappeared"}, now)
	}
	return nil
}

// handleEvent turns one container event into a task state change.
func (r *Runtime) handleEvent(ctx context.Context, m dockerevents.Message) {
	attrs := m.Actor.Attributes
	taskID := attrs[LabelTaskID]
	if taskID == "" {
		return
	}
	at := time.Unix(0, m.TimeNano)
	if m.TimeNano == 0 {
		at = time.Now()
	}
	switch m.Action {
	case dockerevents.ActionStart:
		ictx, cancel := context.WithTimeout(ctx, 10*time.Second)
		info, err := r.cli.ContainerInspect(ictx, m.Actor.ID)
		cancel()
		if err != nil {
			if !isNotFound(err) {
				r.log.Warn("inspect started container", "task", taskID, "error", err)
			}
			return
		}
		r.emit(r.report(info), at)
	case dockerevents.ActionOOM:
		r.mu.Lock()
		r.oom[taskID] = true
		r.mu.Unlock()
	case dockerevents.ActionDie:
		r.mu.Lock()
		killing, oom := r.killing[taskID], r.oom[taskID]
		r.mu.Unlock()
		state, msg := exitState(exitCodeOf(attrs), oom, killing, "")
		r.emit(events.TaskReport{
			TaskID: taskID, AppID: attrs[LabelAppID], Version: attrs[LabelAppVersion],
			ContainerID: m.Actor.ID, State: state, Message: msg,
		}, at)
	case dockerevents.ActionDestroy:
		r.mu.Lock()
		delete(r.oom, taskID)
		delete(r.cache, m.Actor.ID)
		r.mu.Unlock()
	}
}
