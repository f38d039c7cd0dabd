package e2e

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestStandaloneRestartAdopts stops standalone while an app runs and starts it
// again on the same data dir: the app is still there, and its container was
// adopted — the same task, the same container, no second one.
func TestStandaloneRestartAdopts(t *testing.T) {
	cli := requireDocker(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	host := "standalone-" + strconv.FormatInt(time.Now().UnixNano()%1e6, 36)
	removeContainers(t, cli, "drover.agent-id="+host)
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	args := []string{"standalone", "--data-dir", dataDir, "--http-addr", httpAddr,
		"--nats-addr", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "--hostname", host,
		"--resources", "cpus=2,mem=1024,disk=1000,ports=[31000-31100]"}
	a := api{t: t, base: "http://" + httpAddr}

	first := start(t, "standalone-1", args...)
	waitPing(t, a)
	app := map[string]any{
		"id": "/restart/web", "cpus": 0.1, "mem": 32, "instances": 1,
		"container": map[string]any{"type": "DOCKER", "docker": map[string]any{
			"image": testImage, "network": "BRIDGE",
			"portMappings": []map[string]any{{"containerPort": 80, "hostPort": 0}},
		}},
	}
	if code, body, err := a.do(http.MethodPost, "/v2/apps", app); err != nil || code != http.StatusCreated {
		t.Fatalf("POST: %d %v %s", code, err, body)
	}
	before := a.running("/restart/web", 1, 60*time.Second)[0]
	ctrs := containers(t, cli, "drover.task-id="+before.ID)
	if len(ctrs) != 1 {
		t.Fatalf("containers of %s: %d, want 1", before.ID, len(ctrs))
	}

	first.stop(syscall.SIGTERM)
	if n := len(containers(t, cli, "drover.app-id=/restart/web")); n != 1 {
		t.Fatalf("after stopping standalone, %d containers of the app, want the 1 still running", n)
	}

	start(t, "standalone-2", args...)
	waitPing(t, a)
	after := a.running("/restart/web", 1, 60*time.Second)[0]
	// Let the new scheduler reconcile for longer than it waits before it
	// judges agents (3 s), then check nothing was duplicated or replaced.
	time.Sleep(5 * time.Second)
	after = a.running("/restart/web", 1, 10*time.Second)[0]
	if after.ID != before.ID {
		t.Errorf("task after restart = %s, want the adopted %s", after.ID, before.ID)
	}
	now := containers(t, cli, "drover.app-id=/restart/web")
	if len(now) != 1 || now[0].ID != ctrs[0].ID {
		t.Errorf("containers after restart: %d (first %v), want exactly the original %s", len(now), now, ctrs[0].ID)
	}
	if code, body, err := a.do(http.MethodDelete, "/v2/apps/restart/web", nil); err != nil || code != http.StatusOK {
		t.Fatalf("DELETE: %d %v %s", code, err, body)
	}
}

func waitPing(t *testing.T, a api) {
	t.Helper()
	eventually(t, 30*time.Second, func() error {
		code, _, err := a.do(http.MethodGet, "/v2/ping", nil)
		if err != nil || code != http.StatusOK {
			return fmt.Errorf("ping: %d %v", code, err)
		}
		return nil
	})
}
