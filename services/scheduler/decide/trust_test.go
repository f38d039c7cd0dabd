package decide

import (
	"fmt"
	"testing"
	"time"

	"github.com/drover/drover/pkg/events"
)

func degraded(hb *events.Heartbeat) {
	hb.Docker = events.DockerHealth{Healthy: true, Degraded: true, Error: "answered in 3s"}
}

func stale(hb *events.Heartbeat) { hb.Tasks, hb.TasksStale = nil, true }

func down(hb *events.Heartbeat) {
	hb.Docker = events.DockerHealth{Healthy: false, Error: "runtime unavailable: connection refused"}
	hb.TasksStale = true
}

func listedAgo(d time.Duration) func(*events.Heartbeat) {
	return func(hb *events.Heartbeat) { hb.TasksListedAt = hb.SentAt.Add(-d) }
}

func without(taskID string) func(*events.Heartbeat) {
	return func(hb *events.Heartbeat) {
		var keep []events.TaskReport
		for _, t := range hb.Tasks {
			if t.TaskID != taskID {
				keep = append(keep, t)
			}
		}
		hb.Tasks = keep
	}
}

// TestTrustRules: what one host's evidence does to its tasks. Only a
// daemon that is down, or a list taken after the task's last change that
// lacks it, loses a task; slowness, stale lists and old lists never do.
func TestTrustRules(t *testing.T) {
	for _, tc := range []struct {
		name       string
		hb         []func(*events.Heartbeat)
		agentState string
		web1       events.TaskState // the task's state after the pass
		launches   int              // on the other agent
	}{
		{"healthy, task listed", nil, events.AgentActive, events.TaskRunning, 0},
		{"degraded daemon, task listed", []func(*events.Heartbeat){degraded}, events.AgentDockerDegraded, events.TaskRunning, 0},
		{"degraded daemon, stale list without the task", []func(*events.Heartbeat){degraded, stale}, events.AgentDockerDegraded, events.TaskRunning, 0},
		{"healthy daemon, stale list without the task", []func(*events.Heartbeat){stale}, events.AgentActive, events.TaskRunning, 0},
		{"a fresh list without the task", []func(*events.Heartbeat){without("web.1")}, events.AgentActive, "gone", 1},
		{"a list older than the task's last change, without it", []func(*events.Heartbeat){without("web.1"), listedAgo(2 * time.Minute)}, events.AgentActive, events.TaskRunning, 0},
		{"no list taken yet", []func(*events.Heartbeat){func(hb *events.Heartbeat) { hb.Tasks, hb.TasksListedAt = nil, time.Time{} }}, events.AgentActive, events.TaskRunning, 0},
		{"docker down, but not for DockerDownAfter yet", []func(*events.Heartbeat){down}, events.AgentActive, events.TaskRunning, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.app("/web", 2, "")
			h.task("web.1", "/web", "h1", h.now.Add(-time.Minute))
			h.task("web.2", "/web", "h2", h.now.Add(-time.Minute))
			h.agent("h1", tc.hb...)
			h.agent("h2")
			d := h.pass()
			if got := h.st.Agents["h1"].State; got != tc.agentState {
				t.Errorf("agent state %s, want %s", got, tc.agentState)
			}
			if got := h.state("web.1"); got != tc.web1 {
				t.Errorf("web.1 is %s, want %s", got, tc.web1)
			}
			if d.launches["h2"]+d.launches["h1"] != tc.launches || len(d.kills) != 0 {
				t.Errorf("decided launches %v kills %v, want %d launches and no kill", d.launches, d.kills, tc.launches)
			}
		})
	}
}

// TestDockerDownLosesTasks: a daemon down in heartbeats spanning
// DockerDownAfter loses the host's tasks, which are replaced elsewhere at
// once, and nothing is placed on the host meanwhile.
func TestDockerDownLosesTasks(t *testing.T) {
	h := newHarness(t)
	h.app("/web", 2, "")
	h.task("web.1", "/web", "h1", h.now.Add(-time.Minute))
	h.task("web.2", "/web", "h1", h.now.Add(-time.Minute))
	h.agent("h1", down)
	h.agent("h2")
	if d := h.pass(); len(d.launches) != 0 || h.state("web.1") != events.TaskRunning {
		t.Fatalf("first down heartbeat: launches %v, web.1 %s; want nothing yet", d.launches, h.state("web.1"))
	}
	h.advance(1100 * time.Millisecond)
	h.agent("h1", down)
	h.agent("h2")
	d := h.pass()
	if h.st.Agents["h1"].State != events.AgentDockerDown {
		t.Errorf("agent state %s, want DOCKER_DOWN", h.st.Agents["h1"].State)
	}
	if h.state("web.1") != "gone" || h.state("web.2") != "gone" {
		t.Errorf("tasks on a down daemon: %s %s, want lost", h.state("web.1"), h.state("web.2"))
	}
	if d.launches["h2"] != 2 || d.launches["h1"] != 0 {
		t.Errorf("launches %v, want 2 on h2", d.launches)
	}
}

