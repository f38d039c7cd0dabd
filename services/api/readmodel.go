package api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/nats-io/nats.go/jetstream"
)

// appEntry is an app record and the apps-bucket revision that wrote it.
type appEntry struct {
	rec events.AppRecord
	rev uint64
}

// state is what the read model holds. Values are replaced, never modified,
// so what a reader copies out stays valid after the lock is released.
type state struct {
	apps        map[string]appEntry            // by app id ("/web")
	instances   map[string]events.Instance     // by task id
	byApp       map[string]map[string]struct{} // app id -> its task ids
	deployments map[string]events.Deployment   // by deployment id
	failures    map[string]events.Instance     // app id -> its last failed task
	leader      *events.LeaderRecord
	leaderSeen  time.Time // when this replica last saw the leader record written
}

// readModel follows the apps, instances, deployments and leader buckets with
// KV watchers and keeps them in memory.
type readModel struct {
	logger    *slog.Logger
	leaderTTL time.Duration // the leader bucket's TTL; 0: records never expire
	now       func() time.Time

	mu      sync.RWMutex
	s       state
	changed chan struct{}     // closed and replaced whenever s changes
	rev     map[string]uint64 // per bucket, the last revision applied
	loaded  map[string]bool   // per bucket, whether the initial values are in

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// feed is one bucket the read model follows: how to start over and how to
// apply an entry, both called with the lock held.
type feed struct {
	bucket string
	kv     jetstream.KeyValue
	reset  func()
	apply  func(jetstream.KeyValueEntry)
}

// newReadModel starts watching the buckets; close stops it.
func newReadModel(ctx context.Context, bus *events.Bus, logger *slog.Logger) (*readModel, error) {
	rm := &readModel{
		logger:  logger,
		now:     time.Now,
		changed: make(chan struct{}),
		rev:     map[string]uint64{},
		loaded:  map[string]bool{},
	}
	rm.s = state{
		apps: map[string]appEntry{}, instances: map[string]events.Instance{},
		byApp: map[string]map[string]struct{}{}, deployments: map[string]events.Deployment{},
		failures: map[string]events.Instance{},
	}
	if st, err := bus.Leader.Status(ctx); err == nil {
		rm.leaderTTL = st.TTL()
	} else {
		return nil, fmt.Errorf("api: leader bucket status: %w", err)
	}
	feeds := []feed{
		{events.BucketApps, bus.Apps, rm.resetApps, rm.applyApp},
		{events.BucketInstances, bus.Instances, rm.resetInstances, rm.applyInstance},
		{events.BucketDeployments, bus.Deployments, rm.resetDeployments, rm.applyDeployment},
		{events.BucketLeader, bus.Leader, rm.resetLeader, rm.applyLeader},
	}
	runCtx, cancel := context.WithCancel(context.Background())
	rm.cancel = cancel
	for _, f := range feeds {
		w, err := f.kv.WatchAll(runCtx)
		if err != nil {
			rm.close()
			return nil, fmt.Errorf("api: watch %s: %w", f.bucket, err)
		}
		rm.wg.Add(1)
		go rm.follow(runCtx, f, w)
	}
	return rm, nil
}

// close stops the watchers and waits for them.
func (rm *readModel) close() {
	rm.cancel()
	rm.wg.Wait()
}

// follow applies a watcher's entries until ctx ends, watching again if the
// watcher stops on its own (its connection was closed).
func (rm *readModel) follow(ctx context.Context, f feed, w jetstream.KeyWatcher) {
	defer rm.wg.Done()
	for {
		err := rm.consume(ctx, f, w)
		if ctx.Err() != nil {
			return
		}
		rm.logger.Warn("bucket watcher stopped; watching again", "bucket", f.bucket, "error", err)
		rm.update(func() { rm.loaded[f.bucket] = false }) // stale until watched again
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			if w, err = f.kv.WatchAll(ctx); err == nil {
				break
			}
			rm.logger.Warn("watch bucket", "bucket", f.bucket, "error", err)
		}
	}
}

// consume applies one watcher's entries: first the current values, ended by
// a nil entry, then every change.
func (rm *readModel) consume(ctx context.Context, f feed, w jetstream.KeyWatcher) error {
	defer func() { _ = w.Stop() }()
	rm.update(func() {
		f.reset()
		rm.loaded[f.bucket] = false
	})
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("watcher closed")
			}
			rm.update(func() {
				if e == nil {
					rm.loaded[f.bucket] = true
					return
				}
				f.apply(e)
				rm.rev[f.bucket] = max(rm.rev[f.bucket], e.Revision())
			})
		}
	}
}

// update changes the state under the lock and wakes the waiters.
func (rm *readModel) update(fn func()) {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	fn()
	close(rm.changed)
	rm.changed = make(chan struct{})
}

// read calls fn with the state under the read lock. fn must not keep
// references to the maps nor modify what they hold.
func (rm *readModel) read(fn func(s *state)) {
	rm.mu.RLock()
	defer rm.mu.RUnlock()
	fn(&rm.s)
}

