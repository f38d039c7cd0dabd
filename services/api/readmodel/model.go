package readmodel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/drover/drover/internal/natsutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/events/natsbus"
	"github.com/nats-io/nats.go/jetstream"
)

// Model follows the apps, instances, deployments and leader buckets with
// KV watchers and keeps them in memory.
type Model struct {
	logger    *slog.Logger
	leaderTTL time.Duration // the leader bucket's TTL; 0: records never expire
	history   int           // how many versions of an app the apps bucket keeps
	now       func() time.Time

	mu      sync.RWMutex
	s       State
	changed chan struct{}     // closed and replaced whenever s changes
	gen     uint64            // updates of s, for listCache
	rev     map[string]uint64 // per bucket, the last revision applied
	loaded  map[string]bool   // per bucket, whether the initial values are in

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// feed is one bucket the read model follows: how to start over (when the
// bucket was recreated) and how to apply an entry, both called with the lock
// held.
type feed struct {
	bucket string
	kv     jetstream.KeyValue
	reset  func()
	apply  func(jetstream.KeyValueEntry)
	opts   []jetstream.WatchOpt
}

// ErrNotReady is returned while the read model has not loaded the buckets.
var ErrNotReady = errors.New("api: read model not loaded yet")

// followed are the buckets the read model must have loaded to be ready.
// It also follows the queue bucket, but does not wait for it: that bucket
// is in memory (gone after a NATS restart until the scheduler leader sets
// it up again), and an empty queue is a fine answer meanwhile. Nor does it
// wait for the agents bucket, which only the cluster view reads (it waits
// for that bucket itself).
var followed = []string{events.BucketApps, events.BucketInstances, events.BucketDeployments, events.BucketLeader}

// New starts watching the buckets; Close stops it.
func New(ctx context.Context, bus *natsbus.Bus, logger *slog.Logger) (*Model, error) {
	rm := &Model{
		logger:  logger,
		now:     time.Now,
		changed: make(chan struct{}),
		rev:     map[string]uint64{},
		loaded:  map[string]bool{},
	}
	rm.s = State{
		Apps: map[string]AppEntry{}, Instances: map[string]events.Instance{},
		ByApp: map[string]map[string]struct{}{}, Deployments: map[string]events.Deployment{},
		DepsByApp: map[string]map[string]struct{}{}, Failures: map[string]events.Instance{},
		Versions: map[string]*AppVersions{}, Queue: map[string]events.QueueEntry{},
		Agents: map[string]events.AgentRecord{},
	}
	if st, err := bus.Leader.Status(ctx); err == nil {
		rm.leaderTTL = st.TTL()
	} else {
		return nil, fmt.Errorf("api: leader bucket status: %w", err)
	}
	if st, err := bus.Apps.Status(ctx); err == nil {
		rm.history = max(1, int(st.History()))
	} else {
		return nil, fmt.Errorf("api: apps bucket status: %w", err)
	}
	feeds := []feed{
		// The apps' history feeds the version index; later entries replace
		// earlier ones, so the current values come out right.
		{events.BucketApps, bus.Apps, rm.resetApps, rm.applyApp, []jetstream.WatchOpt{jetstream.IncludeHistory()}},
		{events.BucketInstances, bus.Instances, rm.resetInstances, rm.applyInstance, nil},
		{events.BucketDeployments, bus.Deployments, rm.resetDeployments, rm.applyDeployment, nil},
		{events.BucketLeader, bus.Leader, rm.resetLeader, rm.applyLeader, nil},
		{events.BucketQueue, bus.Queue, rm.resetQueue, rm.applyQueue, nil},
		{events.BucketAgents, bus.Agents, rm.resetAgents, rm.applyAgent, nil},
	}
	runCtx, cancel := context.WithCancel(context.Background())
	rm.cancel = cancel
	for _, f := range feeds {
		done, err := natsutil.FollowKV(runCtx, natsutil.KVFollow{
			KV: f.kv, Opts: f.opts, Logger: logger.With("bucket", f.bucket),
			FirstWithin: natsutil.FirstWatchWithin,
			Reset: func() {
				rm.update(func() { f.reset(); rm.loaded[f.bucket], rm.rev[f.bucket] = false, 0 })
			},
			Apply: func(e jetstream.KeyValueEntry) {
				rm.update(func() { f.apply(e); rm.rev[f.bucket] = max(rm.rev[f.bucket], e.Revision()) })
			},
			Loaded: func(rev uint64) {
				rm.update(func() { rm.loaded[f.bucket], rm.rev[f.bucket] = true, max(rm.rev[f.bucket], rev) })
			},
			Closed: func() { rm.update(func() { rm.loaded[f.bucket] = false }) }, // stale until watched again
		})
		if err != nil {
			rm.Close()
			return nil, fmt.Errorf("api: %w", err)
		}
		rm.wg.Add(1)
		go func() { defer rm.wg.Done(); <-done }()
	}
	rm.wg.Add(1)
	go rm.followFailures(runCtx, bus.JS)
	return rm, nil
}

// Close stops the watchers and waits for them.
func (rm *Model) Close() {
	rm.cancel()
	rm.wg.Wait()
}

// update changes the state under the lock and wakes the waiters.
func (rm *Model) update(fn func()) {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	fn()
	rm.gen++
	close(rm.changed)
	rm.changed = make(chan struct{})
}

// Generation counts the read model's updates: an answer made from its
// state holds until it moves.
func (rm *Model) Generation() uint64 {
	rm.mu.RLock()
	defer rm.mu.RUnlock()
	return rm.gen
}

// Read calls fn with the state under the read lock. fn must not keep
// references to the maps nor modify what they hold.
func (rm *Model) Read(fn func(s *State)) {
	rm.mu.RLock()
	defer rm.mu.RUnlock()
	fn(&rm.s)
}

// ReadAt is Read that also gives the last revision of bucket the state
// holds: a write that expects it as the bucket's last lands only if
// nothing was written to the bucket since.
func (rm *Model) ReadAt(bucket string, fn func(s *State, rev uint64)) {
	rm.mu.RLock()
	defer rm.mu.RUnlock()
	fn(&rm.s, rm.rev[bucket])
}

// waitFor waits until cond, called under the read lock, holds.
func (rm *Model) waitFor(ctx context.Context, cond func() bool) error {
	for {
		rm.mu.RLock()
		ok, changed := cond(), rm.changed
		rm.mu.RUnlock()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Ready waits until every bucket's current values are loaded.
func (rm *Model) Ready(ctx context.Context) error {
	err := rm.waitFor(ctx, func() bool {
		for _, b := range followed {
			if !rm.loaded[b] {
				return false
			}
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNotReady, err)
	}
	return nil
}

// Loaded waits until one bucket's current values are loaded: the agents
// bucket, say, which Ready does not wait for.
func (rm *Model) Loaded(ctx context.Context, bucket string) error {
	return rm.waitFor(ctx, func() bool { return rm.loaded[bucket] })
}

// CaughtUp waits until the read model has applied revision rev of bucket.
func (rm *Model) CaughtUp(ctx context.Context, bucket string, rev uint64) error {
	return rm.waitFor(ctx, func() bool { return rm.rev[bucket] >= rev })
}

// Leader is the current leader record, if a scheduler holds the lock. A
// record not renewed within the bucket's TTL is gone even before the
// server's expiry reaches this replica.
func (rm *Model) Leader() (events.LeaderRecord, bool) {
	var rec events.LeaderRecord
	ok := false
	rm.Read(func(s *State) {
		if s.Leader == nil {
			return
		}
		if rm.leaderTTL > 0 && rm.now().Sub(s.LeaderSeen) >= rm.leaderTTL {
			return
		}
		rec, ok = *s.Leader, true
	})
	return rec, ok
}

// LastSeq is a bucket's last stream sequence: at least the revision of any
// write just made to it (a delete's revision is not returned); 0 when
// JetStream does not say.
func LastSeq(ctx context.Context, kv jetstream.KeyValue) uint64 {
	seq, err := natsutil.LastRevision(ctx, kv)
	if err != nil {
		return 0
	}
	return seq
}
