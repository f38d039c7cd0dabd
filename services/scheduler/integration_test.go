package scheduler

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/events/natsbus"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/agent"
	"github.com/drover/drover/services/agent/memruntime"
	"github.com/nats-io/nats.go/jetstream"
)

// fakeHost is an agent on an in-memory runtime.
type fakeHost struct {
	id     string
	rt     *memruntime.Runtime
	cancel context.CancelFunc
	done   chan struct{}
}

func startHost(t *testing.T, js *testutil.JetStream, id string, rt *memruntime.Runtime) *fakeHost {
	t.Helper()
	cfg := agent.DefaultConfig()
	cfg.Hostname = id
	cfg.Resources = events.Resources{Cpus: 4, Mem: 4096, Disk: 10000, Ports: []events.PortRange{{Begin: 31000, End: 31100}}}
	cfg.HeartbeatInterval = 200 * time.Millisecond
	a, err := agent.New(cfg, js.Bus(t), js.Connect(t), rt, testutil.Logger(t).With("test-agent", id))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &fakeHost{id: id, rt: rt, cancel: cancel, done: make(chan struct{})}
	go func() { defer close(h.done); _ = a.Run(ctx) }()
	t.Cleanup(h.stop)
	return h
}

func (h *fakeHost) stop() { h.cancel(); <-h.done }

func (h *fakeHost) running(t *testing.T) []events.TaskReport {
	t.Helper()
	list, err := h.rt.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []events.TaskReport
	for _, r := range list {
		if r.State == events.TaskRunning {
			out = append(out, r)
		}
	}
	return out
}

