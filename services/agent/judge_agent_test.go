package agent_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/services/agent"
)

func fastJudge(h *harness) {
	h.tune = func(c *agent.Config) {
		c.RuntimeSlowAfter, c.RuntimeDownAfter = 200*time.Millisecond, 1500*time.Millisecond
	}
}

// heartbeatsSince returns the heartbeats recorded after the first n.
func (h *harness) heartbeatsSince(n int) []events.Heartbeat {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]events.Heartbeat(nil), h.heartbeats[n:]...)
}

func (h *harness) heartbeatCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.heartbeats)
}

// TestSlowRuntimeIsDegradedNotDown: a daemon that answers every call late
// (three times the slow threshold, under the down threshold) is degraded;
// every heartbeat meanwhile says the daemon is up and lists the task
// running, and heartbeats keep their pace instead of waiting on the daemon.
func TestSlowRuntimeIsDegradedNotDown(t *testing.T) {
	h := newHarness(t, fastJudge)
	h.send(launchCmd("web.1", 1))
	h.waitStatus("web.1", events.TaskRunning)
	h.waitHeartbeat("the task listed", func(hb events.Heartbeat) bool { return hasTask(hb, "web.1", events.TaskRunning) })
	h.rt.SetSlow(600 * time.Millisecond)
	before := h.heartbeatCount()
	h.waitHeartbeat("docker degraded", func(hb events.Heartbeat) bool { return hb.Docker.Degraded })
	time.Sleep(3 * time.Second) // many slow calls, all under the down threshold
	beats := h.heartbeatsSince(before)
	// At 600 ms a call, a heartbeat that waited for ping and list would
	// come at most every 1.2 s: 3 in 3 s. These come every 50 ms.
	if len(beats) < 10 {
		t.Errorf("%d heartbeats in over 3 s of a slow daemon, want them at their pace", len(beats))
	}
	for _, hb := range beats {
		if !hb.Docker.Healthy {
			t.Fatalf("a slow daemon reported down: %+v", hb.Docker)
		}
		if !hasTask(hb, "web.1", events.TaskRunning) {
			t.Fatalf("heartbeat without the running task: %+v", hb.Tasks)
		}
	}
	if st := h.statesOf("web.1"); len(st) != 1 {
		t.Errorf("task states %v, want only TASK_RUNNING", st)
	}
}

// TestStalledRuntimeIsDown: a daemon that answers nothing is down once a
// call has waited the down threshold; the heartbeats say so, keep coming,
// and carry the last list marked stale.
func TestStalledRuntimeIsDown(t *testing.T) {
	h := newHarness(t, fastJudge)
	h.send(launchCmd("web.1", 1))
	h.waitStatus("web.1", events.TaskRunning)
	h.waitHeartbeat("the task listed", func(hb events.Heartbeat) bool { return hasTask(hb, "web.1", events.TaskRunning) })
	h.rt.SetSlow(time.Hour)
	stalled := time.Now()
	hb := h.waitHeartbeat("docker down", func(hb events.Heartbeat) bool { return !hb.Docker.Healthy })
	if took := time.Since(stalled); took < 1500*time.Millisecond {
		t.Errorf("down after %s of silence, before the 1.5 s threshold", took)
	}
	if !strings.Contains(hb.Docker.Error, "no answer") {
		t.Errorf("down for %q, want the silence named", hb.Docker.Error)
	}
	h.rt.SetSlow(0)
	h.waitHeartbeat("docker back", func(hb events.Heartbeat) bool { return hb.Docker.Healthy && !hb.TasksStale })
}

// TestStallDuringAListingIsDown: a daemon that stalls while a listing is
// outstanding is found silent by a ping beside the listing, within its own
// bound (1.5 s here), not after the listing's bound (listTimeout, twice the
// down threshold, from the listing's start) and a ping's after it: about
// 4.2 s after the stall here.
func TestStallDuringAListingIsDown(t *testing.T) {
	h := newHarness(t, fastJudge)
	h.waitHeartbeat("a fresh list", func(hb events.Heartbeat) bool { return !hb.TasksStale && !hb.TasksListedAt.IsZero() })
	h.rt.SetListSlow(time.Hour) // the next listing hangs; pings still answer
	time.Sleep(300 * time.Millisecond)
	if hb := h.waitHeartbeat("a heartbeat", func(events.Heartbeat) bool { return true }); !hb.Docker.Healthy {
		t.Fatalf("a slow listing of a daemon that answers pings is down: %+v", hb.Docker)
	}
	h.rt.SetSlow(time.Hour) // now nothing answers
	stalled := time.Now()
	hb := h.waitHeartbeat("docker down", func(hb events.Heartbeat) bool { return !hb.Docker.Healthy })
	took := time.Since(stalled)
	if took < 1500*time.Millisecond || took >= 3*time.Second {
		t.Errorf("down %s after the stall, want from 1.5 s (the down threshold) to well before the listing's bound and a ping's (4.2 s)", took)
	}
	if !strings.Contains(hb.Docker.Error, "no answer") {
		t.Errorf("down for %q, want the silence named", hb.Docker.Error)
	}
	h.rt.SetSlow(0)
	h.rt.SetListSlow(0)
	h.waitHeartbeat("docker back", func(hb events.Heartbeat) bool { return hb.Docker.Healthy && !hb.TasksStale })
}

// TestRefusingRuntimeIsDownAtOnce: connections refused make the daemon down
// in the next heartbeat, with the list stale; an answer brings it back.
func TestRefusingRuntimeIsDownAtOnce(t *testing.T) {
	h := newHarness(t, fastJudge)
	h.waitHeartbeat("a fresh list", func(hb events.Heartbeat) bool { return !hb.TasksStale && !hb.TasksListedAt.IsZero() })
	h.rt.SetDown(fmt.Errorf("dial unix /var/run/docker.sock: connect: connection refused"))
	hb := h.waitHeartbeat("docker down", func(hb events.Heartbeat) bool { return !hb.Docker.Healthy })
	if !strings.Contains(hb.Docker.Error, "connection refused") {
		t.Errorf("down for %q, want the refusal named (not a silence)", hb.Docker.Error)
	}
	if !hb.TasksStale {
		t.Errorf("heartbeat of a down daemon has a fresh list: %+v", hb)
	}
	h.rt.SetDown(nil)
	h.waitHeartbeat("docker back", func(hb events.Heartbeat) bool { return hb.Docker.Healthy && !hb.TasksStale })
}
