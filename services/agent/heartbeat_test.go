package agent

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// The judge's verdicts over sequences of calls: slow is degraded, silence
// past downAfter and refusals are down, and an answer clears both.
func TestJudge(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	gone := fmt.Errorf("%w: dial unix /var/run/docker.sock: connect: no such file or directory", ErrRuntimeUnavailable)
	type call struct {
		began, ended float64 // ended < 0: still waiting
		err          error
	}
	for _, tc := range []struct {
		name              string
		calls             []call
		now               float64
		healthy, degraded bool
	}{
		{"no call yet", nil, 0, true, false},
		{"fast answer", []call{{0, 0.05, nil}}, 1, true, false},
		{"3 s answers are slow, not down", []call{{0, 3, nil}, {3, 6, nil}, {6, 9, nil}}, 9.5, true, true},
		{"a call waiting 5 s is degraded", []call{{0, -1, nil}}, 5, true, true},
		{"a call waiting 15 s is down", []call{{0, -1, nil}}, 15, false, false},
		{"timeouts for 14 s are not down", []call{{0, 5, context.DeadlineExceeded}, {5, 10, context.DeadlineExceeded}, {10, -1, nil}}, 14, true, true},
		{"timeouts spanning 15 s are down", []call{{0, 5, context.DeadlineExceeded}, {5, 10, context.DeadlineExceeded}, {10, 15, context.DeadlineExceeded}}, 15.1, false, false},
		{"refused is down at once", []call{{0, 0.001, gone}}, 0.01, false, false},
		{"an answer after a refusal clears it", []call{{0, 0.001, gone}, {1, 1.01, nil}}, 1.1, true, false},
		{"an answer after silence clears down", []call{{0, 5, context.DeadlineExceeded}, {5, 10, context.DeadlineExceeded}, {10, 16, nil}}, 16.1, true, true},
		{"the daemon's own error is degraded", []call{{0, 0.01, errors.New("Error response from daemon: 500")}}, 1, true, true},
		{"degraded ends after the hold", []call{{0, 3, nil}, {3, 3.01, nil}}, 14, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := newJudge(15*time.Second, 2*time.Second)
			for _, c := range tc.calls {
				j.begin(at(c.began))
				if c.ended >= 0 {
					j.observe(at(c.began), at(c.ended), c.err)
				}
			}
			h := j.verdict(at(tc.now))
			if h.Healthy != tc.healthy || h.Degraded != tc.degraded {
				t.Errorf("verdict = healthy %v degraded %v (%q), want healthy %v degraded %v", h.Healthy, h.Degraded, h.Error, tc.healthy, tc.degraded)
			}
			if (!h.Healthy || h.Degraded) && h.Error == "" {
				t.Errorf("verdict %+v gives no reason", h)
			}
		})
	}
}

// TestRedeliveryDelay: a failed command comes again after 1 s, then twice
// as long each time, never later than a minute.
func TestRedeliveryDelay(t *testing.T) {
	for delivered, want := range map[uint64]time.Duration{
		0: time.Second, 1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 6: 32 * time.Second, 7: time.Minute, 10: time.Minute, 1000: time.Minute,
	} {
		if got := redeliveryDelay(delivered); got != want {
			t.Errorf("after %d deliveries: %s, want %s", delivered, got, want)
		}
	}
}
