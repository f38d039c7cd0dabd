package agent_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/agent"
)

// taskServer is a task's endpoints on the harness agent's address
// (127.0.0.11): /healthz answers 500 while failing, /ready 503 until ready.
type taskServer struct {
	failing, ready atomic.Bool
	requests       atomic.Int64
	port           int
}

func newTaskServer(t *testing.T) *taskServer {
	t.Helper()
	ts := &taskServer{}
	l, err := net.Listen("tcp", "127.0.0.11:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.requests.Add(1)
		switch {
		case r.URL.Path == "/healthz" && ts.failing.Load():
			w.WriteHeader(http.StatusInternalServerError)
		case r.URL.Path == "/ready" && !ts.ready.Load():
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	ts.port = l.Addr().(*net.TCPAddr).Port
	return ts
}

func checkedLaunch(taskID string, port int, app func(*marathon.App)) events.Command {
	cmd := launchCmd(taskID, 1)
	cmd.Launch.HostPorts = []int{port}
	cmd.Launch.Env = map[string]string{"PORT0": fmt.Sprint(port)}
	app(&cmd.Launch.App)
	return cmd
}

func healthCheck(protocol, path string) marathon.HealthCheck {
	zero := 0
	// Interval 0 runs at the agent's MinCheckInterval (50ms in the harness).
	return marathon.HealthCheck{Protocol: protocol, Path: path, PortIndex: &zero, TimeoutSeconds: 1, MaxConsecutiveFailures: 3}
}

// healthStatuses are the task's statuses carrying health, in order.
func (h *harness) healthStatuses(taskID string) []events.TaskStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []events.TaskStatus
	for _, st := range h.statuses {
		if st.TaskID == taskID && len(st.Health) > 0 {
			out = append(out, st)
		}
	}
	return out
}

func (h *harness) waitHealthStatus(taskID, what string, ok func(events.HealthResult) bool) events.TaskStatus {
	h.t.Helper()
	var found events.TaskStatus
	testutil.Eventually(h.t, wait, 10*time.Millisecond, func() error {
		for _, st := range h.healthStatuses(taskID) {
			if ok(st.Health[0]) {
				found = st
				return nil
			}
		}
		return fmt.Errorf("no status of %s with %s among %+v", taskID, what, h.healthStatuses(taskID))
	})
	return found
}

func TestHealthFailuresAreReported(t *testing.T) {
	h := newHarness(t)
	ts := newTaskServer(t)
	h.send(checkedLaunch("web.1", ts.port, func(a *marathon.App) {
		a.HealthChecks = []marathon.HealthCheck{healthCheck("HTTP", "/healthz")}
	}))
	h.waitStatus("web.1", events.TaskRunning)
	alive := h.waitHealthStatus("web.1", "alive", func(r events.HealthResult) bool { return r.Alive })
	if alive.State != events.TaskRunning || alive.AppID != "/web" || alive.ContainerID == "" ||
		!slices.Equal(alive.HostPorts, []int{ts.port}) || alive.Ready != nil {
		t.Fatalf("health status %+v", alive)
	}

	ts.failing.Store(true)
	h.waitHealthStatus("web.1", "3 failures", func(r events.HealthResult) bool { return r.ConsecutiveFailures >= 3 })
	// Each failure is news: the count grows one status at a time.
	var counts []int
	for _, st := range h.healthStatuses("web.1") {
		r := st.Health[0]
		if !r.Alive {
			if r.LastFailureCause != "HTTP status 500" || r.LastSuccess.IsZero() {
				t.Fatalf("failure %+v", r)
			}
			counts = append(counts, r.ConsecutiveFailures)
		}
	}
	if len(counts) < 3 || !slices.Equal(counts[:3], []int{1, 2, 3}) {
		t.Fatalf("failure counts in statuses %v, want 1, 2, 3, ...", counts)
	}
	h.waitHeartbeat("the failures", func(hb events.Heartbeat) bool {
		i := slices.IndexFunc(hb.Tasks, func(r events.TaskReport) bool { return r.TaskID == "web.1" })
		return i >= 0 && len(hb.Tasks[i].Health) == 1 && hb.Tasks[i].Health[0].ConsecutiveFailures >= 3
	})

	// Killed, it is checked no more, and nothing follows TASK_KILLED.
	h.send(events.Command{Kind: events.CommandKill, TaskID: "web.1", AppID: "/web", Epoch: 1})
	h.waitStatus("web.1", events.TaskKilled)
	before := ts.requests.Load()
	h.waitHeartbeat("no task", func(hb events.Heartbeat) bool { return len(hb.Tasks) == 0 })
	h.waitHeartbeat("another", func(hb events.Heartbeat) bool { return true })
	if n := ts.requests.Load(); n > before+1 {
		t.Fatalf("%d probes after the kill", n-before)
	}
	states := h.statesOf("web.1")
	if states[len(states)-1] != events.TaskKilled {
		t.Fatalf("statuses after TASK_KILLED: %v", states)
	}
}

func TestReadinessIsReported(t *testing.T) {
	h := newHarness(t)
	ts := newTaskServer(t)
	h.send(checkedLaunch("api.1", ts.port, func(a *marathon.App) {
		a.PortDefinitions = []marathon.PortDefinition{{Name: "api"}}
		a.ReadinessChecks = []json.RawMessage{json.RawMessage(`{"portName":"api","path":"/ready","intervalSeconds":0,"timeoutSeconds":1}`)}
	}))
	st := h.waitStatus("api.1", events.TaskRunning)
	if st.Ready == nil || *st.Ready {
		t.Fatalf("running status ready %v, want false", st.Ready)
	}
	h.waitHeartbeat("not ready", func(hb events.Heartbeat) bool {
		return len(hb.Tasks) == 1 && hb.Tasks[0].Ready != nil && !*hb.Tasks[0].Ready
	})
	ts.ready.Store(true)
	testutil.Eventually(t, wait, 10*time.Millisecond, func() error {
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, st := range h.statuses {
			if st.TaskID == "api.1" && st.State == events.TaskRunning && st.Ready != nil && *st.Ready {
				return nil
			}
		}
		return fmt.Errorf("no ready status among %+v", h.statuses)
	})
	h.waitHeartbeat("ready", func(hb events.Heartbeat) bool {
		return len(hb.Tasks) == 1 && hb.Tasks[0].Ready != nil && *hb.Tasks[0].Ready && hb.Tasks[0].Health == nil
	})
}

func TestAdoptedTasksKeepTheirChecks(t *testing.T) {
	ts := newTaskServer(t)
	spec, err := checkedLaunch("old.1", ts.port, func(a *marathon.App) {
		a.HealthChecks = []marathon.HealthCheck{healthCheck("HTTP", "/healthz")}
	}).Launch.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(h *harness) {
		// As an agent restarted finds a container whose labels hold its checks.
		h.rt.AdoptLaunched(events.TaskReport{TaskID: "old.1", AppID: "/web", State: events.TaskRunning,
			ContainerID: "mem-old", HostPorts: []int{ts.port}, StartedAt: time.Now()}, spec)
	})
	h.waitHealthStatus("old.1", "alive", func(r events.HealthResult) bool { return r.Alive })
	ts.failing.Store(true)
	h.waitHealthStatus("old.1", "a failure", func(r events.HealthResult) bool { return r.ConsecutiveFailures > 0 })
}

