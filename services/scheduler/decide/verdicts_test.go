package decide

import (
	"fmt"
	"testing"
	"time"

	"github.com/drover/drover/pkg/deployplan"
	"github.com/drover/drover/pkg/events"
)

// TestDockerVerdicts: degraded keeps its tasks and takes new ones only
// when no healthy agent can; down takes none at once, and loses its tasks
// once heartbeats have said so for DockerDownAfter.
func TestDockerVerdicts(t *testing.T) {
	downFor := func(d time.Duration) func(*Agent) { return func(a *Agent) { a.DockerDownSince = a.Seen.Add(-d) } }
	for _, tc := range []struct {
		name     string
		hb       func(*events.Heartbeat)
		agent    func(*Agent)
		state    string
		web1     events.TaskState
		launches int // of /big's 2, on h1; h2 has no room for them
		onH2     int // web.1's replacement
	}{
		{"healthy", func(*events.Heartbeat) {}, func(*Agent) {}, events.AgentActive, events.TaskRunning, 2, 0},
		{"degraded, the only agent with room", degraded, func(*Agent) {}, events.AgentDockerDegraded, events.TaskRunning, 2, 0},
		{"down for less than DockerDownAfter", down, downFor(500 * time.Millisecond), events.AgentActive, events.TaskRunning, 0, 0},
		{"down for DockerDownAfter", down, downFor(time.Second), events.AgentDockerDown, "gone", 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.app("/web", 1, "")
			h.app("/big", 2, `{"cpus":3}`)
			h.task("web.1", "/web", "h1", h.now.Add(-time.Hour))
			h.agent("h1", tc.hb)
			tc.agent(h.st.Agents["h1"])
			h.agent("h2", func(hb *events.Heartbeat) { hb.Resources.Cpus = 1 })
			d := h.pass()
			if got := h.st.Agents["h1"].State; got != tc.state {
				t.Errorf("h1 %s, want %s", got, tc.state)
			}
			if got := h.state("web.1"); got != tc.web1 {
				t.Errorf("web.1 %s, want %s", got, tc.web1)
			}
			if d.launches["h1"] != tc.launches || d.launches["h2"] != tc.onH2 {
				t.Errorf("launches %v, want %d on h1, %d on h2", d.launches, tc.launches, tc.onH2)
			}
		})
	}
}

// TestSilentMajorityBrakeReleases: the brake holds while most agents are
// silent, and lets go as soon as they are heard again: the queue entry it
// made goes, and no task was replaced.
func TestSilentMajorityBrakeReleases(t *testing.T) {
	h := newHarness(t)
	h.app("/web", 3, `{"constraints":[["hostname","UNIQUE"]]}`)
	for i := range 3 {
		h.task(fmt.Sprintf("web.%d", i), "/web", fmt.Sprintf("h%d", i), h.now.Add(-time.Hour))
		h.agent(fmt.Sprintf("h%d", i))
	}
	h.pass()
	for h.st.Brake.Held == "" {
		if h.now.Sub(h.st.Agents["h0"].Seen) > time.Minute {
			t.Fatal("the brake never held")
		}
		h.advance(h.st.Config.ReconcileInterval)
		h.agent("h2")
		h.pass()
	}
	if q := h.st.Queue["/web"]; q.Rejected[ReasonSilentMajority] != 2 {
		t.Fatalf("queue %+v, want the brake's reason", q)
	}
	h.advance(h.st.Config.ReconcileInterval)
	for i := range 3 {
		h.agent(fmt.Sprintf("h%d", i))
	}
	d := h.pass()
	if h.st.Brake != (Brake{}) || len(d.launches) != 0 || h.running("/web") != 3 {
		t.Errorf("brake %+v, launches %v, %d running; want released, nothing replaced", h.st.Brake, d.launches, h.running("/web"))
	}
	if _, ok := h.st.Queue["/web"]; ok {
		t.Error("the queue still lists the app")
	}
}

// TestRollingUpgradeBounds: a new version with minimumHealthCapacity 0.5
// and maximumOverCapacity 0 kills down to half, starts the new ones in
// the room made, and finishes with exactly instances of the new version.
func TestRollingUpgradeBounds(t *testing.T) {
	h := newHarness(t)
	app := h.app("/web", 4, `{"upgradeStrategy":{"minimumHealthCapacity":0.5,"maximumOverCapacity":0}}`)
	for i := range 4 {
		h.task(fmt.Sprintf("web.%d", i), "/web", "h1", h.now.Add(-time.Hour+time.Duration(i)*time.Second))
	}
	h.agent("h1")
	app.Def.VersionInfo.LastConfigChangeAt = "2026-02-01T00:00:00.000Z"
	for step := 0; ; step++ {
		if step > 10 {
			t.Fatal("the upgrade never finished")
		}
		d := h.pass()
		total, old := 0, 0
		for _, inst := range h.st.Instances {
			total++
			if inst.Version != deployplan.ConfigVersion(&app.Def) {
				old++
			}
		}
		if total > 4 || h.running("/web") < 2 {
			t.Fatalf("step %d: %d instances, %d running; want at most 4, at least 2 running", step, total, h.running("/web"))
		}
		if old == 0 && h.running("/web") == 4 {
			break
		}
		// The agent does what it was told.
		for _, id := range d.kills {
			h.status(events.TaskStatus{AgentID: "h1", TaskID: id, State: events.TaskKilled})
		}
		for _, inst := range h.st.Instances {
			if inst.State == events.TaskStaging {
				h.status(events.TaskStatus{AgentID: "h1", TaskID: inst.TaskID, State: events.TaskRunning})
			}
		}
		h.advance(h.st.Config.ReconcileInterval)
		h.agent("h1")
	}
}
