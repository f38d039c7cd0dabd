package decide

import (
	"slices"
	"testing"
	"time"

	"github.com/drover/drover/pkg/events"
)

// TestOneTransition: a status report and a heartbeat's listing of a task
// go through the same transition (observe), with the differences it names.
func TestOneTransition(t *testing.T) {
	started := time.Unix(999_990, 0)
	for _, tc := range []struct {
		name      string
		from      events.TaskState
		report    events.TaskState
		heartbeat bool
		want      events.TaskState
		restarted bool // StartedAt taken from the report
	}{
		{"staging, status says running", events.TaskStaging, events.TaskRunning, false, events.TaskRunning, true},
		{"staging, heartbeat lists it running", events.TaskStaging, events.TaskRunning, true, events.TaskRunning, true},
		{"unreachable, heartbeat lists it running: running as it was", events.TaskUnreachable, events.TaskRunning, true, events.TaskRunning, false},
		{"unreachable, status says running: started again", events.TaskUnreachable, events.TaskRunning, false, events.TaskRunning, true},
		{"killing, running: still killing", events.TaskKilling, events.TaskRunning, false, events.TaskKilling, false},
		{"killing, heartbeat: still killing", events.TaskKilling, events.TaskRunning, true, events.TaskKilling, false},
		{"running, failed", events.TaskRunning, events.TaskFailed, false, "gone", false},
		{"running, heartbeat lists it finished", events.TaskRunning, events.TaskFinished, true, "gone", false},
		{"staging, starting: nothing yet", events.TaskStaging, events.TaskStarting, false, events.TaskStaging, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.app("/web", 1, "")
			inst := h.task("web.1", "/web", "h1", h.now.Add(-time.Hour))
			inst.State = tc.from
			h.agent("h1")
			if tc.heartbeat {
				h.agent("h1", func(hb *events.Heartbeat) {
					hb.Tasks = []events.TaskReport{{TaskID: "web.1", AppID: "/web", State: tc.report, StartedAt: started}}
				})
				h.pass()
			} else {
				h.status(events.TaskStatus{AgentID: "h1", TaskID: "web.1", State: tc.report, At: started})
			}
			if got := h.state("web.1"); got != tc.want {
				t.Fatalf("web.1 %s, want %s", got, tc.want)
			}
			if got, ok := h.st.Instances["web.1"]; ok && got.StartedAt.Equal(started) != tc.restarted {
				t.Errorf("started at %s; want it from the report: %v", got.StartedAt, tc.restarted)
			}
		})
	}
}

// TestStatusOfAnotherAgentIsIgnored: a report from an agent the task is
// not on decides nothing.
func TestStatusOfAnotherAgentIsIgnored(t *testing.T) {
	h := newHarness(t)
	h.app("/web", 1, "")
	h.task("web.1", "/web", "h1", h.now.Add(-time.Hour))
	h.status(events.TaskStatus{AgentID: "h2", TaskID: "web.1", State: events.TaskFailed})
	if len(h.last.Writes) != 0 || h.state("web.1") != events.TaskRunning {
		t.Errorf("decided %d writes, web.1 %s; want nothing", len(h.last.Writes), h.state("web.1"))
	}
}

// TestUnhealthyTaskIsKilled: health results are recorded, a change is an
// event, and maxConsecutiveFailures failures kill the task.
func TestUnhealthyTaskIsKilled(t *testing.T) {
	h := newHarness(t)
	h.app("/web", 1, `{"healthChecks":[{"protocol":"HTTP","maxConsecutiveFailures":3}]}`)
	h.task("web.1", "/web", "h1", h.now.Add(-time.Hour))
	report := func(alive bool, failures int) decisions {
		return h.status(events.TaskStatus{AgentID: "h1", TaskID: "web.1", State: events.TaskRunning,
			Health: []events.HealthResult{{Alive: alive, ConsecutiveFailures: failures}}})
	}
	if report(true, 0); !slices.Equal(h.events(), []string{events.EventHealthStatusChanged}) {
		t.Errorf("events %v, want the health change", h.events())
	}
	if report(false, 2); h.state("web.1") != events.TaskRunning {
		t.Errorf("after 2 failures web.1 is %s, want running", h.state("web.1"))
	}
	if d := report(false, 3); h.state("web.1") != events.TaskKilling || !slices.Equal(d.kills, []string{"web.1"}) ||
		!slices.Contains(h.events(), events.EventUnhealthyInstanceKill) {
		t.Errorf("after 3 failures web.1 is %s, kills %v, events %v; want it killed", h.state("web.1"), d.kills, h.events())
	}
}

