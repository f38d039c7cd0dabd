package e2e

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"syscall"
	"testing"
	"time"
)

// TestConvergesAfterNATSRestart stops the NATS server under a running
// cluster and starts it again on the same store: every service reconnects
// by itself and the cluster keeps its promises — the app still runs, a new
// app is placed, a killed container is replaced.
func TestConvergesAfterNATSRestart(t *testing.T) {
	cli := requireDocker(t)
	c := startCluster(t, cli, 1, 2)
	app := func(id string) map[string]any {
		return map[string]any{
			"id": id, "cpus": 0.1, "mem": 32, "instances": 2,
			"constraints": [][]string{{"hostname", "UNIQUE"}},
			"container": map[string]any{"type": "DOCKER", "docker": map[string]any{
				"image": testImage, "network": "BRIDGE",
				"portMappings": []map[string]any{{"containerPort": 80, "hostPort": 0}},
			}},
		}
	}
	if code, body, err := c.api.do(http.MethodPost, "/v2/apps", app("/restart/one")); err != nil || code != http.StatusCreated {
		t.Fatalf("POST: %d %v %s", code, err, body)
	}
	before := c.api.running("/restart/one", 2, 60*time.Second)

	c.nats.stop(syscall.SIGTERM)
	time.Sleep(2 * time.Second)
	c.nats = start(t, "nats-again", c.natsArgs...)

	// The first app's tasks were left alone; a new app is placed.
	after := c.api.running("/restart/one", 2, 60*time.Second)
	for _, tk := range before {
		if !slices.Contains(taskIDs(after), tk.ID) {
			t.Errorf("task %s was replaced across the NATS restart", tk.ID)
		}
	}
	eventually(t, 30*time.Second, func() error {
		code, body, err := c.api.do(http.MethodPost, "/v2/apps", app("/restart/two"))
		if err != nil || (code != http.StatusCreated && code != http.StatusConflict) {
			return fmt.Errorf("POST after restart: %d %v %s", code, err, body)
		}
		return nil
	})
	c.api.running("/restart/two", 2, 60*time.Second)

	// A killed container is replaced.
	victim := after[0]
	list := containers(t, cli, "drover.task-id="+victim.ID)
	if len(list) != 1 {
		t.Fatalf("containers of %s: %d", victim.ID, len(list))
	}
	if err := cli.ContainerKill(context.Background(), list[0].ID, "SIGKILL"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() error {
		now := c.api.running("/restart/one", 2, 30*time.Second)
		if slices.Contains(taskIDs(now), victim.ID) {
			return fmt.Errorf("killed task still running")
		}
		return nil
	})
	for _, id := range []string{"restart/one", "restart/two"} {
		if code, body, err := c.api.do(http.MethodDelete, "/v2/apps/"+id, nil); err != nil || code != http.StatusOK {
			t.Errorf("DELETE %s: %d %v %s", id, code, err, body)
		}
	}
}
