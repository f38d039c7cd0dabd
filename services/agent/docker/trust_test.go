package docker

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/drover/drover/internal/chaos"
	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/services/agent"
)

// proxiedAgent is an agent whose runtime reaches the real daemon through a
// proxy the test slows, stalls or cuts, with one task running.
type proxiedAgent struct {
	proxy    *chaos.DockerProxy
	id       string
	taskID   string
	statuses func() []events.TaskStatus

	mu    sync.Mutex
	beats []events.Heartbeat
}

func startProxiedAgent(t *testing.T) *proxiedAgent {
	t.Helper()
	cli := requireDocker(t)
	srv := testutil.RunJetStream(t)
	bus, nc := srv.Bus(t), srv.Connect(t)
	p := &proxiedAgent{proxy: chaos.StartDockerProxy(t, ""), id: newAgentID(t), taskID: "slow.1"}
	dc := DefaultConfig()
	dc.AgentID, dc.Host = p.id, p.proxy.Host()
	rt := newRuntimeWith(t, cli, dc)

	cfg := agent.DefaultConfig()
	cfg.AgentID, cfg.Hostname = p.id, "slowhost"
	cfg.HeartbeatInterval = 250 * time.Millisecond
	a, err := agent.New(cfg, bus, nc, rt, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := nc.Subscribe(events.AgentHeartbeat(p.id), func(m *nats.Msg) {
		hb, err := events.Decode[events.Heartbeat](m.Data)
		if err != nil {
			t.Errorf("heartbeat: %v", err)
			return
		}
		p.mu.Lock()
		p.beats = append(p.beats, hb)
		p.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; p.proxy.Normal() })

	p.statuses = recordStatuses(t, bus, p.id)
	app := httpdApp(htdocs(t, "still here"))
	app.ID = "/slow"
	cmd := events.Command{V: events.Version, ID: "cmd-" + p.id, Epoch: 1, Kind: events.CommandLaunch, TaskID: p.taskID, AppID: app.ID,
		Launch: &events.LaunchSpec{App: app}, IssuedAt: time.Now()}
	data, err := events.Encode(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bus.JS.Publish(ctx, events.AgentCommand(p.id), data, jetstream.WithMsgID(cmd.ID)); err != nil {
		t.Fatal(err)
	}
	p.waitBeat(t, wait, "the task running in a fresh list", func(hb events.Heartbeat) bool {
		return !hb.TasksStale && hasRunning(hb, p.taskID) && hb.Docker.Healthy && !hb.Docker.Degraded
	})
	return p
}

func hasRunning(hb events.Heartbeat, taskID string) bool {
	for _, t := range hb.Tasks {
		if t.TaskID == taskID && t.State == events.TaskRunning {
			return true
		}
	}
	return false
}

func (p *proxiedAgent) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.beats)
}

func (p *proxiedAgent) since(n int) []events.Heartbeat {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]events.Heartbeat(nil), p.beats[n:]...)
}

func (p *proxiedAgent) waitBeat(t *testing.T, within time.Duration, what string, ok func(events.Heartbeat) bool) events.Heartbeat {
	t.Helper()
	from := p.count()
	var found events.Heartbeat
	testutil.Eventually(t, within, 50*time.Millisecond, func() error {
		for _, hb := range p.since(from) {
			if ok(hb) {
				found = hb
				return nil
			}
		}
		return fmt.Errorf("no heartbeat with %s", what)
	})
	return found
}

// onlyRunning fails when the task reported an end or a loss: a slow or
// absent daemon must not end it. Starting states are no fault (a listing
// may see the container created and not yet started, under load).
func (p *proxiedAgent) onlyRunning(t *testing.T) {
	t.Helper()
	running := false
	for _, st := range p.statuses() {
		if st.TaskID != p.taskID {
			continue
		}
		switch {
		case st.State == events.TaskRunning:
			running = true
		case st.State.Terminal() || st.State == events.TaskUnreachable || running:
			t.Errorf("task reported %s (%s); a slow or absent daemon must not end it", st.State, st.Message)
		}
	}
	if !running {
		t.Error("the task never reported TASK_RUNNING")
	}
}

