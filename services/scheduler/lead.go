package scheduler

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/drover/drover/internal/natsutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/services/scheduler/decide"
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
		s.killSent = map[string]decide.KillTry{}
		s.epoch = t.Epoch
		s.outbox = nil // nothing a previous term decided may land now
		s.view.LastPass = time.Time{}
		for key, ds := range s.deployments {
			ds.Finishing = false // a previous term's delete may not have landed: judge again
			s.deployments[key] = ds
		}
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
	// Keep NATS leaders off this master for the term (raftplace.go).
	defer s.newRaftPlacer().start(ctx)()
	s.resendLaunches()
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
		s.reconcile(ctx)
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
		s.applyRequest(req)
		s.flush(ctx)
		_ = msg.Ack()
	})
	if err != nil {
		return nil, fmt.Errorf("consume requests: %w", err)
	}
	return cc.Stop, nil
}

// applyRequest does what the api asked.
func (s *Scheduler) applyRequest(req events.SchedulerRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	switch req.Kind {
	case events.RequestKillTasks:
		s.apply(decide.KillTasks(s.state(), req.TaskIDs, s.logger))
	case events.RequestResetDelay:
		if st, ok := s.apps[req.AppID]; ok {
			st.Backoff.Delay, st.Backoff.NotBefore = 0, time.Time{}
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
// recorded as staging (decide.Relaunch).
func (s *Scheduler) resendLaunches() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apply(decide.Relaunch(s.state(), s.logger))
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
				s.strayInstance(epoch, e)
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
// the bucket (decide.Stray). Its own writes carry its epoch: most of what
// comes back, and no lock is taken for them.
func (s *Scheduler) strayInstance(epoch uint64, e jetstream.KeyValueEntry) {
	if e.Operation() != jetstream.KeyValuePut {
		return // a delete: if the task still runs, the pass sees it gone or not
	}
	inst, err := events.Decode[events.Instance](e.Value())
	if err != nil || inst.Epoch == epoch {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.epoch != epoch {
		return // the term ended
	}
	s.apply(decide.Stray(s.state(), e.Key(), inst, s.logger))
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
	acks := startFlushThenAck(ctx, s.flush)
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
		s.apply(decide.Status(s.state(), st, s.logger))
		s.mu.Unlock()
		acks.add(msg)
	})
	if err != nil {
		acks.stop()
		return nil, fmt.Errorf("consume status: %w", err)
	}
	return func() { cc.Stop(); acks.stop() }, nil
}

// flushThenAck acknowledges status reports once the writes they caused
// are flushed. The consumer takes the next reports in while the flush of
// the ones before is under way, so a storm's thousand reports cost a few
// flushes, not a thousand round trips one after the other (1.3 s between
// the last agent's report and the api showing it, at 10,000 instances).
// What is not acknowledged when the term ends is redelivered to the next
// leader.
type flushThenAck struct {
	mu      sync.Mutex
	msgs    []jetstream.Msg
	stopped bool
	wake    chan struct{}
	quit    context.CancelFunc
	done    chan struct{}
}

func startFlushThenAck(ctx context.Context, flush func(context.Context)) *flushThenAck {
	ctx, quit := context.WithCancel(ctx)
	f := &flushThenAck{wake: make(chan struct{}, 1), quit: quit, done: make(chan struct{})}
	go func() {
		defer close(f.done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-f.wake:
			}
			f.mu.Lock()
			msgs := f.msgs
			f.msgs = nil
			f.mu.Unlock()
			flush(ctx)
			for _, m := range msgs {
				if ctx.Err() != nil {
					_ = m.Nak() // the flush was cut short: the next leader takes it
				} else {
					_ = m.Ack()
				}
			}
			if ctx.Err() != nil {
				return
			}
		}
	}()
	return f
}

// add queues a report whose decisions are in the outbox; once stopped, it
// hands the report back for the next leader.
func (f *flushThenAck) add(m jetstream.Msg) {
	f.mu.Lock()
	if f.stopped {
		f.mu.Unlock()
		_ = m.Nak()
		return
	}
	f.msgs = append(f.msgs, m)
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// stop ends the flushes and hands what was not acknowledged back at once,
// rather than after the consumer's AckWait, for the next leader.
func (f *flushThenAck) stop() {
	f.quit()
	<-f.done
	f.mu.Lock()
	msgs := f.msgs
	f.msgs, f.stopped = nil, true
	f.mu.Unlock()
	for _, m := range msgs {
		_ = m.Nak()
	}
}
