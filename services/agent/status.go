package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	statusAttempts       = 4
	statusAttemptTimeout = 2 * time.Second
)

// statusOf turns a runtime's task report into a status of this agent.
func (a *Agent) statusOf(r events.TaskReport, at time.Time) events.TaskStatus {
	return events.TaskStatus{
		V:           events.Version,
		AgentID:     a.cfg.AgentID,
		TaskID:      r.TaskID,
		AppID:       r.AppID,
		Version:     r.Version,
		State:       r.State,
		Message:     r.Message,
		ContainerID: r.ContainerID,
		HostPorts:   r.HostPorts,
		IPAddress:   r.IPAddress,
		At:          at,
	}
}

// publishStatus reports a task state change on the agent's status subject,
// unless it is no news (see tracker); force reports it regardless and does
// not record it (a refusal says nothing new about the task). A running
// task's status carries its check results; an ended task is no longer
// checked. It waits for JetStream's acknowledgement, retrying a few times.
func (a *Agent) publishStatus(ctx context.Context, st events.TaskStatus, force bool) error {
	if st.State.Terminal() && !force {
		a.checks.Forget(st.TaskID)
	}
	if st.State == events.TaskRunning && st.Health == nil && st.Ready == nil {
		st.Health, st.Ready = a.checks.Snapshot(st.TaskID)
	}
	a.pubMu.Lock()
	defer a.pubMu.Unlock()
	if !force && !a.tracker.ShouldPublish(st.TaskID, st.State) {
		return nil
	}
	if st.State.Terminal() {
		// The heartbeat carries the news too, by core NATS: it reaches the
		// scheduler while the status stream or its consumer elects a leader.
		a.beatSoon()
	}
	if err := a.sendStatus(ctx, st); err != nil {
		return err
	}
	if !force {
		a.tracker.Record(st, time.Now())
		if st.State.Terminal() {
			a.forgetGrace(st.TaskID)
		}
	}
	a.log.Info("task status", "task", st.TaskID, "app", st.AppID, "state", st.State, "message", st.Message)
	return nil
}

// sendStatus publishes st and waits for JetStream's acknowledgement,
// retrying a few times. The caller holds pubMu.
func (a *Agent) sendStatus(ctx context.Context, st events.TaskStatus) error {
	if st.At.IsZero() {
		st.At = time.Now()
	}
	data, err := events.Encode(st)
	if err != nil {
		return err
	}
	msgID := fmt.Sprintf("%s.%s.%d", st.TaskID, st.State, st.At.UnixNano())
	subject := events.AgentStatus(a.cfg.AgentID)
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		pctx, cancel := context.WithTimeout(ctx, statusAttemptTimeout)
		_, err = a.js.Publish(pctx, subject, data, jetstream.WithMsgID(msgID))
		cancel()
		if err == nil {
			break
		}
		if attempt == statusAttempts || ctx.Err() != nil {
			a.stats.statusErrors.Add(1)
			return fmt.Errorf("agent: publish status %s %s: %w", st.TaskID, st.State, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff *= 2
	}
	a.stats.statuses.Add(1)
	return nil
}

// runEvents reports the runtime's task state changes until ctx is done.
func (a *Agent) runEvents(ctx context.Context) {
	for ev := range a.rt.Events(ctx) {
		at := ev.At
		if at.IsZero() {
			at = time.Now()
		}
		if err := a.publishStatus(ctx, a.statusOf(ev.Task, at), false); err != nil && ctx.Err() == nil {
			a.log.Warn("runtime event not reported", "task", ev.Task.TaskID, "state", ev.Task.State, "error", err)
		}
		switch {
		case ev.Task.State == events.TaskRunning:
			a.checks.Start(ev.Task)
		case !ev.Task.State.Terminal():
			a.checks.Stop(ev.Task.TaskID) // staging again, or being killed
		}
	}
}
