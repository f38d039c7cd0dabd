package decide

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/drover/drover/pkg/events"
)

// TestDeadTaskIsReplaced: a task that ends, by a status report or as its
// agent's heartbeat lists it, is forgotten and replaced; only a task that
// failed young delays its app's next launch, never one lost with its host
// or killed.
func TestDeadTaskIsReplaced(t *testing.T) {
	for _, tc := range []struct {
		name      string
		state     events.TaskState
		heartbeat bool          // the heartbeat says so, not the status stream
		ran       time.Duration // before it died
		delayed   bool          // the replacement waits for backoff
	}{
		{"failed young: replaced at once, the next delayed", events.TaskFailed, false, time.Second, false},
		{"failed young, seen in a heartbeat", events.TaskFailed, true, time.Second, false},
		{"finished after running long", events.TaskFinished, false, time.Hour, false},
		{"lost with its daemon", events.TaskLost, false, time.Second, false},
		{"killed", events.TaskKilled, false, time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.app("/web", 1, "")
			h.task("web.1", "/web", "h1", h.now.Add(-tc.ran))
			h.agent("h1")
			var d decisions
			if tc.heartbeat {
				h.agent("h1", func(hb *events.Heartbeat) { hb.Tasks[0].State, hb.Tasks[0].Message = tc.state, "exit 1" })
				d = h.pass()
			} else {
				h.status(events.TaskStatus{AgentID: "h1", TaskID: "web.1", State: tc.state, Message: "exit 1"})
				if !h.last.Poke {
					t.Error("an ended task does not bring the next pass forward")
				}
				d = h.pass()
			}
			if h.state("web.1") != "gone" || d.launches["h1"] != 1 {
				t.Fatalf("web.1 %s, launches %v; want it gone and replaced at once", h.state("web.1"), d.launches)
			}
			young := tc.state == events.TaskFailed
			if b := h.st.Apps["/web"].Backoff; (b.Delay > 0) != young {
				t.Errorf("backoff %+v after %s; want a delay only after a young failure", b, tc.state)
			}
		})
	}
}

// TestBackoffGrowsAndResets: young deaths grow the launch delay by
// backoffFactor up to maxLaunchDelaySeconds; deaths within a running delay
// count once; a task that ran BackoffResetAfter resets it.
func TestBackoffGrowsAndResets(t *testing.T) {
	h := newHarness(t)
	h.app("/web", 1, `{"backoffSeconds":1,"backoffFactor":2,"maxLaunchDelaySeconds":3}`)
	h.agent("h1")
	var delays []time.Duration
	die := func() {
		h.pass() // launches when the delay allows
		for id, inst := range h.st.Instances {
			h.status(events.TaskStatus{AgentID: "h1", TaskID: id, State: events.TaskRunning})
			h.advance(100 * time.Millisecond)
			h.status(events.TaskStatus{AgentID: inst.AgentID, TaskID: id, State: events.TaskFailed})
		}
		delays = append(delays, h.st.Apps["/web"].Backoff.Delay)
	}
	for range 5 {
		die()
		if nb := h.st.Apps["/web"].Backoff.NotBefore; h.now.Before(nb) {
			h.pass()
			if q := h.st.Queue["/web"]; !q.DelayUntil.Equal(nb) || h.count("/web") != 0 {
				t.Fatalf("delayed until %s: queue %+v, %d instances; want the queue saying so and no launch", nb, q, h.count("/web"))
			}
			h.now = nb
		}
	}
	if want := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second, 3 * time.Second}; !slices.Equal(delays, want) {
		t.Errorf("delays %v, want %v", delays, want)
	}
	// A task that runs BackoffResetAfter and then dies resets the delay.
	h.pass()
	for id := range h.st.Instances {
		h.status(events.TaskStatus{AgentID: "h1", TaskID: id, State: events.TaskRunning})
		h.advance(h.st.Config.BackoffResetAfter)
		h.status(events.TaskStatus{AgentID: "h1", TaskID: id, State: events.TaskFailed})
	}
	if b := h.st.Apps["/web"].Backoff; b.Delay != 0 || !b.NotBefore.IsZero() {
		t.Errorf("after a task that ran long: backoff %+v, want reset", b)
	}
	if d := h.pass(); d.launches["h1"] != 1 {
		t.Errorf("launches %v, want the replacement at once", d.launches)
	}
}

// TestUniqueWithALostAgent: a UNIQUE app on every agent loses one: its task
// is replaced only where no other runs, and waits in the queue, saying why,
// until such an agent comes.
func TestUniqueWithALostAgent(t *testing.T) {
	h := newHarness(t)
	h.app("/web", 3, `{"constraints":[["hostname","UNIQUE"]]}`)
	for i := range 3 {
		h.task(fmt.Sprintf("web.%d", i), "/web", fmt.Sprintf("h%d", i), h.now.Add(-time.Hour))
	}
	for i := range 4 {
		h.agent(fmt.Sprintf("h%d", i))
	}
	h.pass()
	for i := 0; h.st.Agents["h0"].State != events.AgentUnreachable; i++ { // h0 falls silent
		if i > 20 {
			t.Fatal("h0 never unreachable")
		}
		h.advance(h.st.Config.ReconcileInterval)
		for _, id := range []string{"h1", "h2", "h3"} {
			h.agent(id)
		}
		if d := h.pass(); len(d.launches) > 0 && d.launches["h3"] != 1 {
			t.Fatalf("launches %v, want the replacement on h3, the one agent without the app", d.launches)
		}
	}
	h.advance(h.st.Config.ReconcileInterval)
	for _, id := range []string{"h1", "h2", "h3"} {
		h.agent(id)
	}
	h.pass() // forgotten (expungeAfterSeconds 0)
	if h.count("/web") != 3 || h.state("web.0") != "gone" {
		t.Fatalf("%d instances, web.0 %s; want web.0 replaced on h3", h.count("/web"), h.state("web.0"))
	}
	// Now h3 goes too, and no agent without the app is left.
	for i := 0; h.st.Agents["h3"].State != events.AgentUnreachable; i++ {
		if i > 20 {
			t.Fatal("h3 never unreachable")
		}
		h.advance(h.st.Config.ReconcileInterval)
		h.agent("h1")
		h.agent("h2")
		h.pass()
	}
	h.pass()
	q, ok := h.st.Queue["/web"]
	if !ok || q.Count != 1 || q.Rejected[string("UnfulfilledConstraint")] != 2 {
		t.Errorf("queue %+v; want 1 waiting, rejected by UNIQUE on the 2 agents left", q)
	}
}