// TestStaleListKillsNothing: a task an agent runs that no instance owns is
// killed on a fresh list, again only after KillRetry, and never on a stale
// list or from an agent whose daemon is down.
func TestStaleListKillsNothing(t *testing.T) {
	stray := func(hb *events.Heartbeat) {
		hb.Tasks = append(hb.Tasks, events.TaskReport{TaskID: "old.1", AppID: "/old", State: events.TaskRunning})
	}
	for _, tc := range []struct {
		name  string
		hb    []func(*events.Heartbeat)
		kills int
	}{
		{"fresh list", []func(*events.Heartbeat){stray}, 1},
		{"stale list", []func(*events.Heartbeat){stray, func(hb *events.Heartbeat) { hb.TasksStale = true }}, 0},
		{"daemon down for long", []func(*events.Heartbeat){stray, func(hb *events.Heartbeat) {
			hb.Docker = events.DockerHealth{Error: "refused"}
		}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.agent("h1", tc.hb...)
			h.st.Agents["h1"].DockerDownSince = h.now.Add(-time.Minute)
			if d := h.pass(); len(d.kills) != tc.kills {
				t.Fatalf("kills %v, want %d", d.kills, tc.kills)
			}
			h.advance(time.Second)
			h.agent("h1", tc.hb...)
			if d := h.pass(); len(d.kills) != 0 {
				t.Errorf("killed again after 1 s: %v", d.kills)
			}
			h.advance(h.st.Config.KillRetry)
			h.agent("h1", tc.hb...)
			if d := h.pass(); len(d.kills) != tc.kills {
				t.Errorf("after KillRetry: kills %v, want %d", d.kills, tc.kills)
			}
		})
	}
}

// TestLateWritesOfADeposedLeader: a record another term wrote after this
// one read the bucket is replaced by this term's record of the task, or
// deleted if this term does not know the task; its own are left alone.
func TestLateWritesOfADeposedLeader(t *testing.T) {
	h := newHarness(t)
	h.app("/web", 1, "")
	h.task("web.1", "/web", "h1", h.now.Add(-time.Hour))
	st := func(taskID string, epoch uint64) Decisions {
		return Stray(h.st, taskID, events.Instance{TaskID: taskID, AppID: "/web", State: events.TaskStaging, Epoch: epoch}, h.logger())
	}
	if d := st("web.1", testEpoch); len(d.Writes) != 0 {
		t.Errorf("own write: %d writes, want none", len(d.Writes))
	}
	if d := st("web.1", testEpoch-1); len(d.Writes) != 1 || d.Writes[0].Instance == nil ||
		d.Writes[0].Instance.State != events.TaskRunning || d.Writes[0].Instance.Epoch != testEpoch {
		t.Errorf("overwritten record: writes %+v, want ours put back", d.Writes)
	}
	if d := st("web.9", testEpoch-1); len(d.Writes) != 1 || d.Writes[0].DeleteInstance != "web.9" || !d.Poke {
		t.Errorf("unknown record: writes %+v, want it deleted", d.Writes)
	}
	if h.st.Instances["web.1"].Epoch != 0 {
		t.Error("Stray changed its input")
	}
}

// TestKillIsAStatusUpdate: marking a task TASK_KILLING publishes its
// status_update_event once, as Mesos reports a kill to Marathon (marathon-lb
// drops a task from its backends on it, before the task ends); later passes
// do not repeat it, and the end is a TASK_KILLED of its own.
func TestKillIsAStatusUpdate(t *testing.T) {
	h := newHarness(t)
	h.app("/web", 1, "")
	h.task("web.1", "/web", "h1", h.now.Add(-2*time.Hour))
	h.task("web.2", "/web", "h1", h.now.Add(-time.Hour))
	h.agent("h1")
	statuses := func() []events.TaskState {
		var out []events.TaskState
		for _, w := range h.last.Writes {
			if w.Event != nil && w.Event.Type == events.EventStatusUpdate {
				out = append(out, w.Event.Payload.(events.StatusUpdateEvent).TaskStatus)
			}
		}
		return out
	}
	d := h.pass()
	if !slices.Equal(d.kills, []string{"web.2"}) || !slices.Equal(statuses(), []events.TaskState{events.TaskKilling}) {
		t.Fatalf("scale down: kills %v, statuses %v; want web.2 killed and one TASK_KILLING", d.kills, statuses())
	}
	ev := h.last.Writes
	for _, w := range ev {
		if w.Event != nil {
			if p := w.Event.Payload.(events.StatusUpdateEvent); p.TaskID != "web.2" || p.AppID != "/web" || p.Host != "h1" {
				t.Errorf("event %+v, want web.2 of /web on h1", p)
			}
		}
	}
	for range 6 { // passes while the task is being killed
		h.advance(time.Second)
		h.agent("h1")
		if h.pass(); len(statuses()) != 0 || h.state("web.2") != events.TaskKilling {
			t.Errorf("pass while killing: statuses %v, web.2 %s; want no event, still killing", statuses(), h.state("web.2"))
		}
	}
	h.status(events.TaskStatus{AgentID: "h1", TaskID: "web.2", State: events.TaskKilled})
	if !slices.Equal(statuses(), []events.TaskState{events.TaskKilled}) || h.state("web.2") != "gone" {
		t.Errorf("end: statuses %v, web.2 %s; want one TASK_KILLED and the task gone", statuses(), h.state("web.2"))
	}
}
