package scheduler

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/drover/drover/internal/natsutil"
	"github.com/drover/drover/pkg/events"
	"github.com/nats-io/nats.go/jetstream"
)

// lead is one term of leadership: load the recorded instances, take the
// agents' status reports, and reconcile until the term ends.
func (s *Scheduler) lead(t term) {
	ctx := t.ctx
	began := time.Now()
	queued, err := s.loadQueue(ctx)
	queueTook := time.Since(began)
	if err != nil {
		// Not fatal: entries a previous leader left are cleared once
		// their apps are written again.
		s.logger.Warn("leader: cannot read the queue bucket", "error", err)
	}
	// The term starts the moment the instances are read, before any later
	// record is applied (see followInstances).
	n, err := s.followInstances(ctx, t.Epoch, func(instances map[string]*events.Instance) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if ctx.Err() != nil {
			return // the term ended while loading: it must not start now
		}
		s.instances = instances
		s.queue = queued
		s.killSent = map[string]killTry{}
		s.epoch = t.Epoch
		s.outbox = nil // nothing a previous term decided may land now
		s.lastPass = time.Time{}
	})
	// Whatever happened, this term ends here or when lead returns.
	defer func() {
		s.mu.Lock()
		s.epoch = 0
		s.outbox = nil
		s.mu.Unlock()
	}()
	if err != nil {
		s.logger.Error("leader: cannot load instances, giving up this term", "error", err)
		return
	}
	s.logger.Info("leader: state loaded", "epoch", t.Epoch, "instances", n, "queued", len(queued), "took", time.Since(began), "queue_took", queueTook)
	s.resendLaunches(ctx)
	select {
	case <-s.abdicate: // a request to a previous term
	default:
	}

	// The consumers may be unavailable for a while (their stream electing a
	// leader): keep trying, and reconcile from heartbeats meanwhile.
	defer s.keepConsuming(ctx, "status", s.consumeStatus)()
	defer s.keepConsuming(ctx, "requests", s.consumeRequests)()

	tick := time.NewTicker(s.cfg.ReconcileInterval)
	defer tick.Stop()
	for {
		s.reconcile(ctx, t.Epoch)
		select {
		case <-ctx.Done():
			return
		case <-s.abdicate:
			s.logger.Info("abdicating on request", "epoch", t.Epoch)
			return
		case <-tick.C:
		case <-s.trigger:
		}
	}
}

// loadQueue reads the queue bucket's keys, so entries a previous leader left
// are cleared when their apps no longer wait.
func (s *Scheduler) loadQueue(ctx context.Context) (map[string]events.QueueEntry, error) {
	out := map[string]events.QueueEntry{}
	ctx, cancel := context.WithTimeout(ctx, setupTimeout) // not worth a slower start
	defer cancel()
	lister, err := s.bus.Queue.ListKeys(ctx)
	if err != nil {
		return out, fmt.Errorf("list queue: %w", err)
	}
	for k := range lister.Keys() {
		id := events.AppIDFromKey(k)
		out[id] = events.QueueEntry{AppID: id}
	}
	return out, nil
}

// consumeRequests takes the api's requests while leading.
func (s *Scheduler) consumeRequests(ctx context.Context) (func(), error) {
	cctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	cons, err := s.bus.JS.CreateOrUpdateConsumer(cctx, events.StreamRequests, jetstream.ConsumerConfig{
		Durable:       events.RequestsConsumer,
		FilterSubject: events.SchedulerRequests,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       10 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("requests consumer: %w", err)
	}
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		req, err := events.Decode[events.SchedulerRequest](msg.Data())
		if err != nil {
			s.logger.Warn("terminating bad scheduler request", "error", err, "malformed_total", s.malformed.Add(1))
			_ = msg.Term()
			return
		}
		if ctx.Err() != nil {
			_ = msg.Nak()
			return
		}
		s.applyRequest(ctx, req)
		s.flush(ctx)
		_ = msg.Ack()
	})
	if err != nil {
		return nil, fmt.Errorf("consume requests: %w", err)
	}
	return cc.Stop, nil
}

// applyRequest does what the api asked.
func (s *Scheduler) applyRequest(ctx context.Context, req events.SchedulerRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	switch req.Kind {
	case events.RequestKillTasks:
		for _, id := range req.TaskIDs {
			if inst, ok := s.instances[id]; ok {
				s.kill(ctx, s.epoch, inst, now)
			}
		}
		s.poke()
	case events.RequestResetDelay:
		if st, ok := s.apps[req.AppID]; ok {
			st.delay, st.notBefore = 0, time.Time{}
			s.poke()
		}
	case events.RequestAbdicate:
		s.abdicatedUntil = now.Add(2 * s.cfg.LeaderTTL)
		select {
		case s.abdicate <- struct{}{}:
		default:
		}
	default:
		s.logger.Warn("ignoring unknown scheduler request", "kind", req.Kind, "id", req.ID, "malformed_total", s.malformed.Add(1))
	}
}

