package decide

import (
	"slices"
	"testing"
	"time"

	"github.com/drover/drover/pkg/events"
)

// TestHostCommandsOutliveDocker: an agent whose Docker daemon is down loses
// its Docker tasks, not its host commands, which are lost only when the
// agent's own list of them lacks them; it takes new host commands, and no
// new Docker task. Records older than Instance.Runtime count as Docker's.
func TestHostCommandsOutliveDocker(t *testing.T) {
	downFor := func(d time.Duration) func(*Agent) { return func(a *Agent) { a.DockerDownSince = a.Seen.Add(-d) } }
	hostListed := func(hb *events.Heartbeat) { hb.HostTasksListedAt = hb.SentAt }
	without := func(id string) func(*events.Heartbeat) {
		return func(hb *events.Heartbeat) {
			hb.Tasks = slices.DeleteFunc(hb.Tasks, func(r events.TaskReport) bool { return r.TaskID == id })
		}
	}
	for _, tc := range []struct {
		name        string
		hb          []func(*events.Heartbeat)
		agent       func(*Agent)
		runtime     string // of cmd.1's record
		state       string
		cmd1, web1  events.TaskState
		cmdLaunches int // of /cmd2's one, on h1 (the only agent)
		webLaunches int // of /web2's one
	}{
		{"Docker up", []func(*events.Heartbeat){hostListed}, func(*Agent) {}, events.RuntimeCommand,
			events.AgentActive, events.TaskRunning, events.TaskRunning, 1, 1},
		{"Docker down briefly", []func(*events.Heartbeat){down, hostListed}, downFor(500 * time.Millisecond), events.RuntimeCommand,
			events.AgentActive, events.TaskRunning, events.TaskRunning, 1, 0},
		{"Docker down, host command listed", []func(*events.Heartbeat){down, hostListed}, downFor(time.Second), events.RuntimeCommand,
			events.AgentDockerDown, events.TaskRunning, "gone", 1, 0},
		{"Docker down, host command missing from the host list", []func(*events.Heartbeat){down, hostListed, without("cmd.1")}, downFor(time.Second), events.RuntimeCommand,
			events.AgentDockerDown, "gone", "gone", 1, 0},
		{"Docker down, an agent that lists no host commands apart", []func(*events.Heartbeat){down, without("cmd.1")}, downFor(time.Second), events.RuntimeCommand,
			events.AgentDockerDown, events.TaskRunning, "gone", 1, 0},
		{"Docker up, host command missing from a fresh list", []func(*events.Heartbeat){hostListed, without("cmd.1")}, func(*Agent) {}, events.RuntimeCommand,
			events.AgentActive, "gone", events.TaskRunning, 1, 1},
		{"Docker up, an agent that lists no host commands apart, missing", []func(*events.Heartbeat){without("cmd.1")}, func(*Agent) {}, events.RuntimeCommand,
			events.AgentActive, "gone", events.TaskRunning, 1, 1},
		{"Docker down, a record without a runtime", []func(*events.Heartbeat){down, hostListed}, downFor(time.Second), "",
			events.AgentDockerDown, "gone", "gone", 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.app("/cmd", 1, `{"cmd":"sleep 1000"}`)
			h.app("/web", 1, `{"container":{"type":"DOCKER","docker":{"image":"busybox"}}}`)
			h.app("/cmd2", 1, `{"cmd":"sleep 1000"}`)
			h.app("/web2", 1, `{"container":{"type":"DOCKER","docker":{"image":"busybox"}}}`)
			h.task("cmd.1", "/cmd", "h1", h.now.Add(-time.Hour)).Runtime = tc.runtime
			h.task("web.1", "/web", "h1", h.now.Add(-time.Hour))
			h.advance(time.Minute) // the lists are taken well after the tasks' last change
			h.agent("h1", tc.hb...)
			tc.agent(h.st.Agents["h1"])
			d := h.pass()
			if got := h.st.Agents["h1"].State; got != tc.state {
				t.Errorf("h1 %s, want %s", got, tc.state)
			}
			if got := h.state("cmd.1"); got != tc.cmd1 {
				t.Errorf("cmd.1 %s, want %s", got, tc.cmd1)
			}
			if got := h.state("web.1"); got != tc.web1 {
				t.Errorf("web.1 %s, want %s", got, tc.web1)
			}
			cmd, web := 0, 0
			for _, inst := range h.st.Instances {
				switch {
				case inst.AppID == "/cmd2" && inst.Runtime == events.RuntimeCommand:
					cmd++
				case inst.AppID == "/web2" && inst.Runtime == events.RuntimeDocker:
					web++
				}
			}
			if cmd != tc.cmdLaunches || web != tc.webLaunches || d.launches["h1"] < cmd+web {
				t.Errorf("launched %d of /cmd2, %d of /web2 (%v), want %d and %d", cmd, web, d.launches, tc.cmdLaunches, tc.webLaunches)
			}
		})
	}
}