// TestPartitionHealKeepsExactlyInstances: tasks of an agent cut off are
// replaced; when the partition heals, the app runs exactly its instances
// again: the replacements are killed (YOUNGEST_FIRST) if the returning
// tasks are still remembered, the returning tasks if they were forgotten
// (killed as unknown); never both, and a second pass kills nothing more.
func TestPartitionHealKeepsExactlyInstances(t *testing.T) {
	for _, tc := range []struct {
		name      string
		strategy  string
		forgotten bool // heal after the unreachable tasks are expunged
	}{
		{"healed while the tasks are remembered (expunged after an hour)", `{"unreachableStrategy":{"inactiveAfterSeconds":0,"expungeAfterSeconds":3600}}`, false},
		{"healed after they were forgotten (Marathon's default 0 and 0)", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.app("/web", 4, tc.strategy)
			for i := range 4 {
				h.task(fmt.Sprintf("web.%d", i), "/web", fmt.Sprintf("h%d", i%2), h.now.Add(-time.Hour))
			}
			for _, id := range []string{"h0", "h1", "h2"} {
				h.agent(id)
			}
			h.pass()
			beat := func() {
				h.advance(h.st.Config.ReconcileInterval)
				h.agent("h1")
				h.agent("h2")
			}
			for i := 0; h.st.Agents["h0"].State != events.AgentUnreachable; i++ {
				if i > 20 {
					t.Fatal("h0 never unreachable")
				}
				beat()
				h.pass()
			}
			if tc.forgotten {
				beat()
				h.pass()
			}
			var replacements []string
			for _, inst := range h.st.Instances { // the replacements start
				if inst.State == events.TaskStaging {
					replacements = append(replacements, inst.TaskID)
					h.status(events.TaskStatus{AgentID: inst.AgentID, TaskID: inst.TaskID, State: events.TaskRunning})
				}
			}
			if len(replacements) != 2 {
				t.Fatalf("%d replacements, want 2", len(replacements))
			}
			// The partition heals: h0 is back with its two tasks.
			h.advance(h.st.Config.ReconcileInterval)
			h.agent("h0", func(hb *events.Heartbeat) {
				hb.Tasks = []events.TaskReport{{TaskID: "web.0", AppID: "/web", State: events.TaskRunning}, {TaskID: "web.2", AppID: "/web", State: events.TaskRunning}}
			})
			h.agent("h1")
			h.agent("h2")
			want := []string{"web.0", "web.2"}
			if !tc.forgotten {
				want = replacements
			}
			slices.Sort(want)
			d := h.pass()
			if slices.Sort(d.kills); !slices.Equal(d.kills, want) || h.running("/web") != 4 || len(d.launches) != 0 {
				t.Errorf("after the heal: killed %v, %d running, launched %v; want %v killed, 4 running", d.kills, h.running("/web"), d.launches, want)
			}
			if d := h.pass(); len(d.kills) != 0 || len(d.launches) != 0 || h.running("/web") != 4 {
				t.Errorf("the pass after: killed %v, launched %v, %d running; want nothing", d.kills, d.launches, h.running("/web"))
			}
		})
	}
}

// TestKillAndScaleKillsTheNamedTask: a write that lowered the instances
// for named tasks (/v2/tasks/delete?scale=true) kills those, not the
// ones killSelection would pick, and nothing more on the next pass; a
// write without names kills by killSelection (youngest first).
func TestKillAndScaleKillsTheNamedTask(t *testing.T) {
	for _, tc := range []struct {
		name      string
		instances int
		sentenced []string
		want      []string
	}{
		{"named oldest", 2, []string{"web.1"}, []string{"web.1"}},
		{"named two", 1, []string{"web.2", "web.1"}, []string{"web.1", "web.2"}},
		{"none named: youngest", 2, nil, []string{"web.3"}},
		{"named already gone: the excess by killSelection", 2, []string{"web.9"}, []string{"web.3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			app := h.app("/web", 3, "")
			for i := 1; i <= 3; i++ {
				h.task(fmt.Sprintf("web.%d", i), "/web", "h1", h.now.Add(-time.Duration(10-i)*time.Minute))
			}
			h.agent("h1")
			app.Def.Instances, app.Sentenced = &tc.instances, tc.sentenced
			d := h.pass()
			slices.Sort(d.kills)
			if !slices.Equal(d.kills, tc.want) {
				t.Fatalf("kills %v, want %v", d.kills, tc.want)
			}
			h.advance(time.Second)
			if again := h.pass(); len(again.kills) != 0 || len(again.launches) != 0 {
				t.Errorf("next pass: kills %v launches %v, want nothing", again.kills, again.launches)
			}
		})
	}
}
