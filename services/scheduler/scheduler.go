package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drover/drover/internal/natsutil"
	"github.com/drover/drover/pkg/deployplan"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/events/natsbus"
	"github.com/drover/drover/pkg/events/plandemand"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/scheduler/decide"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Scheduler keeps running tasks equal to the desired state. Every scheduler
// follows the apps, deployments and heartbeats; only the leader acts.
type Scheduler struct {
	cfg Config
	bus *natsbus.Bus
	nc  *nats.Conn
	// leaseOpts are nc's options, read in New (before anything can change
	// them), for the leader lock's own connection.
	leaseOpts nats.Options
	logger    *slog.Logger
	now       func() time.Time

	trigger chan struct{}
	// malformed counts bad messages taken off the bus (terminated or ignored).
	malformed atomic.Uint64
	// lastHeard is when any agent's live heartbeat last arrived (unix ns).
	lastHeard atomic.Int64
	// reconnects is the NATS connection's reconnect count at the last pass.
	reconnects uint64
	// hbSub is the heartbeats' subscription, whose backlog says whether
	// this scheduler reads heartbeats as fast as they come.
	hbSub atomic.Pointer[nats.Subscription]
	// plans holds the api replicas' notices of demand for full deployment
	// plans, followed from the start by every scheduler, so that a new
	// leader knows the demand already (decide.State.FullPlans).
	plans *plandemand.Tracker
	// view says since when this scheduler's view of the agents holds, and
	// brake is the silent-majority brake (decide.View, decide.Brake).
	view  decide.View
	brake decide.Brake

	// flushMu orders flushes of the outbox; taken before mu, never inside it.
	flushMu sync.Mutex
	outbox  []write // what the leader decided, to publish (outbox.go)
	// launchApps holds the JSON of the apps whose launches are in the
	// outbox, one copy each, keyed by itself (commandEncoder).
	launchApps map[string][]byte

	// Heartbeats arrive under hbMu, apart from mu, so a long reconciliation
	// never delays them; each pass takes them in (takeHeartbeats).
	hbMu            sync.Mutex
	hbPending       map[string]heartbeatSeen
	dockerHealthy   map[string]bool
	ended           map[string]int // per agent, the ended tasks its last heartbeat reported
	dockerDownSince map[string]time.Time

	mu          sync.Mutex
	apps        map[string]*decide.App
	deployments map[string]decide.Deployment
	removed     map[string]marathon.App // apps deleted while a deployment lists them
	agents      map[string]*decide.Agent
	instances   map[string]*events.Instance
	killSent    map[string]decide.KillTry
	queue       map[string]events.QueueEntry // as last written to the queue bucket
	epoch       uint64                       // the current term's epoch; 0 when not leading
	// abdicatedUntil keeps this scheduler from campaigning after it stepped
	// down on request, so another one takes over.
	abdicatedUntil time.Time
	abdicate       chan struct{}
	passes         uint64 // placement requests made, the seed of their ports
}

type heartbeatSeen struct {
	hb   events.Heartbeat
	seen time.Time
}

// takeHeartbeats moves the heartbeats that arrived since the last pass into
// the agents' state. Callers hold s.mu.
func (s *Scheduler) takeHeartbeats() {
	s.hbMu.Lock()
	pending := s.hbPending
	s.hbPending = make(map[string]heartbeatSeen, len(pending))
	downSince := make(map[string]time.Time, len(s.dockerDownSince))
	for id, t := range s.dockerDownSince {
		downSince[id] = t
	}
	s.hbMu.Unlock()
	for id, h := range pending {
		a := s.agents[id]
		if a == nil {
			a = &decide.Agent{}
			s.agents[id] = a
		}
		if h.seen.After(a.Seen) {
			a.Heartbeat, a.Seen = h.hb, h.seen
			a.ListedAt = decide.ListedAt(h.hb, h.seen)
			a.HostListedAt = decide.HostListedAt(h.hb, h.seen)
		}
		a.DockerDownSince = downSince[id]
	}
}