func TestCommandHealthChecks(t *testing.T) {
	h := newHarness(t)
	var exit atomic.Int64
	h.rt.SetExec(func(taskID string, cmd []string) (agent.ExecResult, error) {
		if taskID != "cmd.1" || !slices.Equal(cmd, []string{"/bin/sh", "-c", "test -f /tmp/ok"}) {
			return agent.ExecResult{}, fmt.Errorf("unexpected exec %s %q", taskID, cmd)
		}
		return agent.ExecResult{ExitCode: int(exit.Load()), Output: "not ok"}, nil
	})
	h.send(checkedLaunch("cmd.1", 31005, func(a *marathon.App) {
		hc := healthCheck("COMMAND", "")
		hc.PortIndex, hc.Command = nil, json.RawMessage(`{"value":"test -f /tmp/ok"}`)
		a.HealthChecks = []marathon.HealthCheck{hc}
	}))
	h.waitHealthStatus("cmd.1", "alive", func(r events.HealthResult) bool { return r.Alive })
	exit.Store(1)
	st := h.waitHealthStatus("cmd.1", "a failure", func(r events.HealthResult) bool { return r.ConsecutiveFailures > 0 })
	if c := st.Health[0].LastFailureCause; c != "exit code 1: not ok" {
		t.Fatalf("cause %q", c)
	}
}
