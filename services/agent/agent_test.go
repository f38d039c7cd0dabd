package agent_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/events/natsbus"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/agent"
	"github.com/drover/drover/services/agent/memruntime"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const wait = 10 * time.Second

// harness is one agent on an in-process JetStream with a memory runtime, and
// what the scheduler side sees of it.
type harness struct {
	t     testing.TB
	bus   *natsbus.Bus
	nc    *nats.Conn
	rt    *memruntime.Runtime
	host  *memruntime.Runtime // when set, the host command runtime beside rt (agent.Routed)
	agent *agent.Agent
	id    string
	beat  time.Duration // heartbeat interval (50 ms unless a hook sets it)
	tune  func(*agent.Config)

	mu         sync.Mutex
	statuses   []events.TaskStatus
	heartbeats []events.Heartbeat
}

func newHarness(t testing.TB, before ...func(*harness)) *harness {
	t.Helper()
	srv := testutil.RunJetStream(t)
	h := &harness{t: t, bus: srv.Bus(t), nc: srv.Connect(t), rt: memruntime.New(), id: "agent-1", beat: 50 * time.Millisecond}
	for _, f := range before {
		f(h)
	}
	cfg := agent.DefaultConfig()
	cfg.AgentID, cfg.Hostname, cfg.Address = h.id, "host1", "127.0.0.11"
	cfg.Attributes = map[string]string{"rack": "r1"}
	cfg.Resources = events.Resources{Cpus: 4, Mem: 4096, Ports: []events.PortRange{{Begin: 31000, End: 31999}}}
	cfg.HeartbeatInterval = h.beat
	cfg.MinCheckInterval = 50 * time.Millisecond
	if h.tune != nil {
		h.tune(&cfg)
	}
	var rt agent.Runtime = h.rt
	if h.host != nil {
		rt = &agent.Routed{Containers: h.rt, Commands: hostMem{h.host}}
	}
	a, err := agent.New(cfg, h.bus, h.nc, rt, testutil.Logger(t))
	if err != nil {
		t.Fatalf("agent.New: %v", err)
	}
	h.agent = a
	h.watch()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(wait):
			t.Errorf("Run did not return after cancel")
		}
	})
	return h
}