// New makes a scheduler; Run starts it.
func New(cfg Config, bus *natsbus.Bus, nc *nats.Conn, logger *slog.Logger) (*Scheduler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	if bus == nil || nc == nil {
		return nil, errors.New("scheduler: a bus and a NATS connection are required")
	}
	logger = logger.With("component", "scheduler", "scheduler", cfg.ID)
	return &Scheduler{
		cfg:             cfg,
		bus:             bus,
		nc:              nc,
		leaseOpts:       nc.Opts,
		logger:          logger,
		plans:           plandemand.NewTracker(events.PlanDemandHold, logger, nil),
		now:             time.Now,
		trigger:         make(chan struct{}, 1),
		abdicate:        make(chan struct{}, 1),
		apps:            map[string]*decide.App{},
		deployments:     map[string]decide.Deployment{},
		removed:         map[string]marathon.App{},
		agents:          map[string]*decide.Agent{},
		hbPending:       map[string]heartbeatSeen{},
		dockerHealthy:   map[string]bool{},
		ended:           map[string]int{},
		dockerDownSince: map[string]time.Time{},
		instances:       map[string]*events.Instance{},
		killSent:        map[string]decide.KillTry{},
		queue:           map[string]events.QueueEntry{},
	}, nil
}

// Run follows the cluster and campaigns for leadership until ctx ends.
func (s *Scheduler) Run(ctx context.Context) error {
	s.mu.Lock()
	s.view.Started = s.now()
	s.mu.Unlock()
	plans, err := s.plans.Subscribe(s.nc)
	if err != nil {
		return fmt.Errorf("scheduler: %w", err)
	}
	defer func() { _ = plans.Unsubscribe() }()
	appsLoaded, err := s.followApps(ctx)
	if err != nil {
		return err
	}
	deploymentsLoaded, err := s.followDeployments(ctx)
	if err != nil {
		return err
	}
	// A leader that does not yet know every app would take the tasks of
	// the apps it has not read for tasks of deleted apps, and kill them.
	for _, loaded := range []<-chan struct{}{appsLoaded, deploymentsLoaded} {
		select {
		case <-ctx.Done():
			return nil
		case <-loaded:
		}
	}
	if err := s.followHeartbeats(ctx); err != nil {
		return err
	}
	ctx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	lease, leaseJS, closeLease, err := leaseBucket(ctx, s.leaseOpts, s.bus.Leader, s.bus.JS, func() { fail(errLeaseClosed) })
	if err != nil {
		return err
	}
	defer closeLease()
	e := &elector{kv: lease, id: s.cfg.ID, nonce: uuid.NewString(), hostname: s.cfg.Hostname, apiAddress: s.cfg.apiAddress(), natsServer: s.cfg.ColocatedNATS, ttl: s.cfg.LeaderTTL, logger: s.logger, now: s.now,
		mayCampaign: func() bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			return !s.now().Before(s.abdicatedUntil)
		},
		connected: s.nc.IsConnected,
		stream:    lockStreamOf(lease), resume: resumeLockOf(leaseJS, lease.Bucket()), probe: probeLockOf(leaseJS.Conn()),
		oneServer: func() bool { return leaseJS.Conn().ConnectedServerId() == s.nc.ConnectedServerId() }}
	e.run(ctx, s.lead)
	if errors.Is(context.Cause(ctx), errLeaseClosed) {
		return errLeaseClosed
	}
	return nil
}

// errLeaseClosed: the leader lock's connection was closed for good.
var errLeaseClosed = errors.New("scheduler: the leader lock's NATS connection closed for good: exiting, for a supervisor to start the scheduler again")

// Malformed is how many malformed messages (heartbeats, status reports,
// requests, plan demand notices) this scheduler has terminated or ignored
// since it started.
func (s *Scheduler) Malformed() uint64 { return s.malformed.Load() + s.plans.Malformed() }

