package agent

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/drover/drover/pkg/events"
)

// judge tells a slow runtime from a dead one, on evidence. The daemon is
// down when it refuses connections or its socket is gone (the latest call
// said so), or when a liveness ping has waited downAfter with no answer at
// all (pings skip the runtime's bound on calls in flight, so the wait is
// the daemon's). It
// is degraded while calls are slower than slowAfter, time out, or come back
// with the daemon's own errors, and for degradedHold after the last such
// call: a loaded daemon is still there, and its tasks are still running.
type judge struct {
	downAfter, slowAfter, degradedHold time.Duration

	mu           sync.Mutex
	refused      error     // the latest call's refusal; nil once the daemon answers
	waitingSince time.Time // the oldest call unanswered since the last answer
	slowUntil    time.Time // degraded until then
	slowWhy      string
	apiVersion   string
}

func newJudge(downAfter, slowAfter time.Duration) *judge {
	return &judge{downAfter: downAfter, slowAfter: slowAfter, degradedHold: max(10*time.Second, 2*slowAfter)}
}

// callOutcome is what one runtime call showed of the daemon.
type callOutcome int

const (
	answered callOutcome = iota // it answered, success or its own error
	refused                     // no daemon there: connection refused, socket gone
	silent                      // no answer within the call's time
)

// classify says what an error from a runtime call shows of the daemon.
func classify(err error) callOutcome {
	switch {
	case err == nil:
		return answered
	case errors.Is(err, ErrRuntimeUnavailable):
		return refused
	case errors.Is(err, context.DeadlineExceeded):
		return silent
	}
	return answered
}

// begin records a call started at.
func (j *judge) begin(at time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.waitingSince.IsZero() {
		j.waitingSince = at
	}
}

// observe records a call that started at began and ended at ended with err.
func (j *judge) observe(began, ended time.Time, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	switch classify(err) {
	case refused:
		j.refused = err
		j.waitingSince = time.Time{}
		return
	case silent:
		j.refused = nil
		j.degrade(ended, "no answer within "+ended.Sub(began).Round(time.Millisecond).String()+": "+err.Error())
		return
	}
	j.refused, j.waitingSince = nil, time.Time{}
	switch took := ended.Sub(began); {
	case err != nil:
		j.degrade(ended, err.Error())
	case took > j.slowAfter:
		j.degrade(ended, "answered in "+took.Round(time.Millisecond).String())
	}
}

// observeWork records a call other than the liveness ping (a listing)
// that started at began and ended at ended with err. It may show the daemon
// refusing connections, or slow, but never silent: it may have waited for
// the runtime's own bound on calls in flight rather than for the daemon.
func (j *judge) observeWork(began, ended time.Time, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	switch took := ended.Sub(began); {
	case classify(err) == refused:
		j.refused = err
	case err != nil:
		j.degrade(ended, err.Error())
	case took > j.slowAfter:
		j.degrade(ended, "listed tasks in "+took.Round(time.Millisecond).String())
	}
}

func (j *judge) degrade(at time.Time, why string) {
	j.slowUntil, j.slowWhy = at.Add(j.degradedHold), why
}

// setAPIVersion records the API version the daemon's ping gave.
func (j *judge) setAPIVersion(v string) {
	j.mu.Lock()
	j.apiVersion = v
	j.mu.Unlock()
}

// verdict is the daemon's health as of now.
func (j *judge) verdict(now time.Time) events.DockerHealth {
	j.mu.Lock()
	defer j.mu.Unlock()
	h := events.DockerHealth{Healthy: true, APIVersion: j.apiVersion}
	waited := time.Duration(0)
	if !j.waitingSince.IsZero() {
		waited = now.Sub(j.waitingSince)
	}
	switch {
	case j.refused != nil:
		h.Healthy, h.Error = false, j.refused.Error()
	case waited >= j.downAfter:
		h.Healthy, h.Error = false, "no answer from the daemon for "+waited.Round(time.Second).String()
	case waited > j.slowAfter:
		h.Degraded, h.Error = true, "a call has waited "+waited.Round(time.Millisecond).String()
	case now.Before(j.slowUntil):
		h.Degraded, h.Error = true, j.slowWhy
	}
	return h
}