// TestDegradedAgentsArePlacedLast: new instances go to a healthy agent
// while one can take them.
func TestDegradedAgentsArePlacedLast(t *testing.T) {
	h := newHarness(t)
	h.app("/web", 3, "")
	h.agent("h1", degraded)
	h.agent("h2")
	if d := h.pass(); d.launches["h2"] != 3 {
		t.Errorf("launches %v, want all 3 on the healthy agent", d.launches)
	}
}

// TestUnreachableTasksAreSettled: tasks of a silent agent are TASK_UNREACHABLE,
// replaced after inactiveAfterSeconds, forgotten after expungeAfterSeconds;
// when the agent comes back, exactly instances remain, chosen by
// killSelection, and the returning copy and its replacement are not both killed.
func TestUnreachableTasksAreSettled(t *testing.T) {
	for _, tc := range []struct {
		name                string
		strategy            string
		replacedAfter       time.Duration // -1: never
		expungedAfter       time.Duration // -1: never
		backAfter           time.Duration
		wantKilled, wantRun string // after the agent is back: which copy goes, which stays
	}{
		{"Marathon's default 0/0", ``, 0, 0, 10 * time.Second, "web.1", "replacement"},
		{"inactive 30 s, expunge 60 s, back in between, youngest killed", `{"unreachableStrategy":{"inactiveAfterSeconds":30,"expungeAfterSeconds":60}}`, 30 * time.Second, 60 * time.Second, 45 * time.Second, "replacement", "web.1"},
		{"back in between, OLDEST_FIRST", `{"unreachableStrategy":{"inactiveAfterSeconds":30,"expungeAfterSeconds":60},"killSelection":"OLDEST_FIRST"}`, 30 * time.Second, 60 * time.Second, 45 * time.Second, "web.1", "replacement"},
		{"back before inactive: nothing replaced", `{"unreachableStrategy":{"inactiveAfterSeconds":30,"expungeAfterSeconds":60}}`, 30 * time.Second, 60 * time.Second, 20 * time.Second, "", "web.1"},
		{"disabled", `{"unreachableStrategy":"disabled"}`, -1, -1, 100 * time.Second, "", "web.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.app("/web", 1, tc.strategy)
			h.task("web.1", "/web", "h1", h.now.Add(-time.Hour))
			for _, id := range []string{"h1", "h2", "h3"} {
				h.agent(id)
			}
			h.pass()
			var unreachableAt time.Time // h1 falls silent
			var replacement string
			for i := 0; ; i++ {
				h.advance(h.st.Config.ReconcileInterval)
				h.agent("h2")
				h.agent("h3")
				d := h.pass()
				if unreachableAt.IsZero() {
					if h.st.Agents["h1"].State != events.AgentUnreachable {
						if i > 20 {
							t.Fatal("h1 never unreachable")
						}
						continue
					}
					unreachableAt = h.now
				}
				since := h.now.Sub(unreachableAt)
				if since >= tc.backAfter {
					break
				}
				if n := d.launches["h2"] + d.launches["h3"]; n > 0 {
					if tc.replacedAfter < 0 || since < tc.replacedAfter {
						t.Fatalf("replaced %s after the agent fell silent, want after %s", since, tc.replacedAfter)
					}
					for id, inst := range h.st.Instances {
						if id != "web.1" {
							replacement = id
							inst.State, inst.StartedAt = events.TaskRunning, h.now // it starts
						}
					}
				}
				st := h.state("web.1")
				switch {
				case tc.expungedAfter >= 0 && since >= tc.expungedAfter+h.st.Config.ReconcileInterval && st != "gone":
					t.Fatalf("web.1 %s at %s, want forgotten after %s", st, since, tc.expungedAfter)
				case (tc.expungedAfter < 0 || since < tc.expungedAfter) && st != events.TaskUnreachable:
					t.Fatalf("web.1 %s at %s, want TASK_UNREACHABLE", st, since)
				}
			}
			if tc.replacedAfter >= 0 && tc.replacedAfter < tc.backAfter && replacement == "" {
				t.Fatalf("not replaced within %s", tc.backAfter)
			}
			// h1 comes back with web.1 still running.
			h.agent("h1", func(hb *events.Heartbeat) {
				hb.Tasks = []events.TaskReport{{TaskID: "web.1", AppID: "/web", State: events.TaskRunning}}
			})
			h.agent("h2", func(hb *events.Heartbeat) { hb.TasksListedAt = time.Time{} })
			h.agent("h3", func(hb *events.Heartbeat) { hb.TasksListedAt = time.Time{} })
			first := h.pass()
			d := h.pass() // settled back, then sized
			name := map[string]string{"web.1": "web.1", replacement: "replacement"}
			var killed []string
			for _, id := range append(first.kills, d.kills...) {
				killed = append(killed, name[id])
			}
			for id, inst := range h.st.Instances {
				if inst.State == events.TaskKilling {
					killed = append(killed, name[id])
				}
			}
			killed = dedupe(killed)
			if want := []string{tc.wantKilled}; tc.wantKilled == "" && len(killed) != 0 || tc.wantKilled != "" && fmt.Sprint(killed) != fmt.Sprint(want) {
				t.Errorf("killed %v, want %q", killed, tc.wantKilled)
			}
			keep := "web.1"
			if tc.wantRun == "replacement" {
				keep = replacement
			}
			if st := h.state(keep); st != events.TaskRunning {
				t.Errorf("%s (%s) is %s, want it kept running", tc.wantRun, keep, st)
			}
		})
	}
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// TestStarvedSchedulerJudgesNoOne: a pass that runs long after the previous
// one (the scheduler starved of CPU) makes no agent unreachable, however
// old its heartbeat looks, until heartbeats have flowed again for
// UnreachableAfter.
func TestStarvedSchedulerJudgesNoOne(t *testing.T) {
	h := newHarness(t)
	h.app("/web", 1, "")
	h.task("web.1", "/web", "h1", h.now.Add(-time.Hour))
	h.agent("h1")
	h.agent("h2")
	h.pass()
	h.advance(10 * time.Second) // no pass, no heartbeat read for 10 s
	h.agent("h2")
	if d := h.pass(); h.st.Agents["h1"].State == events.AgentUnreachable || len(d.launches) > 0 {
		t.Fatalf("a starved pass judged h1 %s and launched %v", h.st.Agents["h1"].State, d.launches)
	}
	// Heartbeats flow again; h1 stays silent: now it is unreachable.
	for i := 0; i < 8; i++ {
		h.advance(500 * time.Millisecond)
		h.agent("h2")
		h.pass()
	}
	onH2 := 0
	for _, inst := range h.st.Instances {
		if inst.AgentID == "h2" {
			onH2++
		}
	}
	if h.st.Agents["h1"].State != events.AgentUnreachable || onH2 != 1 {
		t.Errorf("after the scheduler recovered: h1 %s, %d instances on h2; want UNREACHABLE and a replacement", h.st.Agents["h1"].State, onH2)
	}
}

