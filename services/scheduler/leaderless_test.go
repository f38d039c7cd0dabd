package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestLeaderless(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"no response from stream", jetstream.ErrNoStreamResponse, true},
		{"no response, wrapped", fmt.Errorf("update: %w", jetstream.ErrNoStreamResponse), true},
		{"no responders", nats.ErrNoResponders, true},
		{"cluster not available (503, 10008)", &jetstream.APIError{Code: 503, ErrorCode: jsClusterNotAvail}, true},
		{"revision conflict: someone answered", jetstream.ErrKeyRevisionMismatch, false},
		{"wrong last sequence", &jetstream.APIError{Code: 400, ErrorCode: jetstream.JSErrCodeStreamWrongLastSequence}, false},
		{"timeout: says nothing about who may write", context.DeadlineExceeded, false},
		{"a connection's timeout", nats.ErrTimeout, false},
		{"not ours", errNotOurs, false},
	} {
		if got := leaderless(tc.err); got != tc.want {
			t.Errorf("%s: leaderless(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}

func TestLeaseDeadline(t *testing.T) {
	ttl := 2 * time.Second
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	for _, tc := range []struct {
		name     string
		noLeader time.Time
		want     time.Time
	}{
		{"renewed only: 3/4 TTL after it was sent", time.Time{}, at(1500 * time.Millisecond)},
		{"a no-leader answer before the renewal counts for nothing", at(-time.Second), at(1500 * time.Millisecond)},
		{"a no-leader answer extends from when its try was sent", at(time.Second), at(2500 * time.Millisecond)},
		{"late in the election", at(9 * time.Second), at(10500 * time.Millisecond)},
		{"at the bound", at(maxLeaderless), at(maxLeaderless + 1500*time.Millisecond)},
		{"past the bound: no longer (a cluster without quorum)", at(maxLeaderless + time.Millisecond), at(1500 * time.Millisecond)},
	} {
		if got := leaseDeadline(ttl, t0, tc.noLeader); !got.Equal(tc.want) {
			t.Errorf("%s: deadline = +%s, want +%s", tc.name, got.Sub(t0), tc.want.Sub(t0))
		}
	}
}

func TestLockHold(t *testing.T) {
	ttl := 2 * time.Second
	now := time.Date(2026, 1, 1, 0, 0, 10, 0, time.UTC)
	since := func(d time.Duration) *time.Time { s := now.Add(-d); return &s }
	peers := func(names ...string) []*jetstream.PeerInfo {
		var out []*jetstream.PeerInfo
		for _, n := range names {
			out = append(out, &jetstream.PeerInfo{Name: n, Current: true})
		}
		return out
	}
	for _, tc := range []struct {
		name string
		ci   *jetstream.ClusterInfo
		want time.Duration
	}{
		{"a single node: no cluster information", nil, 0},
		{"one replica", &jetstream.ClusterInfo{Leader: "n1", LeaderSince: since(0)}, 0},
		{"two replicas", &jetstream.ClusterInfo{Leader: "n1", LeaderSince: since(0), Replicas: peers("n2")}, 0},
		{"a leader of long standing", &jetstream.ClusterInfo{Leader: "n1", LeaderSince: since(time.Minute), Replicas: peers("n2", "n3")}, 0},
		{"a leader elected exactly a TTL ago", &jetstream.ClusterInfo{Leader: "n1", LeaderSince: since(ttl), Replicas: peers("n2", "n3")}, 0},
		{"a leader just elected: wait a TTL", &jetstream.ClusterInfo{Leader: "n1", LeaderSince: since(0), Replicas: peers("n2", "n3")}, ttl},
		{"elected half a second ago", &jetstream.ClusterInfo{Leader: "n1", LeaderSince: since(500 * time.Millisecond), Replicas: peers("n2", "n3")}, 1500 * time.Millisecond},
		{"no leader", &jetstream.ClusterInfo{Replicas: peers("n2", "n3")}, ttl},
		{"a server that does not say since when (before 2.11)", &jetstream.ClusterInfo{Leader: "n1", Replicas: peers("n2", "n3")}, 0},
	} {
		if got := lockHold(ttl, tc.ci, now); got != tc.want {
			t.Errorf("%s: hold = %s, want %s", tc.name, got, tc.want)
		}
	}
}

// noLeaderKV answers every Update as a bucket whose stream has no leader
// would (no responders), or as a lost answer (timeout), while told to.
type noLeaderKV struct {
	jetstream.KeyValue
	fail atomic.Pointer[error]
}

func (kv *noLeaderKV) Update(ctx context.Context, key string, value []byte, last uint64) (uint64, error) {
	if err := kv.fail.Load(); err != nil {
		return 0, *err
	}
	return kv.KeyValue.Update(ctx, key, value, last)
}

func (kv *noLeaderKV) set(err error) {
	if err == nil {
		kv.fail.Store(nil)
		return
	}
	kv.fail.Store(&err)
}

// holding starts a term of e on kv and returns its context once it leads.
func holding(t *testing.T, e *elector) (term, func()) {
	t.Helper()
	epoch, rev, sent, ok := e.campaign(t.Context())
	if !ok {
		t.Fatal("campaign lost on an empty lock")
	}
	ctx, cancel := context.WithCancel(t.Context())
	terms := make(chan term, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.hold(ctx, epoch, rev, sent, func(tm term) { terms <- tm; <-tm.ctx.Done() })
	}()
	tm := <-terms
	return tm, func() { cancel(); <-done }
}

// The lock's stream loses its leader for longer than the lock lives: the
// term goes on, and once the stream is back the holder writes its record
// again (nothing was written since) at the same epoch. Writes of the key
// hear "no responders", or (agents subscribe to it) go unanswered while
// the probe hears "no responders".
func TestElectorKeepsItsTermWhileTheLockStreamHasNoLeader(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write error
	}{
		{"writes hear no responders", jetstream.ErrNoStreamResponse},
		{"writes go unanswered, the probe hears no responders", context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) { keepsItsTerm(t, tc.write) })
	}
}

func keepsItsTerm(t *testing.T, write error) {
	js := testutil.RunJetStream(t)
	bus := js.Bus(t)
	kv := &noLeaderKV{KeyValue: bus.Leader}
	var noLeader atomic.Bool
	e := &elector{kv: kv, id: "s1", nonce: "this-process", hostname: "h", ttl: 2 * time.Second,
		logger: testutil.Logger(t), now: time.Now, resume: resumeLockOf(bus.JS, events.BucketLeader),
		probe: func(context.Context) error {
			if noLeader.Load() {
				return nats.ErrNoResponders
			}
			return nil
		}}
	tm, stop := holding(t, e)
	defer stop()

	noLeader.Store(true)
	kv.set(write)
	testutil.Eventually(t, 15*time.Second, 50*time.Millisecond, func() error {
		if _, err := bus.Leader.Get(t.Context(), events.LeaderKey); !errors.Is(err, jetstream.ErrKeyNotFound) {
			return fmt.Errorf("the lock has not expired yet (%v)", err)
		}
		return nil
	})
	if tm.ctx.Err() != nil {
		t.Fatal("the term ended while the lock's stream had no leader")
	}
	kv.set(nil)
	noLeader.Store(false)
	testutil.Eventually(t, 10*time.Second, 50*time.Millisecond, func() error {
		ent, err := bus.Leader.Get(t.Context(), events.LeaderKey)
		if err != nil {
			return err
		}
		rec, err := events.Decode[events.LeaderRecord](ent.Value())
		if err != nil {
			return err
		}
		if rec.Nonce != "this-process" || rec.Epoch != tm.Epoch {
			return fmt.Errorf("lock = %+v, want this term's record (epoch %d)", rec, tm.Epoch)
		}
		return nil
	})
	if tm.ctx.Err() != nil {
		t.Fatal("the term ended when the lock's stream came back")
	}
}

// A lock written while the holder could not reach it (here another
// scheduler took it and let it go) is never taken back: the term ends.
func TestElectorEndsItsTermWhenTheLockWasWrittenMeanwhile(t *testing.T) {
	js := testutil.RunJetStream(t)
	bus := js.Bus(t)
	kv := &noLeaderKV{KeyValue: bus.Leader}
	e := &elector{kv: kv, id: "s1", nonce: "this-process", hostname: "h", ttl: 2 * time.Second,
		logger: testutil.Logger(t), now: time.Now, resume: resumeLockOf(bus.JS, events.BucketLeader)}
	tm, stop := holding(t, e)
	defer stop()

	kv.set(jetstream.ErrNoStreamResponse)
	testutil.Eventually(t, 15*time.Second, 50*time.Millisecond, func() error {
		_, err := bus.Leader.Create(t.Context(), events.LeaderKey, []byte(`{"v":1,"schedulerId":"s2"}`))
		return err
	})
	if err := bus.Leader.Delete(t.Context(), events.LeaderKey); err != nil {
		t.Fatal(err)
	}
	kv.set(nil)
	select {
	case <-tm.ctx.Done():
	case <-time.After(15 * time.Second):
		t.Fatal("the term went on over a lock another scheduler wrote")
	}
	if ent, err := bus.Leader.Get(t.Context(), events.LeaderKey); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("the lock was written again after another scheduler's term: %v %v", ent, err)
	}
}