// Epoch is the current term's epoch, or 0 when this scheduler does not lead.
func (s *Scheduler) Epoch() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.epoch
}

func (s *Scheduler) poke() {
	select {
	case s.trigger <- struct{}{}:
	default:
	}
}

// followApps mirrors the apps bucket; the channel closes once every app
// stored when it started has been applied.
func (s *Scheduler) followApps(ctx context.Context) (<-chan struct{}, error) {
	return watchBucket(ctx, s.bus.Apps, s.logger, func(e jetstream.KeyValueEntry) {
		id := events.AppIDFromKey(e.Key())
		s.mu.Lock()
		defer s.mu.Unlock()
		if e.Operation() != jetstream.KeyValuePut {
			if st, ok := s.apps[id]; ok && s.deploymentLists(id) {
				s.removed[id] = st.Def // the original of the deployment's events
			}
			delete(s.apps, id)
			s.poke()
			return
		}
		rec, err := events.Decode[events.AppRecord](e.Value())
		if err != nil {
			s.logger.Error("ignoring undecodable app record", "key", e.Key(), "error", err)
			return
		}
		delete(s.removed, id)
		st := s.apps[id]
		if st == nil {
			st = &decide.App{}
			s.apps[id] = st
		} else if st.Def.Version != rec.App.Version {
			prev := st.Def
			st.Prev = &prev
		}
		if deployplan.ConfigVersion(&st.Def) != deployplan.ConfigVersion(&rec.App) {
			st.Backoff.Delay, st.Backoff.NotBefore = 0, time.Time{} // a new version starts without delay
		}
		st.Def, st.DeploymentID, st.Changed = rec.App, rec.DeploymentID, s.now()
		st.Sentenced = rec.Sentenced
		_, st.DeploymentSeen = s.deployments[rec.DeploymentID]
		s.poke()
	})
}

// followDeployments mirrors the deployments bucket; the channel closes once
// every stored deployment has been applied.
func (s *Scheduler) followDeployments(ctx context.Context) (<-chan struct{}, error) {
	return watchBucket(ctx, s.bus.Deployments, s.logger, func(e jetstream.KeyValueEntry) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if e.Operation() != jetstream.KeyValuePut {
			delete(s.deployments, e.Key())
			for id := range s.removed {
				if !s.deploymentLists(id) {
					delete(s.removed, id)
				}
			}
			return
		}
		d, err := events.Decode[events.Deployment](e.Value())
		if err != nil {
			s.logger.Error("ignoring undecodable deployment", "key", e.Key(), "error", err)
			return
		}
		s.deployments[e.Key()] = decide.Deployment{D: d, Rev: e.Revision()}
		for _, appID := range d.AffectedApps {
			if st, ok := s.apps[appID]; ok && st.DeploymentID == d.ID {
				st.DeploymentSeen = true
			}
		}
		s.poke()
	})
}

// deploymentLists: a running deployment affects the app. Callers hold s.mu.
func (s *Scheduler) deploymentLists(appID string) bool {
	for _, ds := range s.deployments {
		if slices.Contains(ds.D.AffectedApps, appID) {
			return true
		}
	}
	return false
}

// watchBucket calls apply for every current entry and every later change of
// a bucket until ctx ends; the channel it returns closes once the entries
// stored when the watch began have all been applied. A watch that breaks or
// stalls resumes after the last revision applied (natsutil.FollowKV).
func watchBucket(ctx context.Context, kv jetstream.KeyValue, logger *slog.Logger, apply func(jetstream.KeyValueEntry)) (<-chan struct{}, error) {
	loaded := make(chan struct{})
	var once sync.Once
	_, err := natsutil.FollowKV(ctx, natsutil.KVFollow{
		KV: kv, Apply: apply, Logger: logger, FirstWithin: natsutil.FirstWatchWithin,
		Loaded: func(uint64) { once.Do(func() { close(loaded) }) },
	})
	if err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	return loaded, nil
}

