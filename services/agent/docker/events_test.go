package docker

import (
	"fmt"
	"slices"
	"testing"
	"time"

	dockerevents "github.com/docker/docker/api/types/events"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
)

func TestDeathsAreReported(t *testing.T) {
	cli := requireDocker(t)
	r := newRuntime(t, cli, newAgentID(t), "")
	ctx := t.Context()
	evs := r.Events(ctx)
	spec := events.LaunchSpec{App: httpdApp(htdocs(t, "x"))}

	// Killed behind the agent's back: a failure, with the exit code.
	rep, err := r.Launch(ctx, "web.1", resolve(t, spec))
	if err != nil {
		t.Fatal(err)
	}
	nextEvent(t, evs, "web.1", events.TaskRunning)
	if err := cli.ContainerKill(ctx, rep.ContainerID, "KILL"); err != nil {
		t.Fatal(err)
	}
	if got := nextEvent(t, evs, "web.1", events.TaskFailed, events.TaskFinished, events.TaskKilled); got.State != events.TaskFailed || got.Message != "exit code 137" {
		t.Fatalf("die event = %+v", got)
	}
	testutil.Eventually(t, wait, 50*time.Millisecond, func() error {
		list, err := r.List(ctx)
		if err != nil || len(list) != 1 || list[0].State != events.TaskFailed {
			return fmt.Errorf("List = %+v, %v", list, err)
		}
		return nil
	})

	// Killed by the agent: TASK_KILLED.
	if _, err := r.Launch(ctx, "web.2", resolve(t, spec)); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, evs, "web.2", events.TaskRunning)
	if err := r.Kill(ctx, "web.2", time.Second); err != nil {
		t.Fatal(err)
	}
	if got := nextEvent(t, evs, "web.2", events.TaskFailed, events.TaskFinished, events.TaskKilled); got.State != events.TaskKilled {
		t.Fatalf("kill event = %+v", got)
	}

	// A process that exits on its own: its exit code.
	bad := spec
	bad.App.Args = []string{"-no-such-flag"}
	if _, err := r.Launch(ctx, "web.3", resolve(t, bad)); err != nil {
		t.Fatal(err)
	}
	if got := nextEvent(t, evs, "web.3", events.TaskFailed, events.TaskFinished); got.Message != "exit code 2" {
		t.Fatalf("exit event = %+v", got)
	}
}

func TestRestartedRuntimeAdoptsItsContainers(t *testing.T) {
	cli := requireDocker(t)
	ctx := t.Context()
	id := newAgentID(t)
	port := freePort(t, "127.0.0.1")
	app := httpdApp(htdocs(t, "adopted"))
	app.Container.PortMappings = []marathon.PortMapping{{ContainerPort: 80}}
	spec := events.LaunchSpec{App: app, HostPorts: []int{port}}

	first := newRuntime(t, cli, id, "127.0.0.1")
	rep, err := first.Launch(ctx, "web.1", resolve(t, spec))
	if err != nil {
		t.Fatal(err)
	}
	first.Close()

	second := newRuntime(t, cli, id, "127.0.0.1")
	evs := second.Events(ctx)
	if got := nextEvent(t, evs, "web.1", events.TaskRunning); got.ContainerID != rep.ContainerID || !slices.Equal(got.HostPorts, []int{port}) {
		t.Fatalf("adopted task reported as %+v", got)
	}
	list, err := second.List(ctx)
	if err != nil || len(list) != 1 || list[0].ContainerID != rep.ContainerID || list[0].State != events.TaskRunning {
		t.Fatalf("List = %+v, %v", list, err)
	}
	again, err := second.Launch(ctx, "web.1", resolve(t, spec))
	if err != nil || again.ContainerID != rep.ContainerID {
		t.Fatalf("Launch after restart = %+v, %v; want the running container", again, err)
	}
	if body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); body != "adopted" {
		t.Fatalf("body %q", body)
	}
}

// bareRuntime is a runtime without a daemon, for the event logic alone.
func bareRuntime(t *testing.T) *Runtime {
	return &Runtime{
		cfg: Config{AgentID: "a"}, log: testutil.Logger(t),
		cache: map[string]cached{}, killing: map[string]bool{}, known: map[string]knownState{},
		oom: map[string]bool{}, removing: map[string]bool{},
	}
}

func dieEvent(taskID, exitCode string) dockerevents.Message {
	return dockerevents.Message{Type: dockerevents.ContainerEventType, Action: dockerevents.ActionDie, Actor: dockerevents.Actor{
		ID: "c-" + taskID, Attributes: map[string]string{LabelTaskID: taskID, LabelAppID: "/web", LabelAppVersion: "v1", "exitCode": exitCode},
	}, TimeNano: time.Now().UnixNano()}
}

func TestDieEvents(t *testing.T) {
	r := bareRuntime(t)
	ch := r.hub.Subscribe(t.Context())
	ctx := t.Context()

	r.handleEvent(ctx, dockerevents.Message{Action: dockerevents.ActionOOM, Actor: dockerevents.Actor{Attributes: map[string]string{LabelTaskID: "oom.1"}}})
	r.handleEvent(ctx, dieEvent("oom.1", "137"))
	r.handleEvent(ctx, dieEvent("oom.1", "137")) // once only
	r.mu.Lock()
	r.killing["killed.1"] = true
	r.mu.Unlock()
	r.handleEvent(ctx, dieEvent("killed.1", "143"))
	r.handleEvent(ctx, dieEvent("done.1", "0"))
	r.handleEvent(ctx, dieEvent("", "1")) // not a task of ours

	want := []events.TaskReport{
		{TaskID: "oom.1", State: events.TaskFailed, Message: "out of memory (exit code 137)"},
		{TaskID: "killed.1", State: events.TaskKilled},
		{TaskID: "done.1", State: events.TaskFinished},
	}
	for _, w := range want {
		got := nextEvent(t, ch, w.TaskID, events.TaskFailed, events.TaskKilled, events.TaskFinished)
		if got.State != w.State || got.Message != w.Message || got.AppID != "/web" || got.Version != "v1" {
			t.Fatalf("event %+v, want %+v", got, w)
		}
	}
	select {
	case ev := <-ch:
		t.Fatalf("unexpected event %+v", ev)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestEmitReportsChangesOnceAndNothingAfterTheEnd(t *testing.T) {
	r := bareRuntime(t)
	ch := r.hub.Subscribe(t.Context())
	now := time.Now()
	for _, s := range []events.TaskState{events.TaskRunning, events.TaskRunning, events.TaskFailed, events.TaskRunning, events.TaskKilled} {
		r.emit(events.TaskReport{TaskID: "t", State: s}, now)
	}
	for _, want := range []events.TaskState{events.TaskRunning, events.TaskFailed} {
		if got := nextEvent(t, ch, "t", want); got.State != want {
			t.Fatalf("got %s", got.State)
		}
	}
	select {
	case ev := <-ch:
		t.Fatalf("unexpected event %+v", ev)
	case <-time.After(50 * time.Millisecond):
	}
}
