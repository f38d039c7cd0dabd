package plandemand

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/nats-io/nats.go"
)

// notices records what is said on events.PlanDemand.
type notices struct {
	mu  sync.Mutex
	all []events.PlanDemandNotice
}

func listen(t *testing.T, nc *nats.Conn) *notices {
	t.Helper()
	l := &notices{}
	sub, err := nc.Subscribe(events.PlanDemand, func(m *nats.Msg) {
		n, err := events.Decode[events.PlanDemandNotice](m.Data)
		if err != nil {
			t.Errorf("undecodable notice %q: %v", m.Data, err)
			return
		}
		l.mu.Lock()
		l.all = append(l.all, n)
		l.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return l
}

func (l *notices) list() []events.PlanDemandNotice {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]events.PlanDemandNotice(nil), l.all...)
}

// waitFor waits until the notices number n, and returns them.
func (l *notices) waitFor(t *testing.T, n int) []events.PlanDemandNotice {
	t.Helper()
	var got []events.PlanDemandNotice
	testutil.Eventually(t, 5*time.Second, 5*time.Millisecond, func() error {
		if got = l.list(); len(got) < n {
			return fmt.Errorf("%d notices, want %d: %+v", len(got), n, got)
		}
		return nil
	})
	return got
}

// An attached stream is announced before Attach returns, renewed every
// period while it lasts, and its end said once on release; then nothing.
func TestAnnouncerAnnouncesWhileAttached(t *testing.T) {
	js := testutil.RunJetStream(t)
	heard := listen(t, js.Connect(t))
	const every = 50 * time.Millisecond
	a, err := newAnnouncer(js.Connect(t), "api1", nil, NewTracker(time.Minute, nil, nil), every, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)

	time.Sleep(3 * every)
	if got := heard.list(); len(got) != 0 {
		t.Fatalf("notices without demand: %+v", got)
	}
	if a.Wanted(time.Now()) {
		t.Fatal("wanted without demand")
	}
	release := a.Attach()
	if !a.Wanted(time.Now()) {
		t.Error("not wanted with a stream attached")
	}
	first := heard.waitFor(t, 1)[0]
	if first.API != "api1" || first.Instance == "" || first.Streams != 1 || first.Callbacks != 0 || first.At.IsZero() {
		t.Errorf("first notice %+v, want api1's one stream", first)
	}
	renewed := heard.waitFor(t, 3)
	for _, n := range renewed {
		if n.Streams != 1 || n.Instance != first.Instance {
			t.Errorf("renewal %+v, want the same process's one stream", n)
		}
	}

	release()
	release() // idempotent
	// The end comes after the renewals, and after it nothing.
	var end int
	testutil.Eventually(t, 5*time.Second, 5*time.Millisecond, func() error {
		got := heard.list()
		if last := got[len(got)-1]; last.Wants() {
			return fmt.Errorf("last notice %+v, want the end", last)
		}
		end = len(got)
		return nil
	})
	time.Sleep(4 * every)
	if got := heard.list(); len(got) != end {
		t.Errorf("notices after the end: %+v", got[end:])
	}
}

// Callback URLs are demand too: renewed while there are some, ended when
// the last goes; Announce says it at once.
func TestAnnouncerAnnouncesCallbacks(t *testing.T) {
	js := testutil.RunJetStream(t)
	heard := listen(t, js.Connect(t))
	var urls atomic.Int64
	const every = 50 * time.Millisecond
	a, err := newAnnouncer(js.Connect(t), "api1", func() int { return int(urls.Load()) }, NewTracker(time.Minute, nil, nil), every, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)

	urls.Store(2)
	if !a.Wanted(time.Now()) {
		t.Error("not wanted with callback URLs")
	}
	a.Announce()
	if n := heard.waitFor(t, 1)[0]; n.Callbacks != 2 || n.Streams != 0 {
		t.Errorf("notice %+v, want 2 callbacks", n)
	}
	heard.waitFor(t, 3) // renewed
	urls.Store(0)
	testutil.Eventually(t, 5*time.Second, 5*time.Millisecond, func() error {
		got := heard.list()
		if got[len(got)-1].Wants() {
			return fmt.Errorf("no end yet: %+v", got[len(got)-1])
		}
		return nil
	})
}

// Another replica's notices reach the tracker: wanted while they hold.
func TestAnnouncersHearEachOther(t *testing.T) {
	js := testutil.RunJetStream(t)
	one, err := NewAnnouncer(js.Connect(t), "api1", nil, NewTracker(events.PlanDemandHold, nil, nil), testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(one.Close)
	other, err := NewAnnouncer(js.Connect(t), "api2", nil, NewTracker(events.PlanDemandHold, nil, nil), testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(other.Close)

	release := one.Attach()
	testutil.Eventually(t, 5*time.Second, 5*time.Millisecond, func() error {
		if !other.Wanted(time.Now()) {
			return fmt.Errorf("api2 does not know of api1's stream")
		}
		return nil
	})
	release()
	testutil.Eventually(t, 5*time.Second, 5*time.Millisecond, func() error {
		if other.Wanted(time.Now()) || one.Wanted(time.Now()) {
			return fmt.Errorf("still wanted after the only stream went")
		}
		return nil
	})
}
