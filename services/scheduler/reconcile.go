package scheduler

import (
	"context"
	"time"

	"github.com/drover/drover/services/scheduler/decide"
	"github.com/nats-io/nats.go"
)

// reconcile is one pass of the leader: take the heartbeats in, read the
// leader's own state, let decide.Pass decide, and apply what it decided;
// then, after the lock, publish it.
func (s *Scheduler) reconcile(ctx context.Context) {
	s.mu.Lock()
	if ctx.Err() == nil {
		s.pass()
	}
	s.mu.Unlock()
	s.flush(ctx)
	s.mu.Lock()
	s.view.LastPass = s.now() // the next pass measures its lateness from here
	s.mu.Unlock()
}

// pass decides, into the outbox, without a round trip. Callers hold s.mu.
func (s *Scheduler) pass() {
	now := s.now() // before the heartbeats are taken, as ever
	s.takeHeartbeats()
	in := s.state()
	in.Now, in.Self = now, s.self()
	// Notices are held on the wall clock they arrived on, whatever clock
	// the scheduler runs on.
	in.FullPlans = s.plans.Wanted(time.Now())
	s.apply(decide.Pass(in, s.logger))
}

// state is the leader's state as decide reads it: the maps are the
// scheduler's own, which decide never changes. Callers hold s.mu.
func (s *Scheduler) state() decide.State {
	return decide.State{
		Now: s.now(), Epoch: s.epoch, Config: s.cfg.decide(),
		Apps: s.apps, Deployments: s.deployments, Removed: s.removed, Agents: s.agents, Instances: s.instances,
		Queue: s.queue, KillSent: s.killSent,
		View: s.view, Brake: s.brake, Passes: s.passes,
	}
}

// self reads what the scheduler knows of its own connection: whether it is
// or was down since the last pass, how many heartbeats wait unread, and
// when an agent was last heard.
func (s *Scheduler) self() decide.Self {
	r := s.nc.Stats().Reconnects
	self := decide.Self{
		Reconnected: s.nc.Status() != nats.CONNECTED || r != s.reconnects,
		Backlog:     s.heartbeatBacklog(),
	}
	s.reconnects = r
	if n := s.lastHeard.Load(); n > 0 {
		self.LastHeard = time.Unix(0, n)
	}
	return self
}

// heartbeatBacklog is how many heartbeats wait in the subscription unread.
func (s *Scheduler) heartbeatBacklog() int {
	sub := s.hbSub.Load()
	if sub == nil {
		return 0
	}
	n, _, err := sub.Pending()
	if err != nil {
		return 0
	}
	return n
}

// apply takes what decide decided into the scheduler's state and its
// writes into the outbox, in order. Callers hold s.mu.
func (s *Scheduler) apply(d decide.Decisions) {
	in := s.state()
	d.Apply(&in)
	s.killSent, s.view, s.brake, s.passes = in.KillSent, in.View, in.Brake, in.Passes
	for _, w := range d.Writes {
		s.enqueue(w)
	}
	if d.Poke {
		s.poke()
	}
}
