package agent

import (
	"testing"
	"time"
)

// TestHealthStateRecord plays probe results against a fake clock: t0 is the
// task's start, and the grace period ends 10 s later.
func TestHealthStateRecord(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	graceEnd := at(10)
	type step struct {
		at      int // seconds after t0
		r       probeResult
		changed bool
		alive   bool
		fails   int
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"failures in grace are not counted", []step{
			{1, fail("refused"), false, false, 0},
			{5, fail("refused"), false, false, 0},
			{10, fail("refused"), true, false, 1}, // grace over
			{11, fail("refused"), true, false, 2},
		}},
		{"a success ends the grace period", []step{
			{1, pass(), true, true, 0},
			{2, fail("500"), true, false, 1},
			{3, fail("500"), true, false, 2},
		}},
		{"a success resets the failures", []step{
			{11, fail("500"), true, false, 1},
			{12, fail("500"), true, false, 2},
			{13, pass(), true, true, 0},
			{14, pass(), false, true, 0}, // no news
			{15, fail("500"), true, false, 1},
		}},
		{"ignored results change nothing", []step{
			{1, pass(), true, true, 0},
			{2, probeResult{outcome: ignored}, false, true, 0},
			{12, fail("500"), true, false, 1},
			{13, probeResult{outcome: ignored}, false, false, 1},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var h healthState
			for i, s := range tc.steps {
				changed := h.record(s.r, at(s.at), graceEnd)
				if changed != s.changed || h.result.Alive != s.alive || h.result.ConsecutiveFailures != s.fails {
					t.Fatalf("step %d (%+v): changed %v alive %v failures %d, want %v %v %d",
						i, s.r, changed, h.result.Alive, h.result.ConsecutiveFailures, s.changed, s.alive, s.fails)
				}
			}
		})
	}
}

func TestHealthStateTimestamps(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var h healthState
	h.record(pass(), t0, t0)
	h.record(pass(), t0.Add(time.Second), t0)
	h.record(fail("HTTP status 500"), t0.Add(2*time.Second), t0)
	r := h.result
	if !r.FirstSuccess.Equal(t0) || !r.LastSuccess.Equal(t0.Add(time.Second)) ||
		!r.LastFailure.Equal(t0.Add(2*time.Second)) || r.LastFailureCause != "HTTP status 500" {
		t.Fatalf("result %+v", r)
	}
}

func TestHealthResults(t *testing.T) {
	states := make([]healthState, 2)
	if got := healthResults(states); got != nil {
		t.Fatalf("no result yet: %+v, want nil", got)
	}
	states[1].record(pass(), time.Now(), time.Time{})
	got := healthResults(states)
	if len(got) != 2 || got[0].Index != 0 || got[0].Alive || got[1].Index != 1 || !got[1].Alive {
		t.Fatalf("results %+v", got)
	}
}