// watch records the agent's heartbeats and statuses as the scheduler reads them.
func (h *harness) watch() {
	t := h.t
	sub, err := h.nc.Subscribe(events.AgentHeartbeat(h.id), func(m *nats.Msg) {
		hb, err := events.Decode[events.Heartbeat](m.Data)
		if err != nil {
			t.Errorf("heartbeat: %v", err)
			return
		}
		h.mu.Lock()
		h.heartbeats = append(h.heartbeats, hb)
		h.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	cons, err := h.bus.JS.CreateOrUpdateConsumer(ctx, events.StreamStatus, jetstream.ConsumerConfig{
		Durable: "test-status", FilterSubject: events.AgentStatus(h.id), AckPolicy: jetstream.AckExplicitPolicy,
	})
	if err != nil {
		t.Fatal(err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		st, err := events.Decode[events.TaskStatus](m.Data())
		if err != nil {
			t.Errorf("status: %v", err)
		}
		h.mu.Lock()
		h.statuses = append(h.statuses, st)
		h.mu.Unlock()
		_ = m.Ack()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cc.Stop)
}

func (h *harness) send(cmd events.Command) {
	h.t.Helper()
	cmd.V = events.Version
	if cmd.ID == "" {
		cmd.ID = fmt.Sprintf("%s-%s-%d", cmd.TaskID, cmd.Kind, time.Now().UnixNano())
	}
	cmd.IssuedAt = time.Now()
	data, err := events.Encode(cmd)
	if err != nil {
		h.t.Fatal(err)
	}
	h.sendRaw(data)
}

func (h *harness) sendRaw(data []byte) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := h.bus.JS.Publish(ctx, events.AgentCommand(h.id), data); err != nil {
		h.t.Fatalf("publish command: %v", err)
	}
}

// waitStatus waits for a status of the task in the state, and returns it.
func (h *harness) waitStatus(taskID string, state events.TaskState) events.TaskStatus {
	h.t.Helper()
	var found events.TaskStatus
	testutil.Eventually(h.t, wait, 10*time.Millisecond, func() error {
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, st := range h.statuses {
			if st.TaskID == taskID && st.State == state {
				found = st
				return nil
			}
		}
		return fmt.Errorf("no %s status for %s among %+v", state, taskID, h.statuses)
	})
	return found
}

func (h *harness) statesOf(taskID string) []events.TaskState {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []events.TaskState
	for _, st := range h.statuses {
		if st.TaskID == taskID {
			out = append(out, st.State)
		}
	}
	return out
}

// waitHeartbeat waits for a heartbeat sent from now on that satisfies ok.
func (h *harness) waitHeartbeat(what string, ok func(events.Heartbeat) bool) events.Heartbeat {
	h.t.Helper()
	h.mu.Lock()
	from := len(h.heartbeats)
	h.mu.Unlock()
	var found events.Heartbeat
	testutil.Eventually(h.t, wait, 10*time.Millisecond, func() error {
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, hb := range h.heartbeats[from:] {
			if ok(hb) {
				found = hb
				return nil
			}
		}
		return fmt.Errorf("no heartbeat with %s", what)
	})
	return found
}

func hasTask(hb events.Heartbeat, taskID string, state events.TaskState) bool {
	return slices.ContainsFunc(hb.Tasks, func(r events.TaskReport) bool { return r.TaskID == taskID && r.State == state })
}

func launchCmd(taskID string, epoch uint64) events.Command {
	return events.Command{Kind: events.CommandLaunch, TaskID: taskID, AppID: "/web", Epoch: epoch, Launch: &events.LaunchSpec{
		App:       marathon.App{ID: "/web", Version: "2026-01-01T00:00:00.000Z"},
		HostPorts: []int{31005},
		Env:       map[string]string{"PORT0": "31005"},
	}}
}

func setLeader(t testing.TB, bus *natsbus.Bus, epoch uint64) {
	t.Helper()
	setLeaderRecord(t, bus, events.LeaderRecord{Epoch: epoch})
}

func setLeaderRecord(t testing.TB, bus *natsbus.Bus, rec events.LeaderRecord) {
	t.Helper()
	rec.V, rec.SchedulerID, rec.Since = events.Version, "s1", time.Now()
	data, err := events.Encode(rec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bus.Leader.Put(context.Background(), events.LeaderKey, data); err != nil {
		t.Fatal(err)
	}
}

func TestHeartbeatDescribesTheAgent(t *testing.T) {
	h := newHarness(t)
	hb := h.waitHeartbeat("docker healthy", func(hb events.Heartbeat) bool { return hb.Docker.Healthy })
	if hb.V != events.Version || hb.AgentID != "agent-1" || hb.Hostname != "host1" || hb.Address != "127.0.0.11" ||
		hb.Attributes["rack"] != "r1" || hb.Resources.Cpus != 4 || !hb.Policy.AllowPrivileged ||
		hb.Tasks == nil || hb.StartedAt.IsZero() || hb.SentAt.Before(hb.StartedAt) {
		t.Fatalf("heartbeat = %+v", hb)
	}
}

func TestLaunchThenKill(t *testing.T) {
	h := newHarness(t)
	h.send(launchCmd("web.1", 1))
	st := h.waitStatus("web.1", events.TaskRunning)
	if st.AgentID != "agent-1" || st.AppID != "/web" || st.Version == "" || st.ContainerID == "" ||
		!slices.Equal(st.HostPorts, []int{31005}) || st.At.IsZero() {
		t.Fatalf("running status = %+v", st)
	}
	h.waitHeartbeat("the task running", func(hb events.Heartbeat) bool { return hasTask(hb, "web.1", events.TaskRunning) })

	h.send(events.Command{Kind: events.CommandKill, TaskID: "web.1", AppID: "/web", Epoch: 1})
	killed := h.waitStatus("web.1", events.TaskKilled)
	if killed.Version == "" {
		t.Errorf("killed status lost the version: %+v", killed)
	}
	h.waitHeartbeat("no task", func(hb events.Heartbeat) bool { return len(hb.Tasks) == 0 })
	if _, ok := h.rt.Task("web.1"); ok {
		t.Fatal("task still in the runtime")
	}
	testutil.Eventually(t, wait, 10*time.Millisecond, func() error {
		if s := h.agent.Stats(); s.CommandsDone != 2 {
			return fmt.Errorf("stats %+v", s)
		}
		return nil
	})
	if got := h.statesOf("web.1"); !slices.Equal(got, []events.TaskState{events.TaskRunning, events.TaskKilled}) {
		t.Fatalf("statuses %v, want each state once", got)
	}
}

func TestLaunchIsIdempotent(t *testing.T) {
	h := newHarness(t)
	h.send(launchCmd("web.1", 1))
	h.send(launchCmd("web.1", 1))
	h.waitStatus("web.1", events.TaskRunning)
	testutil.Eventually(t, wait, 10*time.Millisecond, func() error {
		if s := h.agent.Stats(); s.CommandsDone != 2 {
			return fmt.Errorf("stats %+v", s)
		}
		return nil
	})
	if n := h.rt.Launches(); n != 1 {
		t.Fatalf("%d launches, want 1", n)
	}
}

func TestStaleEpochIsRefused(t *testing.T) {
	h := newHarness(t, func(h *harness) { setLeader(t, h.bus, 5) })
	h.waitHeartbeat("epoch 5", func(hb events.Heartbeat) bool { return hb.Epoch == 5 })

	h.send(launchCmd("web.1", 3))
	st := h.waitStatus("web.1", events.TaskDropped)
	if st.Message != "refused: stale epoch 3 < 5" {
		t.Fatalf("message %q", st.Message)
	}
	if n := h.rt.Launches(); n != 0 {
		t.Fatalf("a refused command launched %d tasks", n)
	}

	// A new leader fences its predecessor before sending anything.
	setLeader(t, h.bus, 9)
	h.waitHeartbeat("epoch 9", func(hb events.Heartbeat) bool { return hb.Epoch == 9 })
	h.send(launchCmd("web.2", 7))
	h.waitStatus("web.2", events.TaskDropped)

	// The current leader is obeyed, and a higher epoch raises the fence.
	h.send(launchCmd("web.3", 10))
	h.waitStatus("web.3", events.TaskRunning)
	if h.agent.Epoch() != 10 {
		t.Fatalf("epoch %d, want 10", h.agent.Epoch())
	}

	// A stale kill of a running task reports the task as it is.
	h.send(events.Command{Kind: events.CommandKill, TaskID: "web.3", Epoch: 9})
	testutil.Eventually(t, wait, 10*time.Millisecond, func() error {
		if s := h.agent.Stats(); s.CommandsRefused != 3 {
			return fmt.Errorf("stats %+v", s)
		}
		return nil
	})
	if _, ok := h.rt.Task("web.3"); !ok {
		t.Fatal("a stale kill killed the task")
	}
	if n := h.rt.Launches(); n != 1 {
		t.Fatalf("%d launches, want 1", n)
	}
}

// A leader that reclaimed its own lock after a late renewal (epoch 12 of
// lineage 9) still has its earlier terms' commands run; a lower one is refused.
func TestReclaimedLeadersCommandsRun(t *testing.T) {
	h := newHarness(t, func(h *harness) { setLeaderRecord(t, h.bus, events.LeaderRecord{Epoch: 12, Lineage: 9}) })
	h.waitHeartbeat("epoch 12", func(hb events.Heartbeat) bool { return hb.Epoch == 12 })
	h.send(launchCmd("web.1", 9))
	h.waitStatus("web.1", events.TaskRunning)
	h.send(launchCmd("web.2", 8))
	if st := h.waitStatus("web.2", events.TaskDropped); st.Message != "refused: stale epoch 8 < 12" {
		t.Fatalf("message %q", st.Message)
	}
}

func TestMalformedCommandsAreTerminated(t *testing.T) {
	h := newHarness(t)
	h.sendRaw([]byte("not json"))
	h.sendRaw([]byte(`{"v":99,"id":"x","kind":"launch","taskId":"t"}`))
	h.sendRaw([]byte(`{"v":1,"id":"y","kind":"reboot","taskId":"t"}`))
	h.sendRaw([]byte(`{"v":1,"id":"z","kind":"launch","taskId":"t"}`))
	testutil.Eventually(t, wait, 10*time.Millisecond, func() error {
		if s := h.agent.Stats(); s.CommandsMalformed != 4 {
			return fmt.Errorf("stats %+v", s)
		}
		return nil
	})
	h.send(launchCmd("web.1", 0))
	h.waitStatus("web.1", events.TaskRunning)
	// The heartbeat tells the count.
	h.waitHeartbeat("4 malformed", func(hb events.Heartbeat) bool { return hb.Refused != nil && hb.Refused.Malformed == 4 })
	// Terminated messages are gone from the work queue.
	testutil.Eventually(t, wait, 10*time.Millisecond, func() error {
		info, err := h.bus.JS.Stream(context.Background(), events.StreamCommands)
		if err != nil {
			return err
		}
		if n := info.CachedInfo().State.Msgs; n != 0 {
			return fmt.Errorf("%d commands left in the stream", n)
		}
		return nil
	})
}

func TestRuntimeEventsAreReported(t *testing.T) {
	h := newHarness(t)
	h.send(launchCmd("web.1", 1))
	h.waitStatus("web.1", events.TaskRunning)
	if err := h.rt.Exit("web.1", 2); err != nil {
		t.Fatal(err)
	}
	st := h.waitStatus("web.1", events.TaskFailed)
	if st.Message != "exit code 2" {
		t.Fatalf("message %q", st.Message)
	}
	h.waitHeartbeat("the task failed", func(hb events.Heartbeat) bool { return hasTask(hb, "web.1", events.TaskFailed) })
	// A launch of an ended task changes nothing: a task id runs once.
	h.send(launchCmd("web.1", 1))
	testutil.Eventually(t, wait, 10*time.Millisecond, func() error {
		if s := h.agent.Stats(); s.CommandsDone != 2 {
			return fmt.Errorf("stats %+v", s)
		}
		return nil
	})
	if got := h.statesOf("web.1"); !slices.Equal(got, []events.TaskState{events.TaskRunning, events.TaskFailed}) {
		t.Fatalf("statuses %v", got)
	}
}

func TestLaunchFailures(t *testing.T) {
	h := newHarness(t)
	h.rt.FailLaunches(func(taskID string, _ marathon.TaskSpec) error {
		if taskID == "bad.1" {
			return fmt.Errorf("parameters: %w", agent.ErrInvalidSpec)
		}
		return errors.New(`pull "nope:latest": not found`)
	})
	h.send(launchCmd("pull.1", 1))
	if st := h.waitStatus("pull.1", events.TaskFailed); st.Message != `pull "nope:latest": not found` || st.AppID != "/web" {
		t.Fatalf("failed status %+v", st)
	}
	h.send(launchCmd("bad.1", 1))
	h.waitStatus("bad.1", events.TaskError)
}

// TestLaunchOnAGoneDaemonIsLost: a launch that fails because the Docker
// daemon is gone is the host's failure, not the task's: TASK_LOST (no launch
// backoff), and a heartbeat saying so goes out at once, not an interval later.
func TestLaunchOnAGoneDaemonIsLost(t *testing.T) {
	h := newHarness(t, func(h *harness) { h.beat = time.Hour })
	h.waitHeartbeat("the first", func(events.Heartbeat) bool { return true })
	h.mu.Lock()
	before := len(h.heartbeats)
	h.mu.Unlock()
	h.rt.SetDown(errors.New("Cannot connect to the Docker daemon"))
	h.send(launchCmd("web.1", 1))
	st := h.waitStatus("web.1", events.TaskLost)
	if !strings.Contains(st.Message, "Docker is unavailable on agent agent-1") {
		t.Errorf("lost status message %q", st.Message)
	}
	testutil.Eventually(t, wait, 10*time.Millisecond, func() error {
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, hb := range h.heartbeats[before:] {
			if !hb.Docker.Healthy {
				return nil
			}
		}
		return errors.New("no heartbeat saying Docker is down (the next one is an hour away)")
	})
}

// TestEndedTaskIsInAHeartbeatAtOnce: a task's end goes out in a heartbeat at
// once too (core NATS), so the scheduler hears of it while the status
// stream elects a leader.
func TestEndedTaskIsInAHeartbeatAtOnce(t *testing.T) {
	h := newHarness(t, func(h *harness) { h.beat = time.Hour })
	h.send(launchCmd("web.1", 1))
	h.waitStatus("web.1", events.TaskRunning)
	h.mu.Lock()
	before := len(h.heartbeats)
	h.mu.Unlock()
	if err := h.rt.Exit("web.1", 137); err != nil {
		t.Fatal(err)
	}
	h.waitStatus("web.1", events.TaskFailed)
	testutil.Eventually(t, wait, 10*time.Millisecond, func() error {
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, hb := range h.heartbeats[before:] {
			if hasTask(hb, "web.1", events.TaskFailed) {
				return nil
			}
		}
		return errors.New("no heartbeat reporting the task failed (the next one is an hour away)")
	})
}

func TestPolicyRefusesPrivileged(t *testing.T) {
	srv := testutil.RunJetStream(t)
	bus, nc, rt := srv.Bus(t), srv.Connect(t), memruntime.New()
	cfg := agent.DefaultConfig()
	cfg.AgentID, cfg.Hostname, cfg.HeartbeatInterval = "strict", "host2", 50*time.Millisecond
	cfg.Policy = events.AgentPolicy{AllowPrivileged: false}
	a, err := agent.New(cfg, bus, nc, rt, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()

	cmd := launchCmd("priv.1", 1)
	cmd.V, cmd.ID = events.Version, "c1"
	cmd.Launch.App.Container = &marathon.Container{Type: "DOCKER", Docker: &marathon.Docker{Image: "httpd", Privileged: true}}
	data, _ := events.Encode(cmd)
	if _, err := bus.JS.Publish(ctx, events.AgentCommand("strict"), data); err != nil {
		t.Fatal(err)
	}
	cons, err := bus.JS.CreateOrUpdateConsumer(ctx, events.StreamStatus, jetstream.ConsumerConfig{Durable: "t", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := cons.Fetch(1, jetstream.FetchMaxWait(wait))
	if err != nil {
		t.Fatal(err)
	}
	for m := range msgs.Messages() {
		st, _ := events.Decode[events.TaskStatus](m.Data())
		if st.State != events.TaskError || st.TaskID != "priv.1" {
			t.Fatalf("status %+v, want TASK_ERROR", st)
		}
		return
	}
	t.Fatal("no status")
}

func TestDockerDownInHeartbeat(t *testing.T) {
	h := newHarness(t)
	h.send(launchCmd("web.1", 1))
	h.waitStatus("web.1", events.TaskRunning)
	h.rt.SetDown(errors.New("cannot connect to the docker daemon"))
	hb := h.waitHeartbeat("docker down", func(hb events.Heartbeat) bool { return !hb.Docker.Healthy })
	if !strings.Contains(hb.Docker.Error, "cannot connect to the docker daemon") || hb.Docker.Degraded {
		t.Fatalf("docker health %+v", hb.Docker)
	}
	h.rt.SetDown(nil)
	h.waitHeartbeat("docker back", func(hb events.Heartbeat) bool { return hb.Docker.Healthy && hasTask(hb, "web.1", events.TaskRunning) })
}

func TestAdoptedTasksAreReported(t *testing.T) {
	h := newHarness(t, func(h *harness) {
		h.rt.Adopt(events.TaskReport{TaskID: "old.1", AppID: "/web", State: events.TaskRunning})
	})
	h.waitHeartbeat("the adopted task", func(hb events.Heartbeat) bool { return hasTask(hb, "old.1", events.TaskRunning) })
	h.send(events.Command{Kind: events.CommandKill, TaskID: "old.1", AppID: "/web"})
	h.waitStatus("old.1", events.TaskKilled)
}

func TestCommandConsumerOutlivesTheAgent(t *testing.T) {
	srv := testutil.RunJetStream(t)
	bus, nc := srv.Bus(t), srv.Connect(t)
	rt := memruntime.New()
	cfg := agent.DefaultConfig()
	cfg.AgentID, cfg.Hostname, cfg.HeartbeatInterval = "a2", "host2", 50*time.Millisecond
	run := func() (stop func()) {
		a, err := agent.New(cfg, bus, nc, rt, testutil.Logger(t))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- a.Run(ctx) }()
		return func() { cancel(); <-done }
	}
	stop := run()
	testutil.Eventually(t, wait, 10*time.Millisecond, func() error {
		_, err := bus.JS.Consumer(context.Background(), events.StreamCommands, events.AgentCommandConsumer("a2"))
		return err
	})
	stop()
	// Sent while the agent is away: run when it is back.
	cmd := launchCmd("web.1", 1)
	cmd.V, cmd.ID = events.Version, "c1"
	data, _ := events.Encode(cmd)
	if _, err := bus.JS.Publish(context.Background(), events.AgentCommand("a2"), data); err != nil {
		t.Fatal(err)
	}
	defer run()()
	testutil.Eventually(t, wait, 10*time.Millisecond, func() error {
		if _, ok := rt.Task("web.1"); !ok {
			return errors.New("not launched")
		}
		return nil
	})
}
