package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/drover/drover/internal/ctxutil"
	"github.com/drover/drover/internal/natsutil"
	"github.com/drover/drover/pkg/events"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// raftPlacer keeps the leaders of the streams, buckets and consumers the
// scheduler depends on off one NATS server (planRaftMoves), for one term:
// at its start, after each leader election it hears of in those groups
// (JetStream's advisories), and every Every. Moves are one group at a
// time, each checked again against a fresh look at its group just before
// it is asked for, Pace apart.
//
// The meta group's leader is not moved: its stepdown is refused to any
// account but the system account, which the scheduler does not have
// (nats-server jsLeaderStepDownRequest).
type raftPlacer struct {
	JS     jetstream.JetStream
	NC     *nats.Conn
	Avoid  string // the NATS server on this scheduler's master
	Logger *slog.Logger
	// Every is the slow timer; Settle how long after an election advisory
	// the survey waits (the new leader's followers catch up); Pace the
	// time between two moves; MaxActive how recently a follower must have
	// been heard from to lead.
	Every, Settle, Pace, MaxActive time.Duration
}

// raftStreams are the streams (buckets' included) whose leaders are kept off
// the scheduler's master, and raftConsumerStreams those whose durable
// consumers are: everything a new leader reads or writes in its first second.
var (
	raftStreams = []string{
		events.KVStream(events.BucketLeader), events.KVStream(events.BucketInstances),
		events.StreamCommands, events.StreamStatus, events.StreamRequests,
		events.KVStream(events.BucketApps), events.KVStream(events.BucketDeployments),
		events.KVStream(events.BucketAgents), events.KVStream(events.BucketQueue),
		events.StreamHeartbeats, events.StreamEvents,
	}
	raftConsumerStreams = []string{events.StreamCommands, events.StreamStatus, events.StreamRequests}
)

// newRaftPlacer is the placer of a scheduler configured with the NATS server
// of its master, or nil when it has none (a single node, standalone).
func (s *Scheduler) newRaftPlacer() *raftPlacer {
	if s.cfg.ColocatedNATS == "" || s.nc == nil {
		return nil
	}
	return &raftPlacer{
		JS: s.bus.JS, NC: s.nc, Avoid: s.cfg.ColocatedNATS, Logger: s.logger.With("component", "raftplace"),
		Every: 30 * time.Second, Settle: time.Second, Pace: 250 * time.Millisecond, MaxActive: 2 * time.Second,
	}
}

// start runs the placer until ctx ends or the function it returns, which
// waits for it, is called.
func (p *raftPlacer) start(ctx context.Context) func() {
	if p == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.run(ctx)
	}()
	return func() { cancel(); <-done }
}

func (p *raftPlacer) run(ctx context.Context) {
	elected := make(chan struct{}, 1)
	for _, subj := range []string{events.StreamLeaderElectedAll, events.ConsumerLeaderElectedAll} {
		sub, err := p.NC.Subscribe(subj, func(m *nats.Msg) {
			if _, _, err := events.ParseLeaderElected(m.Subject); err == nil {
				select {
				case elected <- struct{}{}:
				default:
				}
			}
		})
		if err != nil {
			p.Logger.Warn("cannot follow leader elections; placing on the timer only", "subject", subj, "error", err)
			continue
		}
		defer func() { _ = sub.Unsubscribe() }()
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-elected:
			if !ctxutil.Sleep(ctx, p.Settle) {
				return
			}
			select { // the elections of one failover make one round
			case <-elected:
			default:
			}
		case <-timer.C:
		}
		more := p.round(ctx)
		next := p.Every
		if more {
			next = p.Pace
		}
		timer.Reset(next)
	}
}

// maxMovesPerRound bounds one round: thousands of agents' consumers move
// over many rounds, not in one burst.
const maxMovesPerRound = 32

