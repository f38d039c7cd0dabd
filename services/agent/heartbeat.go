package agent

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/drover/drover/pkg/events"
)

// listTimeout bounds one listing of the runtime's tasks: a loaded daemon
// may take seconds to inspect containers that are starting.
func (a *Agent) listTimeout() time.Duration { return 2 * a.cfg.RuntimeDownAfter }

// taskList is the runtime's latest list of tasks, as the probe loop keeps it
// for the heartbeats. A runtime that lists its host commands apart
// (splitLister) keeps them in host, listed whatever Docker's state.
type taskList struct {
	mu           sync.Mutex
	tasks        []events.TaskReport
	listedAt     time.Time // zero until the first list
	stale        bool      // the latest attempt to list failed
	host         []events.TaskReport
	hostListedAt time.Time // zero until the first list of host commands
}

func (l *taskList) set(tasks []events.TaskReport, at time.Time) {
	l.mu.Lock()
	l.tasks, l.listedAt, l.stale = tasks, at, false
	l.mu.Unlock()
}

func (l *taskList) setHost(tasks []events.TaskReport, at time.Time) {
	l.mu.Lock()
	l.host, l.hostListedAt = tasks, at
	l.mu.Unlock()
}

// hostListed is when the host commands were last listed; zero if never.
func (l *taskList) hostListed() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.hostListedAt
}

func (l *taskList) failed() {
	l.mu.Lock()
	l.stale = true
	l.mu.Unlock()
}

// get returns the list: the containers' and the host commands' together.
func (l *taskList) get() ([]events.TaskReport, time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	tasks := l.tasks
	if len(l.host) > 0 {
		tasks = append(slices.Clip(tasks), l.host...)
		slices.SortFunc(tasks, func(a, b events.TaskReport) int { return cmp.Compare(a.TaskID, b.TaskID) })
	}
	return tasks, l.listedAt, l.stale || l.listedAt.IsZero()
}

// splitLister is a runtime that lists its containers and its host commands
// apart (Routed): the host commands' list needs no daemon.
type splitLister interface {
	ListContainers(ctx context.Context) ([]events.TaskReport, error)
	ListHost(ctx context.Context) (tasks []events.TaskReport, ok bool, err error)
}

// runProbes asks the runtime about its daemon and its tasks every heartbeat
// interval, one call at a time, until ctx is done. Heartbeats never wait for
// it: a slow daemon makes the list older, never the heartbeat later.
func (a *Agent) runProbes(ctx context.Context) {
	t := time.NewTicker(a.cfg.HeartbeatInterval)
	defer t.Stop()
	asked := false
	for {
		wasHealthy := a.judge.verdict(time.Now()).Healthy
		a.probe(ctx)
		if ctx.Err() != nil {
			return
		}
		if asked || a.judge.verdict(time.Now()).Healthy != wasHealthy {
			select {
			case a.beatNow <- struct{}{}:
			default:
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			asked = false
		case <-a.probeNow:
			asked = true
		}
	}
}

// probe pings the runtime and, when it answers, lists its tasks: the ping
// tells the judge whether the daemon is there, the listing whether it is
// slow, and the checker follows the list. Host commands, which need no
// daemon, are listed first, whatever the daemon does.
func (a *Agent) probe(ctx context.Context) {
	split, _ := a.rt.(splitLister)
	var hostAt time.Time // when the host commands were listed in this probe
	if split != nil {
		var runs bool
		if hostAt, runs = a.probeHost(ctx, split); !runs {
			split = nil
		}
	}
	began := time.Now()
	a.judge.begin(began)
	pctx, cancel := context.WithTimeout(ctx, a.cfg.RuntimeDownAfter)
	health, err := a.rt.Ping(pctx)
	cancel()
	if ctx.Err() != nil {
		return
	}
	a.judge.observe(began, time.Now(), err)
	if err != nil {
		a.tasks.failed()
		if !hostAt.IsZero() {
			a.checkHost() // host commands started meanwhile are checked
		}
		return
	}
	a.judge.setAPIVersion(health.APIVersion)
	began = time.Now()
	list := a.rt.List
	if split != nil {
		list = split.ListContainers
	}
	tasks, err := a.listWatched(ctx, list)
	if ctx.Err() != nil {
		return
	}
	a.judge.observeWork(began, time.Now(), err)
	if err != nil {
		a.tasks.failed()
		a.log.Debug("list tasks", "error", err)
		return
	}
	if split != nil {
		if hostAt.IsZero() {
			a.tasks.failed() // the whole list is evidence only when whole
			return
		}
		began = hostAt // the earlier of the two lists
	}
	a.tasks.set(tasks, began)
	all, _, _ := a.tasks.get()
	a.checks.Sync(all, began)
}

// listWatched lists the runtime's tasks, bounded by listTimeout, and while
// the listing goes unanswered pings the daemon beside it every heartbeat
// interval: a daemon that stalls during a listing is found silent by a
// ping's bound (RuntimeDownAfter), not after the listing's longer one too.
// A slow listing of a daemon that answers its pings stays only slow.
func (a *Agent) listWatched(ctx context.Context, list func(context.Context) ([]events.TaskReport, error)) ([]events.TaskReport, error) {
	lctx, cancel := context.WithTimeout(ctx, a.listTimeout())
	defer cancel()
	type listed struct {
		tasks []events.TaskReport
		err   error
	}
	done := make(chan listed, 1)
	go func() {
		tasks, err := list(lctx)
		done <- listed{tasks, err}
	}()
	t := time.NewTicker(a.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case r := <-done:
			return r.tasks, r.err
		case <-t.C:
			began := time.Now()
			a.judge.begin(began)
			pctx, pcancel := context.WithTimeout(ctx, a.cfg.RuntimeDownAfter)
			pinged := make(chan error, 1)
			go func() { _, err := a.rt.Ping(pctx); pinged <- err }()
			select {
			case r := <-done:
				// The listing's answer is the daemon's: the ping beside it
				// is no longer needed to tell it is there.
				pcancel()
				<-pinged
				a.judge.observe(began, time.Now(), nil)
				return r.tasks, r.err
			case err := <-pinged:
				pcancel()
				if ctx.Err() == nil {
					a.judge.observe(began, time.Now(), err)
				}
			}
		}
	}
}