// setupTimeout bounds a request that sets up a consumer: one made just as the
// connection fails over to another server gets no answer, and should cost a
// retry, not the JetStream timeout (5 s). A new leader tries to read the
// instances bucket for loadTimeout before it gives its term up.
const (
	setupTimeout = time.Second
	loadTimeout  = 10 * time.Second
)

// keepConsuming starts a consumer, retrying every second until it starts or
// ctx ends; the function it returns stops it.
func (s *Scheduler) keepConsuming(parent context.Context, what string, start func(context.Context) (func(), error)) func() {
	ctx, cancel := context.WithCancel(parent)
	var mu sync.Mutex
	var stop func()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			st, err := start(ctx)
			if err == nil {
				mu.Lock()
				stop = st
				mu.Unlock()
				return
			}
			s.logger.Warn("leader: cannot consume yet, retrying", "consumer", what, "error", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}()
	return func() {
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		if stop != nil {
			stop()
		}
	}
}

// resendLaunches sends again the launch of every task a previous term
// recorded as staging: that leader may have died between recording the task
// and sending its command, and the agent would never start it (the task
// would wait out the staging timeout). A launch is idempotent on the agent:
// a task id runs once, and a task already there is reported as it is.
func (s *Scheduler) resendLaunches(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, inst := range s.instances {
		st, ok := s.apps[inst.AppID]
		if inst.State != events.TaskStaging || !ok || appVersion(st.rec.App) != inst.Version {
			continue
		}
		app := st.rec.App
		s.send(ctx, inst.AgentID, events.Command{
			Epoch: s.epoch, Kind: events.CommandLaunch, TaskID: inst.TaskID, AppID: app.ID,
			Launch: &events.LaunchSpec{App: app, HostPorts: inst.HostPorts, Env: taskEnv(app, inst.TaskID, inst.Host, inst.HostPorts)},
		})
		s.logger.Info("launch sent again", "app", app.ID, "task", inst.TaskID, "agent", inst.AgentID)
	}
}

// followInstances reads every recorded instance and hands them to start,
// which starts the term; then it follows the bucket for the rest of the term: a deposed leader's write can land after this
// leader read the bucket (a publish in flight as the old leader stopped), and
// would otherwise stay, a task shown STAGING forever or a state gone stale.
// Setting the watch up is tried for setupTimeout at a time, for loadTimeout.
func (s *Scheduler) followInstances(ctx context.Context, epoch uint64, start func(map[string]*events.Instance)) (int, error) {
	loaded := map[string]*events.Instance{}
	ready := make(chan struct{})
	loading := true // only the follower's goroutine touches loaded and loading
	f := natsutil.KVFollow{
		KV: s.bus.Instances, Logger: s.logger, SetupTimeout: setupTimeout,
		Apply: func(e jetstream.KeyValueEntry) {
			if !loading {
				s.strayInstance(ctx, epoch, e)
				return
			}
			if e.Operation() != jetstream.KeyValuePut {
				delete(loaded, e.Key()) // the key is the task id
				return
			}
			inst, err := events.Decode[events.Instance](e.Value())
			if err != nil {
				s.logger.Error("ignoring undecodable instance", "key", e.Key(), "error", err)
				return
			}
			loaded[inst.TaskID] = &inst
		},
		Loaded: func(uint64) {
			if loading {
				loading = false
				start(loaded)
				close(ready)
			}
		},
	}
	giveUp := time.Now().Add(loadTimeout)
	for {
		_, err := natsutil.FollowKV(ctx, f)
		if err == nil {
			break
		}
		if ctx.Err() != nil || time.Now().After(giveUp) {
			return 0, fmt.Errorf("watch instances: %w", err)
		}
		s.logger.Warn("leader: cannot watch instances yet, retrying", "error", err)
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-ready:
		return len(loaded), nil
	}
}

// strayInstance handles an instance record written after this leader read
// the bucket. Its own writes carry its epoch; any other is a deposed
// leader's: this leader's record of the task replaces it, or, for a task it
// does not know (a launch decided as the old leader went down), it is
// deleted, and killUnknown kills the task should it run.
func (s *Scheduler) strayInstance(ctx context.Context, epoch uint64, e jetstream.KeyValueEntry) {
	if e.Operation() != jetstream.KeyValuePut {
		return // a delete: if the task still runs, settleInstances sees it gone or not
	}
	inst, err := events.Decode[events.Instance](e.Value())
	if err != nil || inst.Epoch == epoch {
		return // this term's own write (most of what comes back): no lock taken
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.epoch != epoch {
		return // the term ended
	}
	if known, ok := s.instances[inst.TaskID]; ok {
		s.logger.Info("restoring an instance record a previous leader overwrote", "task", inst.TaskID, "epoch", inst.Epoch)
		s.putInstance(ctx, known)
	} else {
		s.logger.Warn("removing an instance record a previous leader wrote late", "task", inst.TaskID, "app", inst.AppID, "state", inst.State, "epoch", inst.Epoch)
		s.queueDelete(s.bus.Instances, e.Key())
	}
	s.poke()
}

// consumeStatus takes the agents' task status reports while leading.
func (s *Scheduler) consumeStatus(ctx context.Context) (func(), error) {
	cctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	cons, err := s.bus.JS.CreateOrUpdateConsumer(cctx, events.StreamStatus, jetstream.ConsumerConfig{
		Durable:       events.StatusConsumer,
		FilterSubject: events.AgentStatusAll,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       10 * time.Second,
		MaxAckPending: 10_000,
	})
	if err != nil {
		return nil, fmt.Errorf("status consumer: %w", err)
	}
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		agentID, err := events.ParseAgentStatus(msg.Subject())
		if err != nil {
			s.logger.Warn("status on a malformed subject", "subject", msg.Subject(), "malformed_total", s.malformed.Add(1))
			_ = msg.Term()
			return
		}
		st, err := events.Decode[events.TaskStatus](msg.Data())
		if err != nil || st.AgentID != agentID {
			s.logger.Warn("terminating bad status message", "agent", agentID, "error", err, "malformed_total", s.malformed.Add(1))
			_ = msg.Term()
			return
		}
		if ctx.Err() != nil {
			_ = msg.Nak() // deposed: leave it to the next leader
			return
		}
		s.mu.Lock()
		s.applyStatus(ctx, st)
		s.mu.Unlock()
		s.flush(ctx)
		_ = msg.Ack()
	})
	if err != nil {
		return nil, fmt.Errorf("consume status: %w", err)
	}
	return cc.Stop, nil
}

