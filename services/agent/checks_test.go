package agent

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
)

const checkWait = 5 * time.Second

// app is a fake task's endpoints: /healthz answers 500 while failing,
// /ready answers 503 until ready; every request is counted.
type app struct {
	failing, ready     atomic.Bool
	requests, inFlight atomic.Int64
	maxInFlight        atomic.Int64
	delay              time.Duration
	srv                *httptest.Server
}

func newApp(t *testing.T) *app {
	a := &app{}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.requests.Add(1)
		n := a.inFlight.Add(1)
		defer a.inFlight.Add(-1)
		for m := a.maxInFlight.Load(); n > m && !a.maxInFlight.CompareAndSwap(m, n); m = a.maxInFlight.Load() {
		}
		if a.delay > 0 {
			select {
			case <-r.Context().Done():
			case <-time.After(a.delay):
			}
		}
		switch {
		case r.URL.Path == "/healthz" && a.failing.Load():
			w.WriteHeader(http.StatusInternalServerError)
		case r.URL.Path == "/ready" && !a.ready.Load():
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *app) port(t *testing.T) int {
	_, p, err := net.SplitHostPort(a.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

// quiet waits until the app goes 150ms (7 check intervals) without a request.
func (a *app) quiet(t *testing.T) {
	t.Helper()
	last := int64(-1)
	testutil.Eventually(t, checkWait, 150*time.Millisecond, func() error {
		n := a.requests.Load()
		prev := last
		last = n
		if n != prev {
			return fmt.Errorf("still requested: %d then %d", prev, n)
		}
		return nil
	})
}

// fakeRecaller recalls the specs it holds.
type fakeRecaller map[string]CheckSpec

func (f fakeRecaller) RecallChecks(_ context.Context, taskID string) (CheckSpec, error) {
	return f[taskID], nil
}

func newTestChecker(t *testing.T, maxConcurrent int, recall CheckRecaller) (*checker, *sync.Map) {
	changes := &sync.Map{} // task -> number of changes
	c := newChecker(checkerConfig{maxConcurrent: maxConcurrent, minInterval: 20 * time.Millisecond, address: "127.0.0.1"},
		nil, recall, func(id string) {
			n, _ := changes.LoadOrStore(id, new(atomic.Int64))
			n.(*atomic.Int64).Add(1)
		}, slog.New(slog.DiscardHandler))
	t.Cleanup(c.Close)
	return c, changes
}

func httpCheck(path string) marathon.HealthCheck {
	zero := 0
	return marathon.HealthCheck{Protocol: "HTTP", Path: path, PortIndex: &zero, TimeoutSeconds: 1}
}

func running(id string, ports ...int) events.TaskReport {
	return events.TaskReport{TaskID: id, State: events.TaskRunning, HostPorts: ports, StartedAt: time.Now()}
}

func waitHealth(t *testing.T, c *checker, id, what string, ok func(events.HealthResult) bool) events.HealthResult {
	t.Helper()
	var got events.HealthResult
	testutil.Eventually(t, checkWait, 10*time.Millisecond, func() error {
		h, _ := c.Snapshot(id)
		if len(h) == 0 || !ok(h[0]) {
			return fmt.Errorf("health %+v, want %s", h, what)
		}
		got = h[0]
		return nil
	})
	return got
}

func TestCheckerFollowsHealth(t *testing.T) {
	a := newApp(t)
	c, changes := newTestChecker(t, 4, nil)
	c.Remember("t1", CheckSpec{HealthChecks: []marathon.HealthCheck{httpCheck("/healthz")}})
	c.Start(running("t1", a.port(t)))
	waitHealth(t, c, "t1", "alive", func(h events.HealthResult) bool { return h.Alive })
	a.failing.Store(true)
	h := waitHealth(t, c, "t1", "3 failures", func(h events.HealthResult) bool { return h.ConsecutiveFailures >= 3 })
	if h.Alive || h.LastFailureCause != "HTTP status 500" || h.FirstSuccess.IsZero() {
		t.Fatalf("failing health %+v", h)
	}
	a.failing.Store(false)
	waitHealth(t, c, "t1", "alive again", func(h events.HealthResult) bool { return h.Alive && h.ConsecutiveFailures == 0 })
	n, _ := changes.Load("t1")
	if got := n.(*atomic.Int64).Load(); got < 5 { // alive, 3 failures, alive again
		t.Fatalf("%d changes reported, want at least 5", got)
	}
}

func TestCheckerGracePeriod(t *testing.T) {
	a := newApp(t)
	a.failing.Store(true)
	c, _ := newTestChecker(t, 4, nil)
	hc := httpCheck("/healthz")
	hc.GracePeriodSeconds = 3600
	c.Remember("t1", CheckSpec{HealthChecks: []marathon.HealthCheck{hc}})
	c.Start(running("t1", a.port(t)))
	testutil.Eventually(t, checkWait, 10*time.Millisecond, func() error {
		if n := a.requests.Load(); n < 3 {
			return fmt.Errorf("%d probes", n)
		}
		return nil
	})
	if h, _ := c.Snapshot("t1"); h != nil {
		t.Fatalf("failures in the grace period were counted: %+v", h)
	}
	a.failing.Store(false)
	waitHealth(t, c, "t1", "alive", func(h events.HealthResult) bool { return h.Alive })
	a.failing.Store(true) // the first success ends the grace period
	waitHealth(t, c, "t1", "failing", func(h events.HealthResult) bool { return h.ConsecutiveFailures > 0 })
}

func TestCheckerReadiness(t *testing.T) {
	a := newApp(t)
	c, changes := newTestChecker(t, 4, nil)
	rc := marathon.ReadinessCheck{Protocol: "HTTP", Path: "/ready", PortName: "api", HTTPStatusCodesForReady: []int{200}}
	c.Remember("t1", CheckSpec{ReadinessChecks: []marathon.ReadinessCheck{rc}, Ports: []CheckPort{{Name: "api"}}})
	if _, ready := c.Snapshot("t1"); ready == nil || *ready {
		t.Fatalf("ready before the start: %v", ready)
	}
	c.Start(running("t1", a.port(t)))
	testutil.Eventually(t, checkWait, 10*time.Millisecond, func() error {
		if n := a.requests.Load(); n < 2 {
			return fmt.Errorf("%d probes", n)
		}
		return nil
	})
	if health, ready := c.Snapshot("t1"); ready == nil || *ready || health != nil {
		t.Fatalf("not ready yet: %v %v", health, ready)
	}
	a.ready.Store(true)
	testutil.Eventually(t, checkWait, 10*time.Millisecond, func() error {
		if _, ready := c.Snapshot("t1"); ready == nil || !*ready {
			return fmt.Errorf("ready %v", ready)
		}
		return nil
	})
	a.quiet(t) // checked no more once ready
	if n, _ := changes.Load("t1"); n.(*atomic.Int64).Load() != 1 {
		t.Fatalf("%d changes, want 1", n.(*atomic.Int64).Load())
	}
}

func TestCheckerStopAndForget(t *testing.T) {
	a := newApp(t)
	c, _ := newTestChecker(t, 4, nil)
	c.Remember("t1", CheckSpec{HealthChecks: []marathon.HealthCheck{httpCheck("/healthz")}})
	c.Start(running("t1", a.port(t)))
	waitHealth(t, c, "t1", "alive", func(h events.HealthResult) bool { return h.Alive })
	c.Stop("t1")
	a.quiet(t)
	if h, _ := c.Snapshot("t1"); h != nil {
		t.Fatalf("a stopped task has health %+v", h)
	}
	// Its checks are kept: it runs again, checked again.
	c.Start(running("t1", a.port(t)))
	waitHealth(t, c, "t1", "alive", func(h events.HealthResult) bool { return h.Alive })
	c.Forget("t1")
	a.quiet(t)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.specs) != 0 || len(c.tasks) != 0 {
		t.Fatalf("forgotten task kept: %v %v", c.specs, c.tasks)
	}
}

func TestCheckerSyncAdoptsAndDrops(t *testing.T) {
	a := newApp(t)
	recall := fakeRecaller{"old.1": {HealthChecks: []marathon.HealthCheck{httpCheck("/healthz")}}}
	c, _ := newTestChecker(t, 4, recall)
	before := time.Now()
	c.Sync([]events.TaskReport{running("old.1", a.port(t))}, before)
	waitHealth(t, c, "old.1", "alive", func(h events.HealthResult) bool { return h.Alive })
	// Listed before the checking began: its absence proves nothing.
	c.Sync(nil, before)
	if h, _ := c.Snapshot("old.1"); h == nil {
		t.Fatal("a task absent from an older list was dropped")
	}
	c.Sync([]events.TaskReport{{TaskID: "old.1", State: events.TaskKilling}}, time.Now())
	a.quiet(t)
	c.Sync([]events.TaskReport{running("old.1", a.port(t))}, time.Now())
	waitHealth(t, c, "old.1", "alive", func(h events.HealthResult) bool { return h.Alive })
	c.Sync(nil, time.Now())
	a.quiet(t)
	if h, _ := c.Snapshot("old.1"); h != nil {
		t.Fatalf("a vanished task is still checked: %+v", h)
	}
}

func TestCheckerBoundsProbes(t *testing.T) {
	a := newApp(t)
	a.delay = 30 * time.Millisecond
	c, _ := newTestChecker(t, 2, nil)
	for i := range 6 {
		id := fmt.Sprintf("t%d", i)
		c.Remember(id, CheckSpec{HealthChecks: []marathon.HealthCheck{httpCheck("/healthz")}})
		c.Start(running(id, a.port(t)))
	}
	for i := range 6 {
		waitHealth(t, c, fmt.Sprintf("t%d", i), "alive", func(h events.HealthResult) bool { return h.Alive })
	}
	if m := a.maxInFlight.Load(); m > 2 {
		t.Fatalf("%d probes at once, want at most 2", m)
	}
}

func TestCheckerCloseEndsEveryCheck(t *testing.T) {
	a := newApp(t)
	a.delay = time.Minute // every probe hangs until its timeout
	base := runtime.NumGoroutine()
	c := newChecker(checkerConfig{maxConcurrent: 2, minInterval: 20 * time.Millisecond, address: "127.0.0.1"},
		nil, nil, func(string) {}, slog.New(slog.DiscardHandler))
	hc := httpCheck("/healthz")
	hc.TimeoutSeconds = 60
	for i := range 5 {
		id := fmt.Sprintf("t%d", i)
		c.Remember(id, CheckSpec{HealthChecks: []marathon.HealthCheck{hc, hc}})
		c.Start(running(id, a.port(t)))
	}
	testutil.Eventually(t, checkWait, 10*time.Millisecond, func() error {
		if n := a.inFlight.Load(); n != 2 {
			return fmt.Errorf("%d probes in flight", n)
		}
		return nil
	})
	done := make(chan struct{})
	go func() { c.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(checkWait):
		t.Fatal("Close waits for hanging probes")
	}
	c.Start(running("late", a.port(t))) // after Close: nothing starts
	testutil.Eventually(t, checkWait, 10*time.Millisecond, func() error {
		if n := runtime.NumGoroutine(); n > base {
			return fmt.Errorf("%d goroutines, %d before the checker", n, base)
		}
		return nil
	})
}
