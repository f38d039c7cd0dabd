package callbacks

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// delivery is one event for one URL.
type delivery struct {
	eventType string
	data      []byte
}

// worker POSTs the events of one URL, one at a time, from a bounded queue.
type worker struct {
	s       *Service
	url     string
	queue   chan delivery
	cancel  context.CancelFunc
	dropped atomic.Int64
	// Only the worker's goroutine touches these.
	failures int
	until    time.Time // no POST before: backing off
}

// startWorker starts the worker of a URL. Callers hold s.mu.
func (s *Service) startWorker(url string) *worker {
	ctx, cancel := context.WithCancel(s.ctx)
	w := &worker{s: s, url: url, queue: make(chan delivery, s.cfg.QueueLen), cancel: cancel}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		w.run(ctx)
	}()
	return w
}

// stop ends the worker: what its queue holds is dropped, a POST in flight
// is cancelled.
func (w *worker) stop() { w.cancel() }

// enqueue queues an event for the URL without waiting: a full queue drops
// it (counted; logged on the first drop and every 100th).
func (w *worker) enqueue(d delivery) {
	select {
	case w.queue <- d:
	default:
		w.s.Deliveries.WithLabelValues(OutcomeDropped).Inc()
		if n := w.dropped.Add(1); n%100 == 1 {
			w.s.logger.Warn("callback queue full, dropping events", "url", w.url, "event", d.eventType,
				"queued", cap(w.queue), "droppedSoFar", n)
		}
	}
}

func (w *worker) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case d := <-w.queue:
			w.deliver(ctx, d)
		}
	}
}

// deliver POSTs one event, unless the URL is backing off. After the nth
// failure in a row the URL is skipped for 2ⁿ s (at most MaxBackoff), as
// Marathon's HttpEventActor does; a success ends that.
func (w *worker) deliver(ctx context.Context, d delivery) {
	cfg := w.s.cfg
	if w.s.now().Before(w.until) {
		w.s.Deliveries.WithLabelValues(OutcomeSkipped).Inc()
		return
	}
	err := w.post(ctx, d.data)
	if ctx.Err() != nil {
		return // unsubscribed or shutting down
	}
	if err == nil {
		w.s.Deliveries.WithLabelValues(OutcomeDelivered).Inc()
		w.failures, w.until = 0, time.Time{}
		return
	}
	w.s.Deliveries.WithLabelValues(OutcomeFailed).Inc()
	w.failures++
	wait := cfg.MaxBackoff
	if w.failures < 16 {
		wait = min(time.Duration(1<<w.failures)*time.Second, cfg.MaxBackoff)
	}
	w.until = w.s.now().Add(wait)
	w.s.logger.Warn("callback failed; skipping the URL for a while", "url", w.url, "event", d.eventType,
		"failuresInARow", w.failures, "skipFor", wait, "error", err)
}

// post POSTs data to the URL: each try within cfg.Timeout, tried again
// (up to cfg.Retries more times, waiting RetryWait, then twice as long...)
// when there is no answer, or a 5xx or 429 one.
func (w *worker) post(ctx context.Context, data []byte) error {
	cfg := w.s.cfg
	wait := cfg.RetryWait
	for try := 0; ; try++ {
		retry, err := w.try(ctx, data)
		if err == nil || !retry || try >= cfg.Retries {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// try is one POST; retry says whether another try may help.
func (w *worker) try(ctx context.Context, data []byte) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, w.s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(data))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := w.s.client.Do(req)
	if err != nil {
		return true, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return true, fmt.Errorf("answered %s", resp.Status)
	}
	return false, fmt.Errorf("answered %s", resp.Status)
}
