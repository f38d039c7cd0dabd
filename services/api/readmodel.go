package api

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/drover/drover/internal/natsutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/events/natsbus"
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
	ids         []string                       // the keys of apps, sorted
	instances   map[string]events.Instance     // by task id
	byApp       map[string]map[string]struct{} // app id -> its task ids
	deployments map[string]events.Deployment   // by deployment id
	depsByApp   map[string]map[string]struct{} // app id -> the deployments affecting it
	failures    map[string]events.Instance     // app id -> its last failed task
	versions    map[string]*appVersions        // app id -> its versions, oldest first
	queue       map[string]events.QueueEntry   // app id -> why it waits
	agents      map[string]events.AgentRecord  // by agent id
	leader      *events.LeaderRecord
	leaderSeen  time.Time // when this replica last saw the leader record written
	// changedAt is the version of the last change to any app, deletes
	// included: the root group's version.
	changedAt string
}

// versionRef is one stored version of an app: enough to list it, and to
// fetch its definition from the apps bucket by revision.
type versionRef struct {
	version      string
	rev          uint64
	deploymentID string
}

// appVersions is an app's version index. Once the app is deleted, gone is
// set and refs are kept (for a rollback of the deletion) until it is
// created again, when its history starts over, as in Marathon.
type appVersions struct {
	refs []versionRef
	gone bool
}

// readModel follows the apps, instances, deployments and leader buckets with
// KV watchers and keeps them in memory.
type readModel struct {
	logger    *slog.Logger
	leaderTTL time.Duration // the leader bucket's TTL; 0: records never expire
	history   int           // how many versions of an app the apps bucket keeps
	now       func() time.Time

	mu      sync.RWMutex
	s       state
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

// followed are the buckets the read model must have loaded to be ready.
// It also follows the queue bucket, but does not wait for it: that bucket
// is in memory (gone after a NATS restart until the scheduler leader sets
// it up again), and an empty queue is a fine answer meanwhile. Nor does it
// wait for the agents bucket, which only the cluster view reads (it waits
// for that bucket itself).
var followed = []string{events.BucketApps, events.BucketInstances, events.BucketDeployments, events.BucketLeader}

// newReadModel starts watching the buckets; close stops it.
func newReadModel(ctx context.Context, bus *natsbus.Bus, logger *slog.Logger) (*readModel, error) {
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
		depsByApp: map[string]map[string]struct{}{}, failures: map[string]events.Instance{},
		versions: map[string]*appVersions{}, queue: map[string]events.QueueEntry{},
		agents: map[string]events.AgentRecord{},
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
			rm.close()
			return nil, fmt.Errorf("api: %w", err)
		}
		rm.wg.Add(1)
		go func() { defer rm.wg.Done(); <-done }()
	}
	rm.wg.Add(1)
	go rm.followFailures(runCtx, bus.JS)
	return rm, nil
}

// close stops the watchers and waits for them.
func (rm *readModel) close() {
	rm.cancel()
	rm.wg.Wait()
}

// update changes the state under the lock and wakes the waiters.
func (rm *readModel) update(fn func()) {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	fn()
	rm.gen++
	close(rm.changed)
	rm.changed = make(chan struct{})
}