// putApp writes an app version and its deployment, as the api does.
func putApp(t *testing.T, bus *natsbus.Bus, app marathon.App) events.Deployment {
	t.Helper()
	marathon.ApplyDefaults(&app)
	if app.Version == "" {
		app.Version = time.Now().UTC().Format(time.RFC3339Nano)
	}
	app.VersionInfo = &marathon.VersionInfo{LastScalingAt: app.Version, LastConfigChangeAt: app.Version}
	d := events.Deployment{V: events.Version, ID: fmt.Sprintf("d-%d", time.Now().UnixNano()), Version: app.Version, AffectedApps: []string{app.ID},
		Steps: [][]events.DeploymentAction{{{Action: events.ActionStart, App: app.ID}}}, CreatedAt: time.Now()}
	data, err := events.Encode(events.AppRecord{V: events.Version, App: app, DeploymentID: d.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bus.Apps.Put(t.Context(), events.AppKey(app.ID), data); err != nil {
		t.Fatal(err)
	}
	data, _ = events.Encode(d)
	if _, err := bus.Deployments.Put(t.Context(), d.ID, data); err != nil {
		t.Fatal(err)
	}
	return d
}

func uniqueApp(id string, n int) marathon.App {
	cpus, mem := 0.5, 64.0
	return marathon.App{
		ID: id, Instances: &n, Cpus: &cpus, Mem: &mem,
		Constraints: []marathon.Constraint{{"hostname", "UNIQUE"}},
		Container:   &marathon.Container{Type: "DOCKER", Docker: &marathon.Docker{Image: "httpd", Network: "BRIDGE"}},
	}
}

// runningOn waits until exactly n tasks of the app run across the hosts, at
// most one per host, and returns the host of each task.
func runningOn(t *testing.T, hosts []*fakeHost, n int) map[string]string {
	t.Helper()
	where := map[string]string{}
	testutil.Eventually(t, 15*time.Second, 20*time.Millisecond, func() error {
		clear(where)
		for _, h := range hosts {
			tasks := h.running(t)
			if len(tasks) > 1 {
				return fmt.Errorf("%d tasks on %s", len(tasks), h.id)
			}
			for _, tk := range tasks {
				where[tk.TaskID] = h.id
			}
		}
		if len(where) != n {
			return fmt.Errorf("%d tasks running, want %d", len(where), n)
		}
		return nil
	})
	return where
}

func TestSchedulerReplacesDeadTaskThenBacksOff(t *testing.T) {
	js := testutil.RunJetStream(t)
	startScheduler(t, js, "s")
	hosts := []*fakeHost{
		startHost(t, js, "h1", memruntime.New()), startHost(t, js, "h2", memruntime.New()), startHost(t, js, "h3", memruntime.New()),
	}
	putApp(t, js.Bus(t), uniqueApp("/web", 3))
	where := runningOn(t, hosts, 3)

	// First death: replaced at once.
	var victim string
	for id := range where {
		victim = id
		break
	}
	host := hostByID(hosts, where[victim])
	if err := host.rt.Exit(victim, 1); err != nil {
		t.Fatal(err)
	}
	died := time.Now()
	after := runningOn(t, hosts, 3)
	if _, still := after[victim]; still {
		t.Fatalf("dead task %s still counted", victim)
	}
	first := time.Since(died)

	// The replacement dies young: the next launch waits backoffSeconds (1 s).
	var young string
	for id, h := range after {
		if h == host.id {
			young = id
		}
	}
	if young == "" {
		t.Fatalf("no replacement on %s (the only free host): %v", host.id, after)
	}
	if err := host.rt.Exit(young, 1); err != nil {
		t.Fatal(err)
	}
	died = time.Now()
	runningOn(t, hosts, 3)
	second := time.Since(died)
	// And again: the delay grows by backoffFactor (1.15).
	after = runningOn(t, hosts, 3)
	young = ""
	for id, h := range after {
		if h == host.id {
			young = id
		}
	}
	if err := host.rt.Exit(young, 1); err != nil {
		t.Fatal(err)
	}
	died = time.Now()
	runningOn(t, hosts, 3)
	third := time.Since(died)
	t.Logf("replacement after a first death: %s; after a young death: %s; after another: %s", first, second, third)
	if second < 900*time.Millisecond {
		t.Errorf("a young death was replaced after %s, want the 1 s launch backoff", second)
	}
	if third < 1100*time.Millisecond {
		t.Errorf("a second young death was replaced after %s, want the grown backoff of 1.15 s", third)
	}
}

func hostByID(hosts []*fakeHost, id string) *fakeHost {
	for _, h := range hosts {
		if h.id == id {
			return h
		}
	}
	return nil
}

func TestSchedulerMovesTasksOffDockerDownAgent(t *testing.T) {
	js := testutil.RunJetStream(t)
	startScheduler(t, js, "s")
	var hosts []*fakeHost
	for i := range 4 {
		hosts = append(hosts, startHost(t, js, fmt.Sprintf("h%d", i+1), memruntime.New()))
	}
	putApp(t, js.Bus(t), uniqueApp("/web", 3))
	where := runningOn(t, hosts, 3)
	var down *fakeHost
	for _, h := range where {
		down = hostByID(hosts, h)
		break
	}
	down.rt.SetDown(errors.New("Cannot connect to the Docker daemon"))
	testutil.Eventually(t, 10*time.Second, 20*time.Millisecond, func() error {
		n, spare := 0, false
		for _, h := range hosts {
			if h == down {
				continue
			}
			if c := len(h.running(t)); c == 1 {
				n++
			} else if c == 0 {
				spare = true
			}
		}
		if n != 3 || spare {
			return fmt.Errorf("%d hosts with a live daemon run a task, want 3", n)
		}
		return nil
	})
}

func TestSchedulerReplacesLostAgentAndKillsSupersededOnReturn(t *testing.T) {
	js := testutil.RunJetStream(t)
	startScheduler(t, js, "s")
	var hosts []*fakeHost
	for i := range 4 {
		hosts = append(hosts, startHost(t, js, fmt.Sprintf("h%d", i+1), memruntime.New()))
	}
	putApp(t, js.Bus(t), uniqueApp("/web", 3))
	where := runningOn(t, hosts, 3)
	var lost *fakeHost
	for _, h := range where {
		lost = hostByID(hosts, h)
		break
	}
	// The agent dies; its container runs on, out of sight.
	lost.stop()
	cut := time.Now()
	testutil.Eventually(t, 15*time.Second, 20*time.Millisecond, func() error {
		n := 0
		for _, h := range hosts {
			if h != lost && len(h.running(t)) == 1 {
				n++
			}
		}
		if n != 3 {
			return fmt.Errorf("%d other hosts run a task, want 3", n)
		}
		return nil
	})
	t.Logf("tasks of a silent agent replaced after %s (unreachable after %s)", time.Since(cut), DefaultConfig().UnreachableAfter)
	if len(lost.running(t)) != 1 {
		t.Fatal("the lost host's container should still be running while its agent is away")
	}

	// It comes back: the superseded task is killed, 3 run, no more.
	back := startHost(t, js, lost.id, lost.rt)
	hosts = append(hosts, back)
	testutil.Eventually(t, 10*time.Second, 20*time.Millisecond, func() error {
		if n := len(back.running(t)); n != 0 {
			return fmt.Errorf("returned host still runs %d tasks", n)
		}
		return nil
	})
	runningOn(t, hosts[:4], 3)
}

// TestLateWritesOfADeposedLeaderAreUndone writes instance records as a
// deposed leader's last publishes would land, after the new leader read the
// bucket: a record of a task the leader does not know is removed, and a stale
// record of a task it knows is written again from what it knows.
func TestLateWritesOfADeposedLeaderAreUndone(t *testing.T) {
	js := testutil.RunJetStream(t)
	s := startScheduler(t, js, "s")
	host := startHost(t, js, "h1", memruntime.New())
	bus := js.Bus(t)
	putApp(t, bus, uniqueApp("/web", 1))
	runningOn(t, []*fakeHost{host}, 1)
	task := host.running(t)[0].TaskID
	record := func(id string) (events.Instance, error) {
		e, err := bus.Instances.Get(t.Context(), events.InstanceKey(id))
		if err != nil {
			return events.Instance{}, err
		}
		return events.Decode[events.Instance](e.Value())
	}
	testutil.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
		inst, err := record(task)
		if err != nil || inst.State != events.TaskRunning || inst.Epoch != s.Epoch() {
			return fmt.Errorf("record of %s: %+v %v, want running at epoch %d", task, inst, err, s.Epoch())
		}
		return nil
	})
	late := func(inst events.Instance) {
		t.Helper()
		inst.Epoch = s.Epoch() - 1
		data, err := events.Encode(inst)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bus.Instances.Put(t.Context(), events.InstanceKey(inst.TaskID), data); err != nil {
			t.Fatal(err)
		}
	}

	stale, _ := record(task)
	stale.State = events.TaskStaging
	late(stale)
	ghost := events.Instance{V: events.Version, TaskID: "web.instance-ghost._app.1", AppID: "/web", AgentID: "h1", Host: "h1",
		State: events.TaskStaging, StagedAt: time.Now(), UpdatedAt: time.Now()}
	late(ghost)

	testutil.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
		if inst, err := record(task); err != nil || inst.State != events.TaskRunning {
			return fmt.Errorf("record of the running task: %s %v, want it restored to %s", inst.State, err, events.TaskRunning)
		}
		if _, err := record(ghost.TaskID); !errors.Is(err, jetstream.ErrKeyNotFound) {
			return fmt.Errorf("the unknown task's record is still there (%v)", err)
		}
		return nil
	})
	if n := len(host.running(t)); n != 1 {
		t.Errorf("%d tasks run, want 1", n)
	}
}

