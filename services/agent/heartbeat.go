package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/drover/drover/pkg/events"
)

// probeTimeout bounds each runtime call of a heartbeat, so a hung daemon
// delays a heartbeat by a fraction of the interval, never skips it.
func (a *Agent) probeTimeout() time.Duration {
	return min(max(a.cfg.HeartbeatInterval/2, 100*time.Millisecond), 2*time.Second)
}

// heartbeat composes the agent's heartbeat now, with the latest check
// results of its running tasks, and has the checker follow the list. When
// the runtime cannot list its tasks, the last list it gave stands and
// Docker is reported unhealthy.
func (a *Agent) heartbeat(ctx context.Context) events.Heartbeat {
	pctx, cancel := context.WithTimeout(ctx, a.probeTimeout())
	health, err := a.rt.Ping(pctx)
	cancel()
	if err != nil {
		health.Healthy = false
		if health.Error == "" {
			health.Error = err.Error()
		}
	} else {
		lctx, cancel := context.WithTimeout(ctx, a.probeTimeout())
		listedAt := time.Now()
		tasks, err := a.rt.List(lctx)
		cancel()
		if err != nil {
			health = events.DockerHealth{Healthy: false, Error: fmt.Sprintf("list tasks: %v", err), APIVersion: health.APIVersion}
		} else {
			a.lastTasks = tasks
			a.checks.Sync(tasks, listedAt)
		}
	}
	tasks := make([]events.TaskReport, len(a.lastTasks))
	for i, t := range a.lastTasks {
		if t.State == events.TaskRunning {
			t.Health, t.Ready = a.checks.Snapshot(t.TaskID)
		}
		tasks[i] = t
	}
	return events.Heartbeat{
		V:          events.Version,
		AgentID:    a.cfg.AgentID,
		Hostname:   a.cfg.Hostname,
		Address:    a.cfg.Address,
		Attributes: a.cfg.Attributes,
		Resources:  a.cfg.Resources,
		Policy:     a.cfg.Policy,
		Docker:     health,
		Tasks:      tasks,
		Epoch:      a.fence.Highest(),
		StartedAt:  a.startedAt,
		SentAt:     time.Now(),
		Refused:    a.refusals(),
	}
}

// refusals are the heartbeat's counts of refused commands; nil while none.
func (a *Agent) refusals() *events.CommandRefusals {
	r := events.CommandRefusals{Malformed: a.stats.malformed.Load(), Stale: a.stats.refused.Load()}
	if r == (events.CommandRefusals{}) {
		return nil
	}
	return &r
}

// runHeartbeats publishes a heartbeat at once and then every interval, or
// sooner when asked (beatSoon), until ctx is done. Core NATS publishing buffers, so a slow server never blocks it.
func (a *Agent) runHeartbeats(ctx context.Context) {
	t := time.NewTicker(a.cfg.HeartbeatInterval)
	defer t.Stop()
	wasHealthy := true
	for {
		hb := a.heartbeat(ctx)
		if ctx.Err() != nil {
			return
		}
		if hb.Docker.Healthy != wasHealthy {
			if hb.Docker.Healthy {
				a.log.Info("runtime healthy again")
			} else {
				a.log.Warn("runtime unhealthy", "error", hb.Docker.Error)
			}
			wasHealthy = hb.Docker.Healthy
		}
		if data, err := events.Encode(hb); err != nil {
			a.log.Error("encode heartbeat", "error", err)
		} else if err := a.nc.Publish(events.AgentHeartbeat(a.cfg.AgentID), data); err != nil {
			a.log.Warn("publish heartbeat", "error", err)
		} else {
			a.stats.heartbeats.Add(1)
		}
		a.tracker.Prune(time.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-a.beatNow:
		}
	}
}

// beatSoon asks for a heartbeat at once, for news the scheduler should not
// wait an interval for (its Docker daemon gone).
func (a *Agent) beatSoon() {
	select {
	case a.beatNow <- struct{}{}:
	default:
	}
}
