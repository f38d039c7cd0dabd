package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/agent"
	"github.com/drover/drover/services/agent/memruntime"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// versions counts running tasks per app version across hosts.
func versions(t *testing.T, hosts []*fakeHost) map[string][]string {
	out := map[string][]string{}
	for _, h := range hosts {
		for _, tk := range h.running(t) {
			out[tk.Version] = append(out[tk.Version], tk.TaskID)
		}
	}
	return out
}

func plainApp(n int, version string, minHealth, maxOver float64) marathon.App {
	cpus, mem := 0.1, 16.0
	return marathon.App{ID: "/web", Instances: &n, Cpus: &cpus, Mem: &mem, Version: version,
		UpgradeStrategy: &marathon.UpgradeStrategy{MinimumHealthCapacity: minHealth, MaximumOverCapacity: maxOver},
		Container:       &marathon.Container{Type: "DOCKER", Docker: &marathon.Docker{Image: "httpd"}}}
}

// watchEvents collects Marathon events of one type from the events stream.
func watchEvents(t *testing.T, js *testutil.JetStream, eventType string) func() []events.DeploymentEvent {
	t.Helper()
	var mu sync.Mutex
	var got []events.DeploymentEvent
	sub, err := js.Connect(t).Subscribe(events.Event(eventType), func(m *nats.Msg) {
		var e events.DeploymentEvent
		if json.Unmarshal(m.Data, &e) == nil {
			mu.Lock()
			got = append(got, e)
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return func() []events.DeploymentEvent {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
}

func TestRollingUpgradeKeepsMinimumHealthCapacity(t *testing.T) {
	js := testutil.RunJetStream(t)
	startScheduler(t, js, "s")
	var hosts []*fakeHost
	for i := range 2 {
		hosts = append(hosts, startHost(t, js, fmt.Sprintf("h%d", i+1), memruntime.New()))
	}
	bus := js.Bus(t)
	successes := watchEvents(t, js, events.EventDeploymentSuccess)
	putApp(t, bus, plainApp(4, "v1", 0.5, 0))
	testutil.Eventually(t, 10*time.Second, 20*time.Millisecond, func() error {
		if n := len(versions(t, hosts)["v1"]); n != 4 {
			return fmt.Errorf("%d v1 tasks running", n)
		}
		return nil
	})

	// Watch every running task while v2 rolls out: never under 2 (0.5 x 4),
	// never over 4 (4 x (1 + 0)).
	ctx, stop := context.WithCancel(context.Background())
	lowest, highest := 4, 4
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		ids := func(h *fakeHost) (out []string) {
			for _, r := range h.running(t) {
				out = append(out, r.TaskID)
			}
			slices.Sort(out)
			return out
		}
		for ctx.Err() == nil {
			// Reading one host after the other is no snapshot: a kill on
			// one and the launch it allows on the other can fall between
			// the reads. Reading the first host again, and finding the
			// very same tasks, makes it one: the first host held them
			// all the while the second was read.
			first, second, again := ids(hosts[0]), ids(hosts[1]), ids(hosts[0])
			if slices.Equal(first, again) {
				n := len(first) + len(second)
				lowest, highest = min(lowest, n), max(highest, n)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	d := putApp(t, bus, plainApp(4, "v2", 0.5, 0))
	testutil.Eventually(t, 15*time.Second, 20*time.Millisecond, func() error {
		v := versions(t, hosts)
		if len(v["v2"]) != 4 || len(v["v1"]) != 0 {
			return fmt.Errorf("v1 %d, v2 %d running", len(v["v1"]), len(v["v2"]))
		}
		for _, e := range successes() {
			if e.ID == d.ID {
				return nil
			}
		}
		return errors.New("no deployment_success yet")
	})
	stop()
	<-watched
	t.Logf("running tasks during the upgrade: between %d and %d", lowest, highest)
	if lowest < 2 || highest > 4 {
		t.Errorf("running tasks went to [%d, %d], want within [2, 4]", lowest, highest)
	}
}

func TestUpgradeThatNeverGetsHealthyFailsAndOldKeepsServing(t *testing.T) {
	js := testutil.RunJetStream(t)
	s := startSchedulerWith(t, js, "s", func(c *Config) { c.DeploymentTimeout = 3 * time.Second })
	_ = s
	hosts := []*fakeHost{startHost(t, js, "h1", memruntime.New()), startHost(t, js, "h2", memruntime.New())}
	bus := js.Bus(t)
	failures := watchEvents(t, js, events.EventDeploymentFailed)
	putApp(t, bus, plainApp(2, "v1", 1, 1))
	testutil.Eventually(t, 10*time.Second, 20*time.Millisecond, func() error {
		if n := len(versions(t, hosts)["v1"]); n != 2 {
			return fmt.Errorf("%d v1 tasks running", n)
		}
		return nil
	})
	// v2 has a health check that never reports healthy (no checker answers
	// for the in-memory runtime's tasks within the test).
	v2 := plainApp(2, "v2", 1, 1)
	v2.HealthChecks = []marathon.HealthCheck{{Protocol: "TCP", GracePeriodSeconds: 300, IntervalSeconds: 60, TimeoutSeconds: 20, MaxConsecutiveFailures: 3}}
	d := putApp(t, bus, v2)
	var failed events.DeploymentEvent
	testutil.Eventually(t, 15*time.Second, 50*time.Millisecond, func() error {
		for _, e := range failures() {
			if e.ID == d.ID {
				failed = e
				return nil
			}
		}
		return errors.New("no deployment_failed yet")
	})
	t.Logf("deployment_failed reason: %s", failed.Reason)
	if failed.Reason == "" {
		t.Error("deployment_failed without a reason")
	}
	if n := len(versions(t, hosts)["v1"]); n != 2 {
		t.Errorf("%d v1 tasks still serve, want 2", n)
	}
	if _, err := bus.Deployments.Get(t.Context(), d.ID); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("the failed deployment is still recorded: %v", err)
	}
}

func TestLeaderFailoverMidDeployment(t *testing.T) {
	js := testutil.RunJetStream(t)
	a := startScheduler(t, js, "a")
	b := startScheduler(t, js, "b")
	// The v2 health check is a command: it fails until healthy is set.
	var healthy atomic.Bool
	var hosts []*fakeHost
	for i := range 3 {
		rt := memruntime.New()
		rt.SetExec(func(string, []string) (agent.ExecResult, error) {
			if healthy.Load() {
				return agent.ExecResult{}, nil
			}
			return agent.ExecResult{ExitCode: 1, Output: "not yet"}, nil
		})
		hosts = append(hosts, startHost(t, js, fmt.Sprintf("h%d", i+1), rt))
	}
	bus := js.Bus(t)
	successes := watchEvents(t, js, events.EventDeploymentSuccess)
	putApp(t, bus, plainApp(6, "v1", 0.5, 0))
	testutil.Eventually(t, 10*time.Second, 20*time.Millisecond, func() error {
		if n := len(versions(t, hosts)["v1"]); n != 6 {
			return fmt.Errorf("%d v1 tasks running", n)
		}
		return nil
	})
	// The upgrade goes to half capacity and waits for v2 to get healthy.
	v2 := plainApp(6, "v2", 0.5, 0)
	v2.HealthChecks = []marathon.HealthCheck{{Protocol: "COMMAND", Command: json.RawMessage(`{"value":"check"}`),
		GracePeriodSeconds: 300, IntervalSeconds: 1, TimeoutSeconds: 1, MaxConsecutiveFailures: 0}}
	d := putApp(t, bus, v2)
	var early []string
	testutil.Eventually(t, 10*time.Second, 5*time.Millisecond, func() error {
		v := versions(t, hosts)
		early = v["v2"]
		if len(early) != 3 || len(v["v1"]) != 3 {
			return fmt.Errorf("v1 %d, v2 %d running; want 3 and 3", len(v["v1"]), len(early))
		}
		return nil
	})

	// v2 turns healthy and the leader crashes: the other takes over and
	// finishes from what the buckets and the heartbeats say.
	healthy.Store(true)
	leader, err := leaderOf(a, b)
	if err != nil {
		t.Fatal(err)
	}
	leader.nc.Close()
	testutil.Eventually(t, 20*time.Second, 50*time.Millisecond, func() error {
		v := versions(t, hosts)
		if len(v["v2"]) != 6 || len(v["v1"]) != 0 {
			return fmt.Errorf("v1 %d, v2 %d running", len(v["v1"]), len(v["v2"]))
		}
		for _, e := range successes() {
			if e.ID == d.ID {
				return nil
			}
		}
		return errors.New("no deployment_success yet")
	})
	final := versions(t, hosts)["v2"]
	for _, id := range early {
		if !slices.Contains(final, id) {
			t.Errorf("healthy v2 task %s, running before the failover, was restarted", id)
		}
	}
}