// TestSilentMajorityBrake: when most agents fall silent together the
// scheduler marks them unreachable but replaces nothing, says why in the
// queue, and replaces once the hold passes; one silent agent in ten (the
// scale benchmark's storm) is replaced at once.
func TestSilentMajorityBrake(t *testing.T) {
	for _, tc := range []struct {
		name          string
		agents, quiet int
		held          bool
	}{
		{"3 of 4 silent", 4, 3, true},
		{"2 of 3 silent", 3, 2, true},
		{"1 of 10 silent", 10, 1, false},
		{"2 of 4 silent: half is not more than half", 4, 2, false},
		{"1 of 2 silent", 2, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.app("/web", tc.agents, `{"constraints":[["hostname","UNIQUE"]],"unreachableStrategy":{"inactiveAfterSeconds":0,"expungeAfterSeconds":3600}}`)
			for i := range tc.agents {
				h.task(fmt.Sprintf("web.%d", i), "/web", fmt.Sprintf("h%02d", i), h.now.Add(-time.Hour))
			}
			beat := func() {
				for i := tc.quiet; i < tc.agents; i++ {
					h.agent(fmt.Sprintf("h%02d", i))
				}
			}
			for i := range tc.agents {
				h.agent(fmt.Sprintf("h%02d", i))
			}
			h.pass()
			for quiet := time.Duration(0); quiet <= h.st.Config.UnreachableAfter; quiet += h.st.Config.ReconcileInterval {
				h.advance(h.st.Config.ReconcileInterval)
				beat()
				h.pass()
			}
			for i := range tc.quiet {
				if st := h.st.Agents[fmt.Sprintf("h%02d", i)].State; st != events.AgentUnreachable {
					t.Fatalf("silent agent is %s, want UNREACHABLE", st)
				}
			}
			unreachable := 0
			for _, inst := range h.st.Instances {
				if inst.State == events.TaskUnreachable {
					unreachable++
				}
			}
			if tc.held {
				q, ok := h.st.Queue["/web"]
				if unreachable != 0 || !ok || q.Rejected[ReasonSilentMajority] != tc.quiet || q.Count != tc.quiet {
					t.Fatalf("held: %d tasks unreachable, queue %+v; want none touched and the queue saying why", unreachable, q)
				}
				for held := time.Duration(0); held < h.st.Config.SilentHold; held += h.st.Config.ReconcileInterval {
					h.advance(h.st.Config.ReconcileInterval)
					beat()
					h.pass()
				}
				unreachable = 0
				for _, inst := range h.st.Instances {
					if inst.State == events.TaskUnreachable {
						unreachable++
					}
				}
			}
			if unreachable != tc.quiet {
				t.Errorf("%d tasks unreachable, want %d", unreachable, tc.quiet)
			}
		})
	}
}