// waitFor waits until cond, called under the read lock, holds.
func (rm *readModel) waitFor(ctx context.Context, cond func() bool) error {
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

// ready waits until every bucket's current values are loaded.
func (rm *readModel) ready(ctx context.Context) error {
	err := rm.waitFor(ctx, func() bool {
		for _, b := range []string{events.BucketApps, events.BucketInstances, events.BucketDeployments, events.BucketLeader} {
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

// caughtUp waits until the read model has applied revision rev of bucket.
func (rm *readModel) caughtUp(ctx context.Context, bucket string, rev uint64) error {
	return rm.waitFor(ctx, func() bool { return rm.rev[bucket] >= rev })
}

// leader is the current leader record, if a scheduler holds the lock. A
// record not renewed within the bucket's TTL is gone even before the
// server's expiry reaches this replica.
func (rm *readModel) leader() (events.LeaderRecord, bool) {
	var rec events.LeaderRecord
	ok := false
	rm.read(func(s *state) {
		if s.leader == nil {
			return
		}
		if rm.leaderTTL > 0 && rm.now().Sub(s.leaderSeen) >= rm.leaderTTL {
			return
		}
		rec, ok = *s.leader, true
	})
	return rec, ok
}

// The reset and apply functions below run with the lock held.

func (rm *readModel) resetApps() { rm.s.apps = map[string]appEntry{} }

func (rm *readModel) applyApp(e jetstream.KeyValueEntry) {
	id := events.AppIDFromKey(e.Key())
	if e.Operation() != jetstream.KeyValuePut {
		delete(rm.s.apps, id)
		return
	}
	rec, err := events.Decode[events.AppRecord](e.Value())
	if err != nil {
		rm.logger.Warn("skipping app record", "key", e.Key(), "revision", e.Revision(), "error", err)
		delete(rm.s.apps, id)
		return
	}
	rec.App.ID = id
	rm.s.apps[id] = appEntry{rec: rec, rev: e.Revision()}
}

func (rm *readModel) resetInstances() {
	rm.s.instances = map[string]events.Instance{}
	rm.s.byApp = map[string]map[string]struct{}{}
}

func (rm *readModel) applyInstance(e jetstream.KeyValueEntry) {
	key := e.Key()
	if old, ok := rm.s.instances[key]; ok {
		delete(rm.s.byApp[old.AppID], key)
		if len(rm.s.byApp[old.AppID]) == 0 {
			delete(rm.s.byApp, old.AppID)
		}
		delete(rm.s.instances, key)
	}
	if e.Operation() != jetstream.KeyValuePut {
		return
	}
	in, err := events.Decode[events.Instance](e.Value())
	if err != nil {
		rm.logger.Warn("skipping instance record", "key", key, "revision", e.Revision(), "error", err)
		return
	}
	rm.s.instances[key] = in
	if rm.s.byApp[in.AppID] == nil {
		rm.s.byApp[in.AppID] = map[string]struct{}{}
	}
	rm.s.byApp[in.AppID][key] = struct{}{}
	if failed(in.State) {
		if last, ok := rm.s.failures[in.AppID]; !ok || !in.UpdatedAt.Before(last.UpdatedAt) {
			rm.s.failures[in.AppID] = in
		}
	}
}

// failed reports whether a task in this state failed (rather than being
// killed or finishing), which makes it its app's lastTaskFailure.
func failed(s events.TaskState) bool {
	switch s {
	case events.TaskFailed, events.TaskError, events.TaskLost, events.TaskDropped, events.TaskGone, events.TaskUnknown:
		return true
	}
	return false
}

func (rm *readModel) resetDeployments() { rm.s.deployments = map[string]events.Deployment{} }

func (rm *readModel) applyDeployment(e jetstream.KeyValueEntry) {
	key := e.Key()
	if e.Operation() != jetstream.KeyValuePut {
		delete(rm.s.deployments, key)
		return
	}
	d, err := events.Decode[events.Deployment](e.Value())
	if err != nil {
		rm.logger.Warn("skipping deployment record", "key", key, "revision", e.Revision(), "error", err)
		delete(rm.s.deployments, key)
		return
	}
	rm.s.deployments[key] = d
}

func (rm *readModel) resetLeader() { rm.s.leader = nil }

func (rm *readModel) applyLeader(e jetstream.KeyValueEntry) {
	if e.Key() != events.LeaderKey {
		return
	}
	if e.Operation() != jetstream.KeyValuePut {
		rm.s.leader = nil
		return
	}
	rec, err := events.Decode[events.LeaderRecord](e.Value())
	if err != nil {
		rm.logger.Warn("skipping leader record", "revision", e.Revision(), "error", err)
		rm.s.leader = nil
		return
	}
	rm.s.leader, rm.s.leaderSeen = &rec, rm.now()
}

// Queries on the state, for handlers inside read.

// sortedApps is every app, by id.
func (s *state) sortedApps() []appEntry {
	out := make([]appEntry, 0, len(s.apps))
	for _, e := range s.apps {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b appEntry) int { return cmp.Compare(a.rec.App.ID, b.rec.App.ID) })
	return out
}

// appInstances is every instance record of an app, by task id.
func (s *state) appInstances(appID string) []events.Instance {
	out := make([]events.Instance, 0, len(s.byApp[appID]))
	for key := range s.byApp[appID] {
		out = append(out, s.instances[key])
	}
	slices.SortFunc(out, func(a, b events.Instance) int { return cmp.Compare(a.TaskID, b.TaskID) })
	return out
}

// appDeployments is every running deployment that affects an app, oldest first.
func (s *state) appDeployments(appID string) []events.Deployment {
	var out []events.Deployment
	for _, d := range s.deployments {
		if slices.Contains(d.AffectedApps, appID) {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b events.Deployment) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out
}
