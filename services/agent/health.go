package agent

import (
	"time"

	"github.com/drover/drover/pkg/events"
)

// healthState is one health check's record of one task, kept as Marathon's
// HealthCheckActor keeps its Health:
//   - a success sets the first and last success and resets the failures;
//   - a failure sets the last failure and its cause and counts, except
//     before the first success while the grace period lasts, when it is not
//     recorded at all;
//   - an ignored result (a 1xx of a check with ignoreHttp1xx) changes nothing.
//
// Alive is whether the last recorded result was a success. The scheduler,
// not the agent, kills a task after maxConsecutiveFailures.
type healthState struct {
	result events.HealthResult
	seen   bool // a result has been recorded
}

// record applies a probe's result at now; failures before the first
// success are not counted until graceEnd. It reports whether Alive or
// ConsecutiveFailures changed, or this is the first result recorded.
func (h *healthState) record(r probeResult, now, graceEnd time.Time) bool {
	before := h.result
	switch r.outcome {
	case passed:
		if h.result.FirstSuccess.IsZero() {
			h.result.FirstSuccess = now
		}
		h.result.LastSuccess = now
		h.result.ConsecutiveFailures = 0
		h.result.Alive = true
	case failed:
		if h.result.FirstSuccess.IsZero() && now.Before(graceEnd) {
			return false
		}
		h.result.LastFailure = now
		h.result.LastFailureCause = r.cause
		h.result.ConsecutiveFailures++
		h.result.Alive = false
	default:
		return false
	}
	first := !h.seen
	h.seen = true
	return first || before.Alive != h.result.Alive || before.ConsecutiveFailures != h.result.ConsecutiveFailures
}

// healthResults are a task's results, one per check in order, once any
// check has a result recorded (nil before: Marathon's "no result yet").
func healthResults(states []healthState) []events.HealthResult {
	seen := false
	for _, s := range states {
		seen = seen || s.seen
	}
	if !seen {
		return nil
	}
	out := make([]events.HealthResult, len(states))
	for i, s := range states {
		out[i] = s.result
		out[i].Index = i
	}
	return out
}