// TestSlowDockerLosesNoTask: a daemon whose every answer comes 3 s late for
// a minute is degraded, never down; every heartbeat says so, the task
// stays running in every list, and no status ends it.
func TestSlowDockerLosesNoTask(t *testing.T) {
	t.Parallel()
	p := startProxiedAgent(t)
	from := p.count()
	p.proxy.SetDelay(3 * time.Second)
	p.waitBeat(t, wait, "the daemon degraded", func(hb events.Heartbeat) bool { return hb.Docker.Degraded })
	time.Sleep(time.Minute)
	beats := p.since(from)
	p.proxy.Normal()
	lists := 0
	for _, hb := range beats {
		if !hb.Docker.Healthy {
			t.Fatalf("a slow daemon reported down: %+v", hb.Docker)
		}
		if len(hb.Tasks) > 0 || !hb.TasksStale {
			lists++
			if !hasRunning(hb, p.taskID) {
				t.Fatalf("a heartbeat's list lacks the running task: %+v", hb.Tasks)
			}
		}
	}
	if lists == 0 {
		t.Fatal("no heartbeat carried a list")
	}
	p.onlyRunning(t)
	p.waitBeat(t, wait, "the daemon fast again and the task running", func(hb events.Heartbeat) bool {
		return hb.Docker.Healthy && !hb.TasksStale && hasRunning(hb, p.taskID)
	})
	t.Logf("%d heartbeats over the slow minute", len(beats))
}

// TestStalledDockerIsDown: a daemon that answers nothing is down once a
// ping has waited --docker-silent-after (15 s), and not before; when it
// answers again, the task it kept is still running.
func TestStalledDockerIsDown(t *testing.T) {
	t.Parallel()
	p := startProxiedAgent(t)
	from := p.count()
	p.proxy.Stall()
	stalled := time.Now()
	hb := p.waitBeat(t, 30*time.Second, "the daemon down", func(hb events.Heartbeat) bool { return !hb.Docker.Healthy })
	if took := time.Since(stalled); took < 15*time.Second {
		t.Errorf("down after %s of silence, before the 15 s threshold", took)
	}
	if !strings.Contains(hb.Docker.Error, "no answer") {
		t.Errorf("down for %q, want the silence named", hb.Docker.Error)
	}
	for _, b := range p.since(from) {
		if !b.Docker.Healthy && time.Duration(b.SentAt.Sub(stalled)) < 15*time.Second {
			t.Errorf("a heartbeat %s into the stall said down: %+v", b.SentAt.Sub(stalled), b.Docker)
		}
	}
	p.proxy.Normal()
	p.waitBeat(t, wait, "the daemon back with the task running", func(hb events.Heartbeat) bool {
		return hb.Docker.Healthy && !hb.TasksStale && hasRunning(hb, p.taskID)
	})
	p.onlyRunning(t)
}

// TestRefusingDockerIsDownAtOnce: a daemon whose socket refuses connections
// is down in the next heartbeats, named as such; when it is back, so is
// the task.
func TestRefusingDockerIsDownAtOnce(t *testing.T) {
	t.Parallel()
	p := startProxiedAgent(t)
	p.proxy.Refuse()
	cut := time.Now()
	hb := p.waitBeat(t, wait, "the daemon down", func(hb events.Heartbeat) bool { return !hb.Docker.Healthy })
	if strings.Contains(hb.Docker.Error, "no answer") || !strings.Contains(hb.Docker.Error, "Cannot connect") {
		t.Errorf("down for %q, want the refusal named", hb.Docker.Error)
	}
	if !hb.TasksStale {
		t.Errorf("a heartbeat of a refusing daemon has a fresh list")
	}
	t.Logf("down reported %s after the socket went", time.Since(cut))
	p.proxy.Normal()
	p.waitBeat(t, wait, "the daemon back with the task running", func(hb events.Heartbeat) bool {
		return hb.Docker.Healthy && !hb.TasksStale && hasRunning(hb, p.taskID)
	})
}

// TestShuttingDownDockerIsDownAtOnce: a daemon that got SIGTERM removes its
// socket at once and keeps serving the connections it has until it exits
// (after stopping its containers, up to 15 s). The agent's pings dial
// afresh, so the daemon is down in the next heartbeats, not when it exits.
func TestShuttingDownDockerIsDownAtOnce(t *testing.T) {
	t.Parallel()
	p := startProxiedAgent(t)
	p.proxy.ShutDown()
	cut := time.Now()
	hb := p.waitBeat(t, 5*time.Second, "the daemon down", func(hb events.Heartbeat) bool { return !hb.Docker.Healthy })
	if !strings.Contains(hb.Docker.Error, "Cannot connect") {
		t.Errorf("down for %q, want the refusal named", hb.Docker.Error)
	}
	t.Logf("down reported %s after the socket went", time.Since(cut))
	p.proxy.Normal()
	p.waitBeat(t, wait, "the daemon back with the task running", func(hb events.Heartbeat) bool {
		return hb.Docker.Healthy && !hb.TasksStale && hasRunning(hb, p.taskID)
	})
}
