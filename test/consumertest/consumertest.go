// Package consumertest runs `drover standalone` for the tests of Marathon's
// third-party consumers (test/consumers, and test/prometheus in a module of
// its own): the binary built from this repository, the stand-in httpd image,
// one agent on the real Docker daemon, and everything removed at cleanup.
package consumertest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/drover/drover/internal/testimage"
	"github.com/drover/drover/internal/testutil"
)

// Image is the stand-in httpd image every consumer test runs: it serves
// /usr/local/apache2/htdocs and /healthz on port 80.
const Image = "drover-test/httpd:consumers"

// Host is the agent's hostname and address: the tasks' `host`, where their
// published ports bind.
const Host = "127.0.0.1"

var (
	buildOnce sync.Once
	binDir    string
	binErr    error
)

// Main runs a test binary's tests and removes the drover binary they built.
// Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binary builds ./cmd/drover once per test process.
func binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := testimage.ModuleRoot()
		if err != nil {
			binErr = err
			return
		}
		if binDir, binErr = os.MkdirTemp("", "drover-consumers-bin"); binErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, "drover"), "./cmd/drover")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build ./cmd/drover: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return filepath.Join(binDir, "drover")
}

// Drover is a running `drover standalone`.
type Drover struct {
	t testing.TB
	// URL is the API's base, http://127.0.0.1:port.
	URL string
	// AgentID names the agent: its containers carry drover.agent-id=AgentID.
	AgentID string
	// Ports is the host port range the agent offers, [begin, end].
	Ports [2]int
}

// Start runs `drover standalone` on a fresh data directory with one agent on
// the Docker daemon (skipping the test without one, except in CI), and waits
// until it answers. At cleanup the process is killed and every container of
// its agent removed.
func Start(t testing.TB) *Drover {
	t.Helper()
	cli := testimage.RequireDocker(t)
	testimage.BuildHTTPD(t, Image)
	bin := binary(t)

	agentID := fmt.Sprintf("consumers-%d-%d", os.Getpid(), time.Now().UnixNano()%1e9)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		list, err := cli.ContainerList(ctx, container.ListOptions{All: true,
			Filters: filters.NewArgs(filters.Arg("label", "drover.agent-id="+agentID))})
		if err != nil {
			t.Errorf("list containers of %s: %v", agentID, err)
			return
		}
		for _, c := range list {
			if err := cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil {
				t.Errorf("remove container %s: %v", c.ID, err)
			}
		}
	})

	// A port range of its own, away from the other tests' 31000-32000, so
	// parallel test binaries on one daemon rarely share host ports.
	begin := 40000 + 200*rand.IntN(50)
	d := &Drover{t: t, AgentID: agentID, Ports: [2]int{begin, begin + 199}}
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	d.URL = "http://" + httpAddr
	logPath := filepath.Join(t.TempDir(), "standalone.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "standalone",
		"--data-dir", filepath.Join(t.TempDir(), "data"),
		"--http-addr", httpAddr,
		"--nats-addr", fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t)),
		"--hostname", Host, "--address", Host, "--agent-id", agentID,
		"--resources", fmt.Sprintf("cpus=4,mem=4096,disk=10000,ports=[%d-%d]", d.Ports[0], d.Ports[1]))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logFile.Close(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			out, _ := os.ReadFile(logPath)
			if len(out) > 12000 {
				out = out[len(out)-12000:]
			}
			t.Logf("---- drover standalone log ----\n%s", out)
		}
	})
	d.Eventually(60*time.Second, func() error {
		select {
		case <-done:
			return fmt.Errorf("drover standalone exited")
		default:
		}
		code, body, err := d.Do(http.MethodGet, "/v2/ping", nil)
		if err != nil || code != http.StatusOK {
			return fmt.Errorf("ping: %d %v %s", code, err, body)
		}
		return nil
	})
	return d
}

// Eventually polls check until it returns nil, failing the test with its
// last error when total has passed.
func (d *Drover) Eventually(total time.Duration, check func() error) {
	d.t.Helper()
	testutil.Eventually(d.t, total, 100*time.Millisecond, check)
}

// Do sends a request with body as JSON (nil for none).
func (d *Drover) Do(method, path string, body any) (int, []byte, error) {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return 0, nil, err
		}
	}
	return testutil.Request(method, d.URL+path, b, 10*time.Second)
}

// Must sends a request and fails the test unless the answer has status want;
// it returns the body.
func (d *Drover) Must(method, path string, body any, want int) []byte {
	d.t.Helper()
	code, out, err := d.Do(method, path, body)
	if err != nil || code != want {
		d.t.Fatalf("%s %s: %d %v %s, want %d", method, path, code, err, out, want)
	}
	return out
}

// App is a Docker app of the stand-in image on the bridge network, one port
// mapping of container port 80 per service port given (0: let Drover pick).
func App(id string, instances int, servicePorts ...int) map[string]any {
	var mappings []map[string]any
	for _, sp := range servicePorts {
		mappings = append(mappings, map[string]any{"containerPort": 80, "hostPort": 0, "servicePort": sp, "protocol": "tcp"})
	}
	return map[string]any{
		"id": id, "cpus": 0.1, "mem": 32, "instances": instances,
		"container": map[string]any{"type": "DOCKER", "docker": map[string]any{
			"image": Image, "network": "BRIDGE", "portMappings": mappings,
		}},
	}
}

// Running waits until the app has n tasks, all TASK_RUNNING and, when the app
// has health checks, all alive; it returns the app as GET /v2/apps/{id} has it.
func (d *Drover) Running(id string, n int, total time.Duration) map[string]any {
	d.t.Helper()
	var app map[string]any
	d.Eventually(total, func() error {
		code, body, err := d.Do(http.MethodGet, "/v2/apps/"+strings.TrimPrefix(id, "/"), nil)
		if err != nil || code != http.StatusOK {
			return fmt.Errorf("GET app %s: %d %v %s", id, code, err, body)
		}
		var out struct {
			App map[string]any `json:"app"`
		}
		if err := json.Unmarshal(body, &out); err != nil {
			return err
		}
		app = out.App
		tasks, _ := app["tasks"].([]any)
		checks, _ := app["healthChecks"].([]any)
		ready := 0
		for _, raw := range tasks {
			tk, _ := raw.(map[string]any)
			if tk["state"] != "TASK_RUNNING" {
				continue
			}
			if len(checks) > 0 {
				results, _ := tk["healthCheckResults"].([]any)
				if len(results) != len(checks) {
					continue
				}
				alive := true
				for _, r := range results {
					if m, _ := r.(map[string]any); m["alive"] != true {
						alive = false
					}
				}
				if !alive {
					continue
				}
			}
			ready++
		}
		if len(tasks) != n || ready != n {
			return fmt.Errorf("app %s: %d tasks, %d running (and healthy), want %d", id, len(tasks), ready, n)
		}
		if deps, _ := app["deployments"].([]any); len(deps) > 0 {
			return fmt.Errorf("app %s: deployments still running: %v", id, deps)
		}
		return nil
	})
	return app
}