// applyStatus records an agent's report of a task. Reports of tasks the
// scheduler does not know are left to heartbeat reconciliation, which kills
// such containers. Callers hold s.mu.
func (s *Scheduler) applyStatus(ctx context.Context, st events.TaskStatus) {
	inst, ok := s.instances[st.TaskID]
	if !ok || inst.AgentID != st.AgentID {
		return
	}
	now := s.now()
	switch {
	case st.State.Terminal():
		s.finish(ctx, inst, st.State, st.Message, now)
		s.poke()
	case st.State == events.TaskRunning && inst.State == events.TaskRunning && (st.Health != nil || st.Ready != nil):
		s.applyHealth(ctx, inst, st, now)
	case st.State == events.TaskRunning && inst.State != events.TaskRunning && inst.State != events.TaskKilling:
		inst.State = events.TaskRunning
		inst.StartedAt = now
		if !st.At.IsZero() && st.At.Before(now) {
			inst.StartedAt = st.At
		}
		inst.HostPorts = firstNonEmpty(st.HostPorts, inst.HostPorts)
		inst.IPAddress = st.IPAddress
		inst.Message = st.Message
		inst.UpdatedAt = now
		inst.UnreachableSince = time.Time{}
		if st.Health != nil || st.Ready != nil {
			inst.Health, inst.Ready = st.Health, st.Ready
		}
		s.putInstance(ctx, inst)
		s.statusEvent(inst, st.Message)
		s.poke()
	}
}

// applyHealth records a running task's health and readiness, tells the world
// when its health changes, and kills it once a check has failed
// maxConsecutiveFailures times in a row (the agent does not count failures
// within the grace period). Callers hold s.mu.
func (s *Scheduler) applyHealth(ctx context.Context, inst *events.Instance, st events.TaskStatus, now time.Time) {
	was := inst.Healthy()
	if st.Health != nil {
		inst.Health = st.Health
	}
	if st.Ready != nil {
		inst.Ready = st.Ready
	}
	inst.UpdatedAt = now
	s.putInstance(ctx, inst)
	if is := inst.Healthy(); is != nil && (was == nil || *was != *is) {
		s.publishEvent(events.EventHealthStatusChanged, events.HealthStatusChangedEvent{
			EventType: events.EventHealthStatusChanged, Timestamp: now.UTC().Format(events.TimeFormat),
			AppID: inst.AppID, TaskID: inst.TaskID, InstanceID: inst.TaskID, Version: inst.Version, Alive: *is,
		})
	}
	s.poke()
	app, ok := s.apps[inst.AppID]
	if !ok {
		return
	}
	for _, h := range inst.Health {
		if h.Index < 0 || h.Index >= len(app.rec.App.HealthChecks) {
			continue
		}
		limit := app.rec.App.HealthChecks[h.Index].MaxConsecutiveFailures
		if limit > 0 && !h.Alive && h.ConsecutiveFailures >= limit {
			s.logger.Info("killing unhealthy task", "app", inst.AppID, "task", inst.TaskID, "failures", h.ConsecutiveFailures, "cause", h.LastFailureCause)
			s.publishEvent(events.EventUnhealthyInstanceKill, events.UnhealthyInstanceKillEvent{
				EventType: events.EventUnhealthyInstanceKill, Timestamp: now.UTC().Format(events.TimeFormat),
				AppID: inst.AppID, TaskID: inst.TaskID, InstanceID: inst.TaskID, Version: inst.Version,
				Reason: h.LastFailureCause, Host: inst.Host, SlaveID: inst.AgentID,
			})
			s.kill(ctx, s.epoch, inst, now)
			return
		}
	}
}

func firstNonEmpty(a, b []int) []int {
	if len(a) > 0 {
		return a
	}
	return b
}