// followHeartbeats keeps the last heartbeat of every agent. Live heartbeats
// come through a plain subscription, which NATS keeps routing while
// JetStream elects stream leaders (an ordered consumer would stall then,
// and every agent would look silent); the last stored heartbeat of each
// agent is replayed once, so a new scheduler also knows the silent ones.
func (s *Scheduler) followHeartbeats(ctx context.Context) error {
	sub, err := s.nc.Subscribe(events.AgentHeartbeatAll, func(m *nats.Msg) {
		now := s.now()
		if s.takeHeartbeat(m.Subject, m.Data, now) {
			s.lastHeard.Store(now.UnixNano())
		}
	})
	if err != nil {
		return fmt.Errorf("scheduler: heartbeat subscription: %w", err)
	}
	s.hbSub.Store(sub)
	go func() { <-ctx.Done(); _ = sub.Unsubscribe() }()
	go s.replayHeartbeats(ctx)
	return nil
}

// replayHeartbeats reads the last stored heartbeat of every agent, once.
func (s *Scheduler) replayHeartbeats(ctx context.Context) {
	cons, err := s.bus.JS.OrderedConsumer(ctx, events.StreamHeartbeats, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverLastPerSubjectPolicy,
	})
	if err != nil {
		s.logger.Warn("cannot replay stored heartbeats", "error", err)
		return
	}
	for ctx.Err() == nil {
		batch, err := cons.Fetch(512, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			s.logger.Warn("cannot replay stored heartbeats", "error", err)
			return
		}
		n := 0
		for msg := range batch.Messages() {
			n++
			seen := s.now()
			md, err := msg.Metadata()
			if err == nil && md.Timestamp.Before(seen) {
				seen = md.Timestamp
			}
			s.takeHeartbeat(msg.Subject(), msg.Data(), seen)
			if err == nil && md.NumPending == 0 {
				return
			}
		}
		if n == 0 {
			return
		}
	}
}

// endedTasks counts the tasks a heartbeat reports ended.
func endedTasks(hb events.Heartbeat) int {
	n := 0
	for _, t := range hb.Tasks {
		if t.State.Terminal() {
			n++
		}
	}
	return n
}

// takeHeartbeat records one heartbeat seen at a time; false if it is not one.
func (s *Scheduler) takeHeartbeat(subject string, data []byte, seen time.Time) bool {
	id, err := events.ParseAgentHeartbeat(subject)
	if err != nil {
		s.logger.Warn("heartbeat on a malformed subject", "subject", subject, "malformed_total", s.malformed.Add(1))
		return false
	}
	hb, err := events.Decode[events.Heartbeat](data)
	if err != nil || hb.AgentID != id {
		s.logger.Warn("ignoring bad heartbeat", "agent", id, "error", err, "malformed_total", s.malformed.Add(1))
		return false
	}
	s.hbMu.Lock()
	defer s.hbMu.Unlock()
	if prev, ok := s.hbPending[id]; !ok || seen.After(prev.seen) {
		s.hbPending[id] = heartbeatSeen{hb: hb, seen: seen}
	}
	if was, ok := s.dockerHealthy[id]; ok && was != hb.Docker.Healthy {
		s.poke() // a Docker daemon died or came back: act now
	}
	s.dockerHealthy[id] = hb.Docker.Healthy
	ended := endedTasks(hb)
	if ended > s.ended[id] {
		s.poke() // a task ended: act now, should its status report be slow to come
	}
	if ended > 0 {
		s.ended[id] = ended
	} else {
		delete(s.ended, id)
	}
	// Every heartbeat passes here, so a healthy one between two reports of
	// Docker down always resets the window.
	switch since, ok := s.dockerDownSince[id]; {
	case hb.Docker.Healthy:
		delete(s.dockerDownSince, id)
	case !ok || seen.Before(since):
		s.dockerDownSince[id] = seen
	}
	return true
}
