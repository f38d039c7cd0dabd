package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/events/natsbus"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// terminalRetain is how long the agent remembers a task that ended, so that
// a late event or a redelivered launch of it changes nothing.
const terminalRetain = 10 * time.Minute

// Agent runs one host's tasks for the scheduler leader. Make it with New
// and run it once with Run.
type Agent struct {
	cfg      Config
	bus      *natsbus.Bus
	js       jetstream.JetStream
	nc       *nats.Conn
	rt       Runtime
	log      *slog.Logger
	fence    fence
	tracker  *tracker
	dispatch *dispatcher
	checks   *checker
	dirty    dirtyTasks // tasks whose check results are not reported yet

	pubMu sync.Mutex // serialises status publishing with the tracker

	gracesMu sync.Mutex
	graces   map[string]time.Duration // task -> its app's kill grace

	startedAt time.Time
	judge     *judge        // the runtime's health, from every probe
	tasks     taskList      // the runtime's latest list, from the probe loop
	beatNow   chan struct{} // asks the heartbeat loop for a heartbeat at once
	probeNow  chan struct{} // asks the probe loop for a probe, then a heartbeat
	stats     counters
}

type counters struct {
	heartbeats, commands, malformed, refused, statuses, statusErrors atomic.Uint64
}

// Stats counts what an agent did since it started.
type Stats struct {
	Heartbeats        uint64 // heartbeats published
	CommandsDone      uint64 // commands run and acknowledged
	CommandsMalformed uint64 // commands terminated as undecodable or invalid
	CommandsRefused   uint64 // commands refused for a stale epoch
	StatusesPublished uint64 // task statuses acknowledged by JetStream
	StatusErrors      uint64 // task statuses given up on
}

// New makes an agent. bus is the set-up streams and buckets (natsbus.Setup);
// nc is the connection heartbeats go out on; rt runs the tasks.
func New(cfg Config, bus *natsbus.Bus, nc *nats.Conn, rt Runtime, logger *slog.Logger) (*Agent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("agent: config: %w", err)
	}
	if bus == nil || bus.JS == nil || nc == nil || rt == nil {
		return nil, errors.New("agent: bus, nats connection and runtime are required")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	logger = logger.With("agent", cfg.AgentID)
	a := &Agent{
		cfg:      cfg,
		bus:      bus,
		js:       bus.JS,
		nc:       nc,
		rt:       rt,
		log:      logger.With("component", "agent"),
		tracker:  newTracker(terminalRetain),
		dispatch: newDispatcher(cfg.MaxConcurrentCommands),
		graces:   map[string]time.Duration{},
		dirty:    newDirtyTasks(),
		beatNow:  make(chan struct{}, 1),
		probeNow: make(chan struct{}, 1),
		judge:    newJudge(cfg.RuntimeDownAfter, cfg.RuntimeSlowAfter),
	}
	exec, _ := rt.(Execer)
	recall, _ := rt.(CheckRecaller)
	a.checks = newChecker(checkerConfig{
		maxConcurrent: cfg.MaxConcurrentChecks,
		minInterval:   cfg.MinCheckInterval,
		address:       cfg.Address,
	}, exec, recall, a.dirty.Mark, logger.With("component", "checks"))
	return a, nil
}

// ID is the agent's id.
func (a *Agent) ID() string { return a.cfg.AgentID }

// Epoch is the highest scheduler epoch the agent has seen.
func (a *Agent) Epoch() uint64 { return a.fence.Highest() }

// Stats reports the agent's counters.
func (a *Agent) Stats() Stats {
	return Stats{
		Heartbeats:        a.stats.heartbeats.Load(),
		CommandsDone:      a.stats.commands.Load(),
		CommandsMalformed: a.stats.malformed.Load(),
		CommandsRefused:   a.stats.refused.Load(),
		StatusesPublished: a.stats.statuses.Load(),
		StatusErrors:      a.stats.statusErrors.Load(),
	}
}

// Run heartbeats, takes commands, checks tasks and reports task states until ctx is done,
// then waits for its goroutines and returns nil. The durable command
// consumer stays, so commands sent while the agent is away wait for it;
// commands interrupted by the stop are handed back for redelivery.
func (a *Agent) Run(ctx context.Context) error {
	a.startedAt = time.Now()
	a.seedEpoch(ctx)
	a.log.Info("agent starting", "hostname", a.cfg.Hostname, "address", a.cfg.Address, "epoch", a.fence.Highest())
	var wg sync.WaitGroup
	for _, f := range []func(context.Context){a.watchLeader, a.runEvents, a.runCommands, a.runHealthReports, a.runProbes, a.runSandbox} {
		wg.Add(1)
		go func() { defer wg.Done(); f(ctx) }()
	}
	a.runHeartbeats(ctx)
	wg.Wait()
	a.dispatch.Wait()
	a.checks.Close()
	a.log.Info("agent stopped")
	return nil
}

// seedEpoch raises the fence to the current leader's epoch, best effort.
func (a *Agent) seedEpoch(ctx context.Context) {
	if a.bus.Leader == nil {
		return
	}
	gctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	entry, err := a.bus.Leader.Get(gctx, events.LeaderKey)
	if err != nil {
		if !errors.Is(err, jetstream.ErrKeyNotFound) {
			a.log.Warn("read leader epoch", "error", err)
		}
		return
	}
	a.observeLeader(entry)
}

// watchLeader follows the leader key, so that a new leader's epoch fences
// its predecessor even before the new leader sends this agent anything. It
// subscribes to the key's subject rather than watching the bucket: a plain
// subscription costs the server no consumer, however many agents there are.
func (a *Agent) watchLeader(ctx context.Context) {
	sub, err := a.nc.Subscribe(events.LeaderKeySubject, func(m *nats.Msg) {
		if !leaderWrite(m) {
			a.log.Warn("ignoring a message on the leader key's subject that is no write of it", "subject", m.Subject, "reply", m.Reply)
			return
		}
		if m.Header.Get(events.HeaderKVOperation) != "" {
			return // the lock released or expired: no new epoch
		}
		rec, err := events.Decode[events.LeaderRecord](m.Data)
		if err != nil {
			a.log.Warn("leader record unreadable", "error", err)
			return
		}
		a.fence.Observe(rec.Epoch, rec.Lineage)
	})
	if err != nil {
		a.log.Warn("follow leader", "error", err)
		return
	}
	<-ctx.Done()
	_ = sub.Unsubscribe()
}

// leaderWrite reports whether a message the leader key's subscription got
// is a write of the key, published by a scheduler. A JetStream push
// consumer can deliver any stream's messages to any subject: such a
// delivery keeps its own subject and has an acknowledgement reply, and must
// not move the fence (a forged high epoch would make the agent refuse every
// real command).
func leaderWrite(m *nats.Msg) bool {
	return m.Subject == events.LeaderKeySubject && !strings.HasPrefix(m.Reply, events.JSAckPrefix)
}

func (a *Agent) observeLeader(entry jetstream.KeyValueEntry) {
	if entry.Operation() != jetstream.KeyValuePut {
		return
	}
	rec, err := events.Decode[events.LeaderRecord](entry.Value())
	if err != nil {
		a.log.Warn("leader record unreadable", "error", err)
		return
	}
	a.fence.Observe(rec.Epoch, rec.Lineage)
}
