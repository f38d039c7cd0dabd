package docker

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/drover/drover/internal/testimage"
	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/agent"
)

const (
	testImage = "drover-test/httpd:latest"
	wait      = 20 * time.Second
)

// requireDocker skips the test when no daemon answers, unless CI=true,
// where a missing daemon is a failure.
func requireDocker(t *testing.T) *client.Client {
	t.Helper()
	cli := testimage.RequireDocker(t)
	testimage.BuildHTTPD(t, testImage)
	return cli
}

// newAgentID is an agent id no other test (or test run) uses.
func newAgentID(t *testing.T) string {
	return fmt.Sprintf("test-%d", time.Now().UnixNano()%1e12)
}

// newRuntime makes a runtime for agentID (privileged as this host allows).
func newRuntime(t *testing.T, cli *client.Client, agentID, publishIP string) *Runtime {
	t.Helper()
	cfg := DefaultConfig()
	cfg.AgentID, cfg.PublishIP = agentID, publishIP
	return newRuntimeWith(t, cli, cfg)
}

// newRuntimeWith makes a runtime whose containers are removed at cleanup.
// Its sandboxes are in a directory of the test's, unless cfg names one.
func newRuntimeWith(t *testing.T, cli *client.Client, cfg Config) *Runtime {
	t.Helper()
	if cfg.SandboxRoot == "" {
		cfg.SandboxRoot = t.TempDir()
	}
	return startRuntime(t, cli, cfg)
}

// startRuntime makes a runtime of cfg as it is, whose containers are
// removed at cleanup.
func startRuntime(t *testing.T, cli *client.Client, cfg Config) *Runtime {
	t.Helper()
	r, err := New(cfg, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		list, _ := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: r.agentFilter()})
		for _, c := range list {
			_ = cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
		}
	})
	return r
}

// htdocs is a directory with an index.html saying body.
func htdocs(t *testing.T, body string) string {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func freePort(t *testing.T, ip string) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func httpdApp(dir string) marathon.App {
	return marathon.App{
		ID: "/web", Version: "2026-01-01T00:00:00.000Z", Cpus: ptr(0.1), Mem: ptr(32.0),
		Container: &marathon.Container{
			Type:    "DOCKER",
			Docker:  &marathon.Docker{Image: testImage, Network: "BRIDGE"},
			Volumes: []marathon.Volume{{HostPath: dir, ContainerPath: "/usr/local/apache2/htdocs", Mode: "RO"}},
		},
	}
}

// httpGet polls url until it answers 200, and returns the body.
func httpGet(t *testing.T, url string) string {
	t.Helper()
	var body string
	testutil.Eventually(t, wait, 50*time.Millisecond, func() error {
		resp, err := http.Get(url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %d %v", url, resp.StatusCode, err)
		}
		body = string(b)
		return nil
	})
	return body
}

// nextEvent waits for an event of the task in one of the states.
func nextEvent(t *testing.T, ch <-chan agent.RuntimeEvent, taskID string, states ...events.TaskState) events.TaskReport {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatal("events closed")
			}
			if ev.Task.TaskID == taskID && slices.Contains(states, ev.Task.State) {
				return ev.Task
			}
		case <-deadline:
			t.Fatalf("no %v event for %s", states, taskID)
		}
	}
}

func TestPing(t *testing.T) {
	cli := requireDocker(t)
	r := newRuntime(t, cli, newAgentID(t), "")
	h, err := r.Ping(t.Context())
	if err != nil || !h.Healthy || h.APIVersion == "" {
		t.Fatalf("Ping = %+v, %v", h, err)
	}
	cfg := DefaultConfig()
	cfg.AgentID, cfg.Host = "nowhere", "tcp://127.0.0.1:1"
	down, err := New(cfg, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()
	if h, err := down.Ping(t.Context()); err == nil || h.Healthy || h.Error == "" {
		t.Fatalf("Ping of no daemon = %+v, %v", h, err)
	}
}

func TestAgentsSharingADaemonSeeOnlyTheirOwn(t *testing.T) {
	cli := requireDocker(t)
	ctx := t.Context()
	port := freePort(t, "127.0.0.11")
	ids := []string{newAgentID(t) + "a", newAgentID(t) + "b"}
	ips := []string{"127.0.0.11", "127.0.0.12"}
	var rts []*Runtime
	for i, id := range ids {
		r := newRuntime(t, cli, id, ips[i])
		rts = append(rts, r)
		app := httpdApp(htdocs(t, "agent "+id))
		// The example app's way: a fixed host port, published on each agent's own address.
		app.Container.Docker.Parameters = []marathon.Parameter{{Key: "publish", Value: fmt.Sprintf("%d:80", port)}}
		rep, err := r.Launch(ctx, "web.1", resolve(t, events.LaunchSpec{App: app}))
		if err != nil {
			t.Fatalf("agent %s: Launch: %v", id, err)
		}
		if !slices.Equal(rep.HostPorts, []int{port}) {
			t.Fatalf("agent %s: host ports %v", id, rep.HostPorts)
		}
	}
	for i, r := range rts {
		if body := httpGet(t, fmt.Sprintf("http://%s:%d/", ips[i], port)); body != "agent "+ids[i] {
			t.Errorf("%s:%d says %q", ips[i], port, body)
		}
		list, err := r.List(ctx)
		if err != nil || len(list) != 1 {
			t.Fatalf("agent %s lists %+v, %v", ids[i], list, err)
		}
		info, err := cli.ContainerInspect(ctx, list[0].ContainerID)
		if err != nil || info.Config.Labels[LabelAgentID] != ids[i] {
			t.Fatalf("agent %s lists another agent's container: %v", ids[i], err)
		}
	}
	if err := rts[0].Kill(ctx, "web.1", 0); err != nil {
		t.Fatal(err)
	}
	if list, _ := rts[1].List(ctx); len(list) != 1 {
		t.Fatalf("one agent's kill touched the other's task: %+v", list)
	}
}