// A renewal that times out is no evidence that nobody else can write the
// lock, nor is a probe the stream's leader answers: the term ends at its
// deadline, as before.
func TestElectorEndsItsTermWhenRenewalsTimeOut(t *testing.T) {
	js := testutil.RunJetStream(t)
	bus := js.Bus(t)
	kv := &noLeaderKV{KeyValue: bus.Leader}
	nc := js.Connect(t)
	e := &elector{kv: kv, id: "s1", nonce: "this-process", hostname: "h", ttl: 2 * time.Second,
		logger: testutil.Logger(t), now: time.Now, resume: resumeLockOf(bus.JS, events.BucketLeader), probe: probeLockOf(nc)}
	tm, stop := holding(t, e)
	defer stop()
	kv.set(context.DeadlineExceeded)
	select {
	case <-tm.ctx.Done():
	case <-time.After(15 * time.Second):
		t.Fatal("the term outlived its lease with every renewal unanswered")
	}
}

// "No leader" heard on the lease's server says nothing of the server the
// term writes through when that is another one (which may reach a leader
// the lease's cannot): the term ends at its deadline.
func TestElectorEndsItsTermWhenNoLeaderIsHeardOnAnotherServer(t *testing.T) {
	js := testutil.RunJetStream(t)
	bus := js.Bus(t)
	kv := &noLeaderKV{KeyValue: bus.Leader}
	e := &elector{kv: kv, id: "s1", nonce: "this-process", hostname: "h", ttl: 2 * time.Second,
		logger: testutil.Logger(t), now: time.Now, resume: resumeLockOf(bus.JS, events.BucketLeader),
		probe: func(context.Context) error { return nats.ErrNoResponders }, oneServer: func() bool { return false }}
	tm, stop := holding(t, e)
	defer stop()
	kv.set(jetstream.ErrNoStreamResponse)
	select {
	case <-tm.ctx.Done():
	case <-time.After(15 * time.Second):
		t.Fatal("the term outlived its lease on another server's word")
	}
}

// The probe is answered (refused, not stored) while the lock's stream has a
// leader, and hears "no responders" when nothing leads it.
func TestProbeLock(t *testing.T) {
	js := testutil.RunJetStream(t)
	bus := js.Bus(t)
	if err := probeLockOf(js.Connect(t))(t.Context()); err != nil || leaderless(err) {
		t.Errorf("probe of a led stream = %v, want an answer", err)
	}
	if _, err := bus.Leader.Get(t.Context(), "probe"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("the probe was stored: %v", err)
	}
	bare := testutil.RunJetStream(t) // no leader bucket: nothing leads its stream
	if err := probeLockOf(bare.Connect(t))(t.Context()); !leaderless(err) {
		t.Errorf("probe of a stream nobody leads = %v, want no responders", err)
	}
}
