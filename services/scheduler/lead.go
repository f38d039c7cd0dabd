package scheduler

import (
	"context"
	"fmt"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/nats-io/nats.go/jetstream"
)

// lead is one term of leadership: load the recorded instances, take the
// agents' status reports, and reconcile until the term ends.
func (s *Scheduler) lead(t term) {
	ctx := t.ctx
	instances, err := s.loadInstances(ctx)
	if err != nil {
		s.logger.Error("leader: cannot load instances, giving up this term", "error", err)
		return
	}
	s.mu.Lock()
	s.instances = instances
	s.killSent = map[string]time.Time{}
	s.epoch = t.Epoch
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.epoch = 0
		s.mu.Unlock()
	}()

	stop, err := s.consumeStatus(ctx)
	if err != nil {
		s.logger.Error("leader: cannot consume status, giving up this term", "error", err)
		return
	}
	defer stop()

	tick := time.NewTicker(s.cfg.ReconcileInterval)
	defer tick.Stop()
	for {
		s.reconcile(ctx, t.Epoch)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-s.trigger:
		}
	}
}

// loadInstances reads every recorded instance.
func (s *Scheduler) loadInstances(ctx context.Context) (map[string]*events.Instance, error) {
	w, err := s.bus.Instances.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("watch instances: %w", err)
	}
	defer func() { _ = w.Stop() }()
	out := map[string]*events.Instance{}
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case e := <-w.Updates():
			if e == nil {
				return out, nil
			}
			inst, err := events.Decode[events.Instance](e.Value())
			if err != nil {
				s.logger.Error("ignoring undecodable instance", "key", e.Key(), "error", err)
				continue
			}
			out[inst.TaskID] = &inst
		}
	}
}

// consumeStatus takes the agents' task status reports while leading.
func (s *Scheduler) consumeStatus(ctx context.Context) (func(), error) {
	cons, err := s.bus.JS.CreateOrUpdateConsumer(ctx, events.StreamStatus, jetstream.ConsumerConfig{
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
			s.logger.Warn("status on a malformed subject", "subject", msg.Subject())
			_ = msg.Term()
			return
		}
		st, err := events.Decode[events.TaskStatus](msg.Data())
		if err != nil || st.AgentID != agentID {
			s.logger.Warn("terminating bad status message", "agent", agentID, "error", err)
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
		s.putInstance(ctx, inst)
		s.statusEvent(inst, st.Message)
		s.poke()
	}
}

func firstNonEmpty(a, b []int) []int {
	if len(a) > 0 {
		return a
	}
	return b
}