// round surveys the groups and makes the moves planned, one at a time; it
// says whether moves were left for the next round.
func (p *raftPlacer) round(ctx context.Context) (more bool) {
	groups, err := p.survey(ctx)
	if err != nil {
		p.Logger.Debug("raft placement: survey incomplete", "error", err)
	}
	moves := planRaftMoves(groups, p.Avoid, p.MaxActive)
	for i, m := range moves {
		if i == maxMovesPerRound {
			return true
		}
		if i > 0 && !ctxutil.Sleep(ctx, p.Pace) {
			return false
		}
		p.move(ctx, m)
	}
	return false
}

// move asks for m after checking it once more against its group now.
func (p *raftPlacer) move(ctx context.Context, m raftMove) {
	g, err := p.group(ctx, m.Stream, m.Consumer)
	if err != nil {
		p.Logger.Debug("raft placement: cannot look at the group again", "group", m.name(), "error", err)
		return
	}
	again := planRaftMoves([]raftGroup{g}, p.Avoid, p.MaxActive)
	if len(again) == 0 {
		return // moved, or its followers are not fit to lead any more
	}
	m = again[0]
	subject := events.StreamLeaderStepdown(m.Stream)
	if m.Consumer != "" {
		subject = events.ConsumerLeaderStepdown(m.Stream, m.Consumer)
	}
	if err := p.stepdown(ctx, subject, m.To); err != nil {
		p.Logger.Warn("raft placement: move refused", "group", m.name(), "from", m.From, "to", m.To, "error", err)
		return
	}
	p.Logger.Info("raft placement: moved a leader off this scheduler's master", "group", m.name(), "from", m.From, "to", m.To)
}

// stepdown asks a group's leader to hand over to the server named.
func (p *raftPlacer) stepdown(ctx context.Context, subject, to string) error {
	return natsutil.Stepdown(ctx, p.NC, subject, to)
}

// survey looks at every group of raftStreams and raftConsumerStreams. What
// cannot be looked at now (a stream electing its leader) is left out of
// this round and named in the error.
func (p *raftPlacer) survey(ctx context.Context) ([]raftGroup, error) {
	var groups []raftGroup
	var errs []error
	for _, name := range raftStreams {
		g, err := p.group(ctx, name, "")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		groups = append(groups, g)
	}
	for _, name := range raftConsumerStreams {
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		stream, err := p.JS.Stream(lctx, name)
		if err != nil {
			cancel()
			errs = append(errs, fmt.Errorf("stream %s: %w", name, err))
			continue
		}
		list := stream.ListConsumers(lctx)
		for ci := range list.Info() {
			if ci.Config.Durable != "" {
				groups = append(groups, groupOf(name, ci.Name, ci.Cluster))
			}
		}
		if err := list.Err(); err != nil {
			errs = append(errs, fmt.Errorf("consumers of %s: %w", name, err))
		}
		cancel()
	}
	return groups, errors.Join(errs...)
}

// group looks at one stream (consumer empty) or consumer.
func (p *raftPlacer) group(ctx context.Context, stream, consumer string) (raftGroup, error) {
	ctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	if consumer == "" {
		s, err := p.JS.Stream(ctx, stream)
		if err != nil {
			return raftGroup{}, fmt.Errorf("stream %s: %w", stream, err)
		}
		info := s.CachedInfo() // JS.Stream has just fetched it
		return groupOf(stream, "", info.Cluster), nil
	}
	c, err := p.JS.Consumer(ctx, stream, consumer)
	if err != nil {
		return raftGroup{}, fmt.Errorf("consumer %s/%s: %w", stream, consumer, err)
	}
	return groupOf(stream, consumer, c.CachedInfo().Cluster), nil
}

func groupOf(stream, consumer string, ci *jetstream.ClusterInfo) raftGroup {
	g := raftGroup{Stream: stream, Consumer: consumer}
	if ci == nil {
		return g
	}
	g.Leader = ci.Leader
	for _, r := range ci.Replicas {
		if r != nil {
			g.Peers = append(g.Peers, raftPeer{Name: r.Name, Current: r.Current, Offline: r.Offline, Active: r.Active, Lag: r.Lag})
		}
	}
	return g
}
