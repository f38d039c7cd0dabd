package callbacks

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drover/drover/internal/testutil"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// newBareService is a Service with workers only: no bucket, no consumer.
func newBareService(t *testing.T, cfg Config) *Service {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{cfg: cfg, logger: slog.New(slog.DiscardHandler), client: &http.Client{Timeout: cfg.Timeout}, now: time.Now,
		Deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "test_callbacks_total", Help: "test"}, []string{"outcome"}),
		ctx:        ctx, cancel: cancel, workers: map[string]*worker{}, changed: make(chan struct{})}
	t.Cleanup(func() {
		cancel()
		s.wg.Wait()
	})
	return s
}

// TestSlowSubscriberDelaysOnlyItself: a subscriber that does not answer
// holds its own worker; its queue overflows into drops (counted), and
// another subscriber still gets its events.
func TestSlowSubscriberDelaysOnlyItself(t *testing.T) {
	cfg := DefaultConfig()
	cfg.QueueLen, cfg.Retries = 1, 0
	s := newBareService(t, cfg)
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) }) // runs first: the handler returns
	var got atomic.Int64
	fast := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { got.Add(1) }))
	t.Cleanup(fast.Close)

	s.mu.Lock()
	ws, wf := s.startWorker(slow.URL), s.startWorker(fast.URL)
	s.mu.Unlock()
	for i := range 5 {
		ws.enqueue(delivery{eventType: "api_post_event", data: fmt.Appendf(nil, `{"n":%d}`, i)})
	}
	wf.enqueue(delivery{eventType: "api_post_event", data: []byte(`{"n":0}`)})
	testutil.Eventually(t, 30*time.Second, 10*time.Millisecond, func() error {
		if got.Load() != 1 {
			return fmt.Errorf("the fast subscriber got %d events, want 1", got.Load())
		}
		return nil
	})
	// One event in flight and one queued at most: three of five dropped.
	if dropped := count(t, s, OutcomeDropped); dropped < 3 {
		t.Errorf("dropped %v, want at least 3", dropped)
	}
}

// TestFailingSubscriberBacksOff: after a failure the URL is skipped (not
// POSTed, counted) until its backoff passes.
func TestFailingSubscriberBacksOff(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Retries = 0
	s := newBareService(t, cfg)
	var posts atomic.Int64
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		posts.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(failing.Close)
	s.mu.Lock()
	w := s.startWorker(failing.URL)
	s.mu.Unlock()
	w.enqueue(delivery{eventType: "a", data: []byte(`{}`)})
	w.enqueue(delivery{eventType: "b", data: []byte(`{}`)})
	testutil.Eventually(t, 30*time.Second, 10*time.Millisecond, func() error {
		failed := count(t, s, OutcomeFailed)
		skipped := count(t, s, OutcomeSkipped)
		if failed != 1 || skipped != 1 {
			return fmt.Errorf("failed %v, skipped %v; want 1 and 1", failed, skipped)
		}
		return nil
	})
	if posts.Load() != 1 {
		t.Errorf("%d POSTs, want 1 (the second event skipped while backing off)", posts.Load())
	}
}

// count is the deliveries counted with an outcome.
func count(t *testing.T, s *Service, outcome string) float64 {
	t.Helper()
	var m dto.Metric
	if err := s.Deliveries.WithLabelValues(outcome).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