// TestNewLeaderSendsAgainALaunchThatDiedWithTheOldOne: a leader killed
// between recording a task STAGING and sending its launch leaves a record
// and no command; the next leader sends the launch again at once, so the
// task starts instead of waiting out the staging timeout (2 min).
func TestNewLeaderSendsAgainALaunchThatDiedWithTheOldOne(t *testing.T) {
	js := testutil.RunJetStream(t)
	bus := js.Bus(t)
	host := startHost(t, js, "h1", memruntime.New())
	d := putApp(t, bus, uniqueApp("/web", 1))
	now := time.Now()
	inst := events.Instance{V: events.Version, TaskID: "web.instance-orphan._app.1", AppID: "/web", Version: d.Version,
		AgentID: "h1", Host: "h1", State: events.TaskStaging, StagedAt: now, UpdatedAt: now, Epoch: 1}
	data, err := events.Encode(inst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bus.Instances.Put(t.Context(), events.InstanceKey(inst.TaskID), data); err != nil {
		t.Fatal(err)
	}
	startScheduler(t, js, "s")
	testutil.Eventually(t, 10*time.Second, 20*time.Millisecond, func() error {
		tasks := host.running(t)
		if len(tasks) != 1 || tasks[0].TaskID != inst.TaskID {
			return fmt.Errorf("running %v, want the recorded task %s", tasks, inst.TaskID)
		}
		return nil
	})
}