// checkHost starts checking the running host commands of the latest list,
// while the containers cannot be listed.
func (a *Agent) checkHost() {
	a.tasks.mu.Lock()
	host := slices.Clone(a.tasks.host)
	a.tasks.mu.Unlock()
	for _, t := range host {
		if t.State == events.TaskRunning {
			a.checks.Start(t)
		}
	}
}

// probeHost lists the host commands: when it did (zero if it failed), and
// whether the runtime runs any.
func (a *Agent) probeHost(ctx context.Context, split splitLister) (time.Time, bool) {
	began := time.Now()
	lctx, cancel := context.WithTimeout(ctx, a.listTimeout())
	tasks, ok, err := split.ListHost(lctx)
	cancel()
	switch {
	case !ok:
		return time.Time{}, false
	case err != nil:
		a.log.Debug("list host commands", "error", err)
		return time.Time{}, true
	}
	a.tasks.setHost(tasks, began)
	return began, true
}

// heartbeat composes the agent's heartbeat now from the judge's verdict and
// the latest list of tasks, with the latest check results of its running
// tasks. When the runtime could not list its tasks lately, the last list it
// gave goes out marked stale.
func (a *Agent) heartbeat() events.Heartbeat {
	now := time.Now()
	listed, listedAt, stale := a.tasks.get()
	tasks := make([]events.TaskReport, len(listed))
	for i, t := range listed {
		if t.State == events.TaskRunning {
			t.Health, t.Ready = a.checks.Snapshot(t.TaskID)
		}
		tasks[i] = t
	}
	return events.Heartbeat{
		V:                 events.Version,
		AgentID:           a.cfg.AgentID,
		Hostname:          a.cfg.Hostname,
		Address:           a.cfg.Address,
		Attributes:        a.cfg.Attributes,
		Resources:         a.cfg.Resources,
		Policy:            a.cfg.Policy,
		Docker:            a.judge.verdict(now),
		Tasks:             tasks,
		TasksListedAt:     listedAt,
		TasksStale:        stale,
		HostTasksListedAt: a.tasks.hostListed(),
		Epoch:             a.fence.Highest(),
		StartedAt:         a.startedAt,
		SentAt:            now,
		Refused:           a.refusals(),
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

// runtimeState names a verdict for the log.
func runtimeState(h events.DockerHealth) string {
	switch {
	case !h.Healthy:
		return "down"
	case h.Degraded:
		return "degraded"
	}
	return "healthy"
}

// runHeartbeats publishes a heartbeat at once and then every interval, or
// sooner when asked (beatSoon), until ctx is done. Core NATS publishing
// buffers, so a slow server never blocks it; nothing here waits on the runtime.
func (a *Agent) runHeartbeats(ctx context.Context) {
	t := time.NewTicker(a.cfg.HeartbeatInterval)
	defer t.Stop()
	was := "healthy"
	for {
		hb := a.heartbeat()
		if state := runtimeState(hb.Docker); state != was {
			log := a.log.Warn
			if state == "healthy" {
				log = a.log.Info
			}
			log(fmt.Sprintf("runtime %s", state), "was", was, "error", hb.Docker.Error)
			was = state
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

// beatSoon asks for a probe of the runtime at once and a heartbeat after
// it, for news the scheduler should not wait an interval for (a task ended,
// its Docker daemon gone).
func (a *Agent) beatSoon() {
	select {
	case a.probeNow <- struct{}{}:
	default:
	}
}
