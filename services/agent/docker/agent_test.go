package docker

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/events/natsbus"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/agent"
)

// TestAgentOnDocker runs the scenario's app through an agent: a launch
// command becomes a container serving the page on the agent's address, and
// a container killed behind the agent's back is reported failed.
func TestAgentOnDocker(t *testing.T) {
	cli := requireDocker(t)
	srv := testutil.RunJetStream(t)
	bus, nc := srv.Bus(t), srv.Connect(t)
	id := newAgentID(t)
	rt := newRuntime(t, cli, id, "127.0.0.13")

	cfg := agent.DefaultConfig()
	cfg.AgentID, cfg.Hostname, cfg.Address = id, "host3", "127.0.0.13"
	cfg.HeartbeatInterval, cfg.KillGrace = 100*time.Millisecond, time.Second
	a, err := agent.New(cfg, bus, nc, rt, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	statuses := recordStatuses(t, bus, id)
	waitStatus := func(state events.TaskState) events.TaskStatus {
		t.Helper()
		var found events.TaskStatus
		testutil.Eventually(t, wait, 20*time.Millisecond, func() error {
			all := statuses()
			for _, st := range all {
				if st.State == state {
					found = st
					return nil
				}
			}
			return fmt.Errorf("no %s status among %+v", state, all)
		})
		return found
	}

	port := freePort(t, "127.0.0.13")
	app := httpdApp(htdocs(t, "hello from the example app"))
	app.ID = "/test-docker"
	app.Container.Docker.Privileged = true
	app.Container.Docker.Parameters = []marathon.Parameter{{Key: "publish", Value: fmt.Sprintf("%d:80", port)}}
	cmd := events.Command{
		V: events.Version, ID: "cmd-1", Epoch: 1, Kind: events.CommandLaunch, TaskID: "test-docker.1", AppID: app.ID,
		Launch: &events.LaunchSpec{App: app}, IssuedAt: time.Now(),
	}
	data, err := events.Encode(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bus.JS.Publish(ctx, events.AgentCommand(id), data, jetstream.WithMsgID(cmd.ID)); err != nil {
		t.Fatal(err)
	}

	running := waitStatus(events.TaskRunning)
	if !slices.Equal(running.HostPorts, []int{port}) || running.ContainerID == "" || running.IPAddress == "" {
		t.Fatalf("running status %+v", running)
	}
	if body := httpGet(t, fmt.Sprintf("http://127.0.0.13:%d/", port)); body != "hello from the example app" {
		t.Fatalf("body %q", body)
	}

	if err := cli.ContainerKill(ctx, running.ContainerID, "KILL"); err != nil {
		t.Fatal(err)
	}
	if failed := waitStatus(events.TaskFailed); failed.Message != "exit code 137" {
		t.Fatalf("failed status %+v", failed)
	}
	var states []events.TaskState
	for _, st := range statuses() {
		states = append(states, st.State)
	}
	if !slices.Equal(states, []events.TaskState{events.TaskRunning, events.TaskFailed}) {
		t.Fatalf("statuses %v, want each state once", states)
	}
}

// recordStatuses consumes the agent's status reports for the rest of the
// test; the function it returns gives those received so far.
func recordStatuses(t *testing.T, bus *natsbus.Bus, id string) func() []events.TaskStatus {
	t.Helper()
	var mu sync.Mutex
	var statuses []events.TaskStatus
	cons, err := bus.JS.CreateOrUpdateConsumer(t.Context(), events.StreamStatus, jetstream.ConsumerConfig{
		Durable: "test", FilterSubject: events.AgentStatus(id), AckPolicy: jetstream.AckExplicitPolicy,
	})
	if err != nil {
		t.Fatal(err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		st, _ := events.Decode[events.TaskStatus](m.Data())
		mu.Lock()
		statuses = append(statuses, st)
		mu.Unlock()
		_ = m.Ack()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cc.Stop)
	return func() []events.TaskStatus {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(statuses)
	}
}
