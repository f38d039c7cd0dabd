package scheduler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/events/natsbus"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

type runningScheduler struct {
	*Scheduler
	nc     *nats.Conn
	cancel context.CancelFunc
	done   chan struct{}
}

func startScheduler(t *testing.T, js *testutil.JetStream, id string) *runningScheduler {
	t.Helper()
	return startSchedulerWith(t, js, id, nil)
}

func startSchedulerWith(t *testing.T, js *testutil.JetStream, id string, tune func(*Config)) *runningScheduler {
	t.Helper()
	nc := js.Connect(t)
	jsc, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	bus, err := natsbus.Setup(t.Context(), jsc, events.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.ID, cfg.Hostname = id, id
	if tune != nil {
		tune(&cfg)
	}
	s, err := New(cfg, bus, nc, testutil.Logger(t).With("test-scheduler", id))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &runningScheduler{Scheduler: s, nc: nc, cancel: cancel, done: make(chan struct{})}
	go func() { defer close(r.done); _ = s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

func leaderOf(ss ...*runningScheduler) (*runningScheduler, error) {
	var leaders []*runningScheduler
	for _, s := range ss {
		if s.Epoch() > 0 {
			leaders = append(leaders, s)
		}
	}
	if len(leaders) != 1 {
		return nil, fmt.Errorf("%d leaders, want 1", len(leaders))
	}
	return leaders[0], nil
}

func TestLeaderFailover(t *testing.T) {
	js := testutil.RunJetStream(t)
	a := startScheduler(t, js, "a")
	b := startScheduler(t, js, "b")

	var first *runningScheduler
	testutil.Eventually(t, 5*time.Second, 20*time.Millisecond, func() (err error) {
		first, err = leaderOf(a, b)
		return err
	})
	epoch1 := first.Epoch()
	other := a
	if first == a {
		other = b
	}
	leader := readLeader(t, js)
	if leader.SchedulerID != first.cfg.ID || leader.Epoch != epoch1 {
		t.Fatalf("leader record = %+v, want scheduler %s epoch %d", leader, first.cfg.ID, epoch1)
	}

	// A crash: the leader's connection is gone, nothing releases the lock.
	crashed := time.Now()
	first.nc.Close()
	testutil.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
		if other.Epoch() == 0 {
			return errors.New("no new leader yet")
		}
		return nil
	})
	took := time.Since(crashed)
	t.Logf("new leader after a crash: %s (leader TTL %s)", took, other.cfg.LeaderTTL)
	if limit := 3 * other.cfg.LeaderTTL; took > limit {
		t.Errorf("takeover took %s, want under %s", took, limit)
	}
	if other.Epoch() <= epoch1 {
		t.Errorf("new epoch %d is not above the old %d", other.Epoch(), epoch1)
	}
	testutil.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
		if first.Epoch() != 0 {
			return errors.New("the cut-off leader still believes it leads")
		}
		return nil
	})
}

func TestLeaderReleasesOnShutdown(t *testing.T) {
	js := testutil.RunJetStream(t)
	a := startScheduler(t, js, "a")
	testutil.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
		if a.Epoch() == 0 {
			return errors.New("not leading")
		}
		return nil
	})
	b := startScheduler(t, js, "b")
	bus := js.Bus(t)
	w, err := bus.Leader.Watch(t.Context(), events.LeaderKey, jetstream.UpdatesOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w.Stop() }()
	stopped := time.Now()
	a.cancel()
	<-a.done
	// The lock was released (deleted), not left to expire.
	testutil.Eventually(t, 5*time.Second, 10*time.Millisecond, func() error {
		select {
		case e := <-w.Updates():
			if e != nil && e.Operation() == jetstream.KeyValueDelete {
				return nil
			}
			return errors.New("an update that is not a release")
		default:
			return errors.New("no release yet")
		}
	})
	testutil.Eventually(t, 5*time.Second, 10*time.Millisecond, func() error {
		if b.Epoch() == 0 {
			return errors.New("b does not lead yet")
		}
		return nil
	})
	t.Logf("new leader after a clean shutdown: %s (a crashed leader's lock lives %s)", time.Since(stopped), b.cfg.LeaderTTL)
}

