package memruntime

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/agent"
)

func spec() marathon.TaskSpec {
	return marathon.TaskSpec{AppID: "/web", Version: "v1", HostPorts: []int{31000}}
}

func next(t *testing.T, ch <-chan agent.RuntimeEvent) events.TaskReport {
	t.Helper()
	select {
	case ev := <-ch:
		return ev.Task
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
		return events.TaskReport{}
	}
}

func TestLaunchListKill(t *testing.T) {
	r := New()
	ctx := t.Context()
	evs := r.Events(ctx)
	rep, err := r.Launch(ctx, "t1", spec())
	if err != nil || rep.State != events.TaskRunning || rep.AppID != "/web" || rep.HostPorts[0] != 31000 {
		t.Fatalf("Launch = %+v, %v", rep, err)
	}
	if again, _ := r.Launch(ctx, "t1", spec()); again.ContainerID != rep.ContainerID || r.Launches() != 1 {
		t.Fatalf("second Launch created another task: %+v (launches %d)", again, r.Launches())
	}
	if ev := next(t, evs); ev.TaskID != "t1" || ev.State != events.TaskRunning {
		t.Fatalf("event %+v", ev)
	}
	if tasks, _ := r.List(ctx); len(tasks) != 1 || tasks[0].TaskID != "t1" {
		t.Fatalf("List = %+v", tasks)
	}
	if err := r.Kill(ctx, "t1", time.Second); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, evs); ev.State != events.TaskKilled {
		t.Fatalf("event %+v", ev)
	}
	if err := r.Kill(ctx, "t1", time.Second); err != nil || r.Kills() != 1 {
		t.Fatalf("second Kill: %v, kills %d", err, r.Kills())
	}
}

func TestExitAndDown(t *testing.T) {
	r := New()
	ctx := t.Context()
	evs := r.Events(ctx)
	if _, err := r.Launch(ctx, "t1", spec()); err != nil {
		t.Fatal(err)
	}
	next(t, evs)
	if err := r.Exit("t1", 3); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, evs); ev.State != events.TaskFailed || ev.Message != "exit code 3" {
		t.Fatalf("event %+v", ev)
	}
	if err := r.Exit("nope", 0); !errors.Is(err, ErrNoTask) {
		t.Fatalf("Exit(nope) = %v", err)
	}
	r.SetDown(errors.New("daemon stopped"))
	if h, err := r.Ping(ctx); err == nil || h.Healthy {
		t.Fatalf("Ping while down = %+v, %v", h, err)
	}
	if _, err := r.List(ctx); err == nil {
		t.Fatal("List while down succeeded")
	}
	if _, err := r.Launch(ctx, "t2", spec()); err == nil {
		t.Fatal("Launch while down succeeded")
	}
	r.SetDown(nil)
	if h, err := r.Ping(ctx); err != nil || !h.Healthy {
		t.Fatalf("Ping after up = %+v, %v", h, err)
	}
}

func TestFailLaunchesAndAdopt(t *testing.T) {
	r := New()
	r.FailLaunches(func(string, marathon.TaskSpec) error { return errors.New("pull failed") })
	if _, err := r.Launch(context.Background(), "t1", spec()); err == nil || r.Launches() != 0 {
		t.Fatalf("Launch = %v, launches %d", err, r.Launches())
	}
	r.Adopt(events.TaskReport{TaskID: "old", AppID: "/web", State: events.TaskRunning})
	if got, ok := r.Task("old"); !ok || got.State != events.TaskRunning {
		t.Fatalf("Task(old) = %+v, %v", got, ok)
	}
}

func TestExecAndRecallChecks(t *testing.T) {
	r := New()
	ctx := t.Context()
	s := spec()
	s.HealthChecks = []marathon.HealthCheck{{Protocol: "COMMAND", Command: []byte(`{"value":"true"}`)}}
	if _, err := r.Launch(ctx, "t1", s); err != nil {
		t.Fatal(err)
	}
	if res, err := r.Exec(ctx, "t1", []string{"true"}); err != nil || res.ExitCode != 0 {
		t.Fatalf("Exec = %+v, %v", res, err)
	}
	r.SetExec(func(string, []string) (agent.ExecResult, error) { return agent.ExecResult{ExitCode: 3}, nil })
	if res, _ := r.Exec(ctx, "t1", []string{"false"}); res.ExitCode != 3 {
		t.Fatalf("Exec after SetExec = %+v", res)
	}
	if _, err := r.Exec(ctx, "nope", nil); !errors.Is(err, ErrNoTask) {
		t.Fatalf("Exec(nope) = %v", err)
	}
	if cs, err := r.RecallChecks(ctx, "t1"); err != nil || len(cs.HealthChecks) != 1 {
		t.Fatalf("RecallChecks = %+v, %v", cs, err)
	}
	r.Adopt(events.TaskReport{TaskID: "old", State: events.TaskRunning})
	if cs, err := r.RecallChecks(ctx, "old"); err != nil || !cs.Empty() {
		t.Fatalf("RecallChecks(adopted without spec) = %+v, %v", cs, err)
	}
	r.AdoptLaunched(events.TaskReport{TaskID: "old2", State: events.TaskRunning}, s)
	if cs, err := r.RecallChecks(ctx, "old2"); err != nil || len(cs.HealthChecks) != 1 {
		t.Fatalf("RecallChecks(adopted with spec) = %+v, %v", cs, err)
	}
	if err := r.Kill(ctx, "t1", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := r.RecallChecks(ctx, "t1"); !errors.Is(err, ErrNoTask) {
		t.Fatalf("RecallChecks of a killed task = %v", err)
	}
}