// generation counts the read model's updates: an answer made from its
// state holds until it moves.
func (rm *readModel) generation() uint64 {
	rm.mu.RLock()
	defer rm.mu.RUnlock()
	return rm.gen
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

func (rm *readModel) resetApps() {
	rm.s.apps, rm.s.ids, rm.s.versions, rm.s.changedAt = map[string]appEntry{}, nil, map[string]*appVersions{}, ""
}

func (rm *readModel) applyApp(e jetstream.KeyValueEntry) {
	id := events.AppIDFromKey(e.Key())
	vs := rm.s.versions[id]
	if e.Operation() != jetstream.KeyValuePut {
		rm.removeApp(id)
		if vs != nil {
			vs.gone = true
		}
		rm.s.changedAt = max(rm.s.changedAt, formatTime(e.Created()))
		return
	}
	rec, err := events.Decode[events.AppRecord](e.Value())
	if err != nil {
		rm.logger.Warn("skipping app record", "key", e.Key(), "revision", e.Revision(), "error", err)
		rm.removeApp(id)
		return
	}
	rec.App.ID = id
	if _, ok := rm.s.apps[id]; !ok {
		i, _ := slices.BinarySearch(rm.s.ids, id)
		rm.s.ids = slices.Insert(rm.s.ids, i, id)
	}
	rm.s.apps[id] = appEntry{rec: rec, rev: e.Revision()}
	if vs == nil || vs.gone {
		vs = &appVersions{}
		rm.s.versions[id] = vs
	}
	refs := append(slices.Clip(vs.refs), versionRef{version: rec.App.Version, rev: e.Revision(), deploymentID: rec.DeploymentID})
	if len(refs) > rm.history {
		refs = refs[len(refs)-rm.history:]
	}
	vs.refs = refs
	rm.s.changedAt = max(rm.s.changedAt, rec.App.Version)
}

func (rm *readModel) removeApp(id string) {
	if _, ok := rm.s.apps[id]; !ok {
		return
	}
	delete(rm.s.apps, id)
	if i, found := slices.BinarySearch(rm.s.ids, id); found {
		rm.s.ids = slices.Delete(slices.Clip(rm.s.ids), i, i+1)
	}
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

func (rm *readModel) resetDeployments() {
	rm.s.deployments, rm.s.depsByApp = map[string]events.Deployment{}, map[string]map[string]struct{}{}
}

func (rm *readModel) applyDeployment(e jetstream.KeyValueEntry) {
	key := e.Key()
	if old, ok := rm.s.deployments[key]; ok {
		for _, app := range old.AffectedApps {
			delete(rm.s.depsByApp[app], key)
			if len(rm.s.depsByApp[app]) == 0 {
				delete(rm.s.depsByApp, app)
			}
		}
		delete(rm.s.deployments, key)
	}
	if e.Operation() != jetstream.KeyValuePut {
		return
	}
	d, err := events.Decode[events.Deployment](e.Value())
	if err != nil {
		rm.logger.Warn("skipping deployment record", "key", key, "revision", e.Revision(), "error", err)
		return
	}
	rm.s.deployments[key] = d
	for _, app := range d.AffectedApps {
		if rm.s.depsByApp[app] == nil {
			rm.s.depsByApp[app] = map[string]struct{}{}
		}
		rm.s.depsByApp[app][key] = struct{}{}
	}
}

func (rm *readModel) resetQueue() { rm.s.queue = map[string]events.QueueEntry{} }

func (rm *readModel) applyQueue(e jetstream.KeyValueEntry) {
	id := events.AppIDFromKey(e.Key())
	if e.Operation() != jetstream.KeyValuePut {
		delete(rm.s.queue, id)
		return
	}
	q, err := events.Decode[events.QueueEntry](e.Value())
	if err != nil {
		rm.logger.Warn("skipping queue entry", "key", e.Key(), "revision", e.Revision(), "error", err)
		delete(rm.s.queue, id)
		return
	}
	rm.s.queue[id] = q
}

func (rm *readModel) resetAgents() { rm.s.agents = map[string]events.AgentRecord{} }

func (rm *readModel) applyAgent(e jetstream.KeyValueEntry) {
	key := e.Key()
	if e.Operation() != jetstream.KeyValuePut {
		delete(rm.s.agents, key)
		return
	}
	rec, err := events.Decode[events.AgentRecord](e.Value())
	if err != nil {
		rm.logger.Warn("skipping agent record", "key", key, "revision", e.Revision(), "error", err)
		delete(rm.s.agents, key)
		return
	}
	rm.s.agents[key] = rec
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
	out := make([]appEntry, 0, len(s.ids))
	for _, id := range s.ids {
		out = append(out, s.apps[id])
	}
	return out
}

// appsUnder is every app under a group ("/" for all), by id.
func (s *state) appsUnder(group string) []appEntry {
	if group == "/" {
		return s.sortedApps()
	}
	prefix := group + "/"
	i, _ := slices.BinarySearch(s.ids, prefix)
	var out []appEntry
	for ; i < len(s.ids) && strings.HasPrefix(s.ids[i], prefix); i++ {
		out = append(out, s.apps[s.ids[i]])
	}
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
	for key := range s.depsByApp[appID] {
		out = append(out, s.deployments[key])
	}
	slices.SortFunc(out, func(a, b events.Deployment) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out
}