func readLeader(t *testing.T, js *testutil.JetStream) events.LeaderRecord {
	t.Helper()
	bus := js.Bus(t)
	e, err := bus.Leader.Get(t.Context(), events.LeaderKey)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := events.Decode[events.LeaderRecord](e.Value())
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// TestElectorReclaimsItsOwnLock: a lock this process wrote, whose answer it
// lost, is taken back at once, as a new term whose epoch is above the lost
// one's; a lock another process wrote under the same id is not.
func TestElectorReclaimsItsOwnLock(t *testing.T) {
	js := testutil.RunJetStream(t)
	bus := js.Bus(t)
	e := &elector{kv: bus.Leader, id: "s1", nonce: "this-process", hostname: "h", ttl: 2 * time.Second,
		logger: testutil.Logger(t), now: time.Now}
	write := func(rec events.LeaderRecord) uint64 {
		t.Helper()
		data, err := events.Encode(rec)
		if err != nil {
			t.Fatal(err)
		}
		_ = bus.Leader.Delete(t.Context(), events.LeaderKey)
		rev, err := bus.Leader.Create(t.Context(), events.LeaderKey, data)
		if err != nil {
			t.Fatal(err)
		}
		return rev
	}
	// reclaimed checks a campaign over the lock this process wrote: a new
	// epoch, and the lineage wantLineage (0: the new epoch itself).
	reclaimed := func(what string, lost, wantLineage uint64) {
		t.Helper()
		epoch, rev, _, ok := e.campaign(t.Context())
		if !ok || epoch <= lost || rev <= epoch {
			t.Fatalf("%s: campaign = epoch %d rev %d ok %v, want a new epoch above %d", what, epoch, rev, ok, lost)
		}
		wantLineage = cmp.Or(wantLineage, epoch)
		if got := readLeader(t, js); got.Epoch != epoch || got.Nonce != "this-process" || got.Lineage != wantLineage {
			t.Errorf("%s: lock after reclaiming = %+v, want epoch %d, lineage %d", what, got, epoch, wantLineage)
		}
	}

	// The Create landed, the Update recording its epoch did not answer:
	// that term sent nothing, the new one starts its own lineage.
	reclaimed("an unrecorded Create", write(e.record(0)), 0)
	// A renewal's answer was lost: the term that held epoch 41 goes on as
	// one lineage, and so does the one after it.
	e.lineage = 0 // a record from before lineages
	reclaimed("a recorded lock", write(e.record(41)), 41)
	e.lineage = 30
	reclaimed("a lock of lineage 30", write(e.record(41)), 30)

	// Another process under the same id (a restart, or a misconfiguration).
	other := e.record(7)
	other.Nonce = "another-process"
	write(other)
	if epoch, _, _, ok := e.campaign(t.Context()); ok {
		t.Errorf("took another process's lock (epoch %d)", epoch)
	}
	if got := readLeader(t, js); got.Nonce != "another-process" {
		t.Errorf("another process's lock was overwritten: %+v", got)
	}
}

// lossyKV loses the answer of the Updates it is told to: the write lands,
// the caller sees a timeout.
type lossyKV struct {
	jetstream.KeyValue
	lose int // Updates still to lose
	// replicated answers a revision conflict as a replicated stream does
	// (code 10164, which is no ErrKeyExists).
	replicated bool
}

func (kv *lossyKV) Update(ctx context.Context, key string, value []byte, last uint64) (uint64, error) {
	rev, err := kv.KeyValue.Update(ctx, key, value, last)
	if err == nil && kv.lose > 0 {
		kv.lose--
		return 0, context.DeadlineExceeded
	}
	if kv.replicated && errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		err = fmt.Errorf("%w: %w", &jetstream.APIError{Code: 400, ErrorCode: jetstream.JSErrCodeStreamWrongLastSequenceConstant}, jetstream.ErrKeyRevisionMismatch)
	}
	return rev, err
}

// A renewal whose answer is lost (a loaded server, a slow scheduler) keeps
// the term: the lock still holds this term's record. One that finds
// another process's record ends it.
func TestElectorRenewalSurvivesALostAnswer(t *testing.T) {
	js := testutil.RunJetStream(t)
	bus := js.Bus(t)
	kv := &lossyKV{KeyValue: bus.Leader}
	e := &elector{kv: kv, id: "s1", nonce: "this-process", hostname: "h", ttl: 2 * time.Second,
		logger: testutil.Logger(t), now: time.Now}
	epoch, rev, _, ok := e.campaign(t.Context())
	if !ok {
		t.Fatal("campaign lost on an empty lock")
	}
	data, err := events.Encode(e.record(epoch))
	if err != nil {
		t.Fatal(err)
	}

	kv.lose = 1
	next, _, err := e.renew(t.Context(), data, rev, func(time.Time) {})
	if err != nil || next <= rev {
		t.Fatalf("renewal with a lost answer = rev %d, %v; want a revision above %d", next, err, rev)
	}
	kv.lose, kv.replicated = 1, true
	rctx, rcancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer rcancel()
	if again, _, err := e.renew(rctx, data, next, func(time.Time) {}); err != nil || again <= next {
		t.Fatalf("renewal with a lost answer on a replicated bucket = rev %d, %v; want a revision above %d", again, err, next)
	} else {
		next = again
	}
	if got := readLeader(t, js); got.Epoch != epoch || got.Nonce != "this-process" {
		t.Errorf("lock after the renewal = %+v, want this term's (epoch %d)", got, epoch)
	}

	other := e.record(epoch)
	other.Nonce = "another-process"
	otherData, err := events.Encode(other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bus.Leader.Update(t.Context(), events.LeaderKey, otherData, next); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, _, err := e.renew(ctx, data, next, func(time.Time) {}); !errors.Is(err, errNotOurs) {
		t.Errorf("renewal over another process's record (replicated bucket) = %v, want errNotOurs", err)
	}
}
