package e2e

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	dockerevents "github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/drover/drover/internal/chaos"
)

// standalone starts `drover standalone` on a fresh data dir and host name,
// and removes its containers once it has stopped.
func standalone(t *testing.T, cli *client.Client) (api, string) {
	t.Helper()
	host := "trust-" + strconv.FormatInt(time.Now().UnixNano()%1e6, 36)
	removeContainers(t, cli, "drover.agent-id="+host)
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	start(t, "standalone", "standalone", "--data-dir", filepath.Join(t.TempDir(), "data"), "--http-addr", httpAddr,
		"--nats-addr", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "--hostname", host,
		"--resources", "cpus=2,mem=2048,disk=1000,ports=[31000-31200]")
	a := api{t: t, base: "http://" + httpAddr}
	waitPing(t, a)
	return a, host
}

// trivialApp is the app of the report: n instances of cpus 0.01, mem 16,
// one dynamic host port, no constraint.
func trivialApp(id string, n int) map[string]any {
	return map[string]any{
		"id": id, "cpus": 0.01, "mem": 16, "instances": n,
		"container": map[string]any{"type": "DOCKER", "docker": map[string]any{
			"image": testImage, "network": "BRIDGE",
			"portMappings": []map[string]any{{"containerPort": 80, "hostPort": 0}},
		}},
	}
}

// countCreates counts the containers the daemon creates for an app from
// now on: one per launch, so N for N instances means no task was launched
// twice.
func countCreates(t *testing.T, cli *client.Client, appID string) *atomic.Int64 {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var n atomic.Int64
	msgs, errs := cli.Events(ctx, dockerevents.ListOptions{Filters: filters.NewArgs(
		filters.Arg("type", string(dockerevents.ContainerEventType)), filters.Arg("event", "create"),
		filters.Arg("label", "drover.app-id="+appID))})
	go func() {
		for {
			select {
			case <-msgs:
				n.Add(1)
			case <-errs:
				return
			}
		}
	}()
	return &n
}

// sortedIDs are the tasks' ids in order.
func sortedIDs(tasks []task) []string {
	ids := taskIDs(tasks)
	slices.Sort(ids)
	return ids
}

// TestStandaloneReachesNOfNAtTheFirstAttempt: on this machine as it is,
// apps of 3 and of 20 instances run in full with one launch each: no task
// lost or relaunched on the way.
func TestStandaloneReachesNOfNAtTheFirstAttempt(t *testing.T) {
	cli := requireDocker(t)
	a, _ := standalone(t, cli)
	for _, n := range []int{3, 20} {
		id := fmt.Sprintf("/trust/first%d", n)
		creates := countCreates(t, cli, id)
		time.Sleep(200 * time.Millisecond) // the events stream is open
		if code, body, err := a.do(http.MethodPost, "/v2/apps", trivialApp(id, n)); err != nil || code != http.StatusCreated {
			t.Fatalf("POST %s: %d %v %s", id, code, err, body)
		}
		tasks := a.running(id, n, 2*time.Minute)
		time.Sleep(5 * time.Second) // longer than the scheduler waits before it judges anything
		again := a.running(id, n, 10*time.Second)
		if !slices.Equal(sortedIDs(tasks), sortedIDs(again)) {
			t.Errorf("%s: tasks changed after reaching %d of %d: %v then %v", id, n, n, sortedIDs(tasks), sortedIDs(again))
		}
		if got := creates.Load(); got != int64(n) {
			t.Errorf("%s: %d containers created for %d instances, want one launch each", id, got, n)
		}
		if code, body, err := a.do(http.MethodDelete, "/v2/apps"+id, nil); err != nil || code != http.StatusOK {
			t.Fatalf("DELETE %s: %d %v %s", id, code, err, body)
		}
	}
}

// TestStandaloneUnderLoadKeepsItsTasks: an app of 3 on standalone, then 90 s
// of busy loops on every core (twice the core count) and containers
// created, started and removed in a loop on the same daemon: no task is
// replaced or lost, the app stays 3 of 3 with the same task ids.
func TestStandaloneUnderLoadKeepsItsTasks(t *testing.T) {
	cli := requireDocker(t)
	a, _ := standalone(t, cli)
	const id = "/trust/loaded"
	creates := countCreates(t, cli, id)
	time.Sleep(200 * time.Millisecond)
	if code, body, err := a.do(http.MethodPost, "/v2/apps", trivialApp(id, 3)); err != nil || code != http.StatusCreated {
		t.Fatalf("POST: %d %v %s", code, err, body)
	}
	want := sortedIDs(a.running(id, 3, 2*time.Minute))

	loops := chaos.StartBusyLoops(t, 0)
	churn := chaos.StartContainerChurn(t, cli, testImage, 100*time.Millisecond)
	end := time.Now().Add(90 * time.Second)
	checks := 0
	for time.Now().Before(end) {
		time.Sleep(3 * time.Second)
		app, err := a.app(id)
		if err != nil {
			continue // a slow answer under load is not the point here
		}
		checks++
		var running []task
		for _, tk := range app.Tasks {
			if tk.State == "TASK_RUNNING" {
				running = append(running, tk)
			}
		}
		if got := sortedIDs(running); !slices.Equal(got, want) {
			t.Fatalf("under load the app's running tasks became %v, want %v", got, want)
		}
	}
	loops.Stop()
	if err := churn.Stop(); err != nil {
		t.Logf("churn: %v", err)
	}
	if checks < 10 {
		t.Errorf("only %d reads of the app answered in 90 s", checks)
	}
	if got := creates.Load(); got != 3 {
		t.Errorf("%d containers created for the app, want its 3 launches only", got)
	}
	t.Logf("load: %d churn cycles (%d failed), %d reads of the app", churn.Cycles(), churn.Failures(), checks)
	if code, body, err := a.do(http.MethodDelete, "/v2/apps"+id, nil); err != nil || code != http.StatusOK {
		t.Fatalf("DELETE: %d %v %s", code, err, body)
	}
}
