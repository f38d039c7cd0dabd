package agent

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/drover/drover/pkg/events"
)

// dirtyTasks are the tasks whose check results changed since they were
// last reported. Marking never blocks; marks of one task coalesce.
type dirtyTasks struct {
	mu     sync.Mutex
	ids    map[string]struct{}
	signal chan struct{}
}

func newDirtyTasks() dirtyTasks {
	return dirtyTasks{ids: map[string]struct{}{}, signal: make(chan struct{}, 1)}
}

// Mark queues a task for a report.
func (d *dirtyTasks) Mark(taskID string) {
	d.mu.Lock()
	d.ids[taskID] = struct{}{}
	d.mu.Unlock()
	select {
	case d.signal <- struct{}{}:
	default:
	}
}

// take empties the set, returning what was in it in a stable order.
func (d *dirtyTasks) take() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]string, 0, len(d.ids))
	for id := range d.ids {
		out = append(out, id)
	}
	clear(d.ids)
	slices.Sort(out)
	return out
}

// runHealthReports publishes a TaskStatus for every task whose check
// results changed, until ctx is done. Probes only mark tasks, so a slow
// JetStream delays reports, never checks.
func (a *Agent) runHealthReports(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.dirty.signal:
		}
		for _, id := range a.dirty.take() {
			task, health, ready, ok := a.checks.report(id)
			if !ok {
				continue // no longer checked
			}
			st := a.statusOf(task, time.Now())
			st.State, st.Message, st.Health, st.Ready = events.TaskRunning, "", health, ready
			if err := a.publishHealth(ctx, st); err != nil && ctx.Err() == nil {
				a.log.Warn("health not reported", "task", id, "error", err)
			}
		}
	}
}

// publishHealth reports the check results of a running task: news even
// though its state is unchanged, but never after a status saying it stopped running.
func (a *Agent) publishHealth(ctx context.Context, st events.TaskStatus) error {
	a.pubMu.Lock()
	defer a.pubMu.Unlock()
	if last, ok := a.tracker.Last(st.TaskID); ok && last.State != events.TaskRunning {
		return nil
	}
	if err := a.sendStatus(ctx, st); err != nil {
		return err
	}
	a.tracker.Record(st, time.Now())
	a.log.Info("task health", "task", st.TaskID, "app", st.AppID, "health", healthSummary(st.Health), "ready", readySummary(st.Ready))
	return nil
}

// healthSummary is what a log line says of a task's health results.
func healthSummary(hs []events.HealthResult) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		switch {
		case h.Alive:
			out[i] = "alive"
		case h.ConsecutiveFailures > 0:
			out[i] = fmt.Sprintf("%d failures: %s", h.ConsecutiveFailures, h.LastFailureCause)
		default:
			out[i] = "unknown"
		}
	}
	return out
}

func readySummary(ready *bool) string {
	if ready == nil {
		return "no checks"
	}
	return fmt.Sprint(*ready)
}
