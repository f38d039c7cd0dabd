package scheduler

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/agent"
	"github.com/drover/drover/services/agent/memruntime"
)

// A group deployment starts /web only after /db, on which it depends, runs healthy.
func TestDependenciesDeployInOrder(t *testing.T) {
	js := testutil.RunJetStream(t)
	startScheduler(t, js, "s")
	var healthy atomic.Bool
	rt := memruntime.New()
	rt.SetExec(func(string, []string) (agent.ExecResult, error) {
		if healthy.Load() {
			return agent.ExecResult{}, nil
		}
		return agent.ExecResult{ExitCode: 1}, nil
	})
	host := startHost(t, js, "h1", rt)
	bus := js.Bus(t)

	db := plainApp(1, "v1", 1, 1)
	db.ID = "/grp/db"
	db.HealthChecks = []marathon.HealthCheck{{Protocol: "COMMAND", Command: json.RawMessage(`{"value":"check"}`),
		GracePeriodSeconds: 300, IntervalSeconds: 1, TimeoutSeconds: 1}}
	web := plainApp(1, "v1", 1, 1)
	web.ID, web.Dependencies = "/grp/web", []string{"/grp/db"}
	for _, app := range []marathon.App{db, web} {
		marathon.ApplyDefaults(&app)
		app.VersionInfo = &marathon.VersionInfo{LastConfigChangeAt: app.Version, LastScalingAt: app.Version}
		data, _ := events.Encode(events.AppRecord{V: events.Version, App: app, DeploymentID: "d-grp"})
		if _, err := bus.Apps.Put(t.Context(), events.AppKey(app.ID), data); err != nil {
			t.Fatal(err)
		}
	}
	d := events.Deployment{V: events.Version, ID: "d-grp", Version: "v1", AffectedApps: []string{"/grp/db", "/grp/web"},
		Steps:     [][]events.DeploymentAction{{{Action: events.ActionStart, App: "/grp/db"}}, {{Action: events.ActionStart, App: "/grp/web"}}},
		CreatedAt: time.Now()}
	data, _ := events.Encode(d)
	if _, err := bus.Deployments.Put(t.Context(), d.ID, data); err != nil {
		t.Fatal(err)
	}

	apps := func() map[string]int {
		out := map[string]int{}
		for _, tk := range host.running(t) {
			out[tk.AppID]++
		}
		return out
	}
	testutil.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
		if apps()["/grp/db"] != 1 {
			return errors.New("db not running")
		}
		return nil
	})
	time.Sleep(1500 * time.Millisecond) // a few reconciliations and a failing check
	if n := apps()["/grp/web"]; n != 0 {
		t.Fatalf("web started (%d) before db was healthy", n)
	}
	healthy.Store(true)
	testutil.Eventually(t, 10*time.Second, 20*time.Millisecond, func() error {
		if n := apps()["/grp/web"]; n != 1 {
			return fmt.Errorf("web running %d, want 1 once db is healthy", n)
		}
		return nil
	})
}
