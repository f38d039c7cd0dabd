package docker

import (
	"testing"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
)

func TestKillGivesGraceThenRemoves(t *testing.T) {
	cli := requireDocker(t)
	r := newRuntime(t, cli, newAgentID(t), "")
	ctx := t.Context()
	if err := r.Kill(ctx, "never-launched", time.Second); err != nil {
		t.Fatalf("Kill of an absent task: %v", err)
	}
	app := httpdApp(t.TempDir())
	// httpd, as PID 1, ignores SIGUSR1: only the SIGKILL after the grace stops it.
	app.Container.Docker.Parameters = []marathon.Parameter{{Key: "stop-signal", Value: "SIGUSR1"}}
	if _, err := r.Launch(ctx, "web.1", resolve(t, events.LaunchSpec{App: app})); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := r.Kill(ctx, "web.1", time.Second); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < time.Second || d > 15*time.Second {
		t.Fatalf("Kill took %s, want the 1s grace", d)
	}
	if list, err := r.List(ctx); err != nil || len(list) != 0 {
		t.Fatalf("List after Kill = %+v, %v", list, err)
	}
}
