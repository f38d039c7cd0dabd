package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/client"
)

// cluster is NATS, one api, schedulers and agents, each its own process.
type cluster struct {
	api        api
	nats       *process
	natsArgs   []string
	schedulers []*process
	agents     []*process
	hosts      []string // agent hostnames
	addrs      []string // agent addresses (distinct loopback IPs)
}

func startCluster(t *testing.T, cli *client.Client, schedulers, agents int) *cluster {
	t.Helper()
	// Host names first, and their containers' removal registered before
	// any process starts: cleanups run last-in first-out, so the removal
	// runs once every scheduler and agent is stopped and can relaunch
	// nothing behind it.
	suffix := strconv.FormatInt(time.Now().UnixNano()%1e6, 36)
	hosts := make([]string, agents)
	for i := range agents {
		hosts[i] = fmt.Sprintf("host%d-%s", i+1, suffix)
		removeContainers(t, cli, "drover.agent-id="+hosts[i])
	}
	natsURL := fmt.Sprintf("nats://127.0.0.1:%d", freePort(t))
	natsArgs := []string{"nats", "--name", "e2e", "--listen", strings.TrimPrefix(natsURL, "nats://"),
		"--data-dir", filepath.Join(t.TempDir(), "nats")}
	natsProc := start(t, "nats", natsArgs...)
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	start(t, "api", "api", "--nats", natsURL, "--http-addr", httpAddr)
	c := &cluster{api: api{t: t, base: "http://" + httpAddr}, nats: natsProc, natsArgs: natsArgs}
	for i := range schedulers {
		c.schedulers = append(c.schedulers, start(t, fmt.Sprintf("scheduler%d", i+1), "scheduler",
			"--nats", natsURL, "--scheduler-id", fmt.Sprintf("s%d", i+1), "--hostname", fmt.Sprintf("scheduler%d", i+1)))
	}
	// Loopback addresses and host ports of this test process alone, so that
	// other test packages running at the same time never collide with it.
	octet := 100 + os.Getpid()%100
	ports := 20000 + rand.IntN(200)*50
	sandboxes := t.TempDir() // the agents' Docker tasks' sandboxes, one directory per agent
	for i := range agents {
		host := hosts[i]
		addr := fmt.Sprintf("127.%d.%d.%d", octet, rand.IntN(250), 11+i)
		c.hosts, c.addrs = append(c.hosts, host), append(c.addrs, addr)
		c.agents = append(c.agents, start(t, host, "agent", "--nats", natsURL, "--hostname", host,
			"--address", addr, "--resources", fmt.Sprintf("cpus=2,mem=1024,disk=1000,ports=[%d-%d]", ports, ports+49),
			"--docker-sandbox-dir", sandboxes))
	}
	eventually(t, 20*time.Second, func() error {
		code, _, err := c.api.do(http.MethodGet, "/v2/ping", nil)
		if err != nil || code != http.StatusOK {
			return fmt.Errorf("ping: %d %v", code, err)
		}
		return nil
	})
	return c
}

// exampleApp is examples/test-docker.json with the test image for httpd, a
// free host port for 80 (three agents share one Docker daemon here, each
// publishing on its own loopback address) and a temporary htdocs.
func exampleApp(t *testing.T, port int, htdocs string) map[string]any {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	raw, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "examples", "test-docker.json"))
	if err != nil {
		t.Fatal(err)
	}
	var app map[string]any
	if err := json.Unmarshal(raw, &app); err != nil {
		t.Fatal(err)
	}
	ctr := app["container"].(map[string]any)
	docker := ctr["docker"].(map[string]any)
	docker["image"] = testImage
	docker["parameters"] = []map[string]string{{"key": "publish", "value": fmt.Sprintf("%d:80", port)}}
	ctr["volumes"].([]any)[0].(map[string]any)["hostPath"] = htdocs
	return app
}

func TestExampleAppOnThreeAgents(t *testing.T) {
	cli := requireDocker(t)
	c := startCluster(t, cli, 2, 3)

	htdocs := t.TempDir()
	const page = "<h1>It works, from Drover's read-only volume</h1>"
	if err := os.WriteFile(filepath.Join(htdocs, "index.html"), []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	code, body, err := c.api.do(http.MethodPost, "/v2/apps", exampleApp(t, port, htdocs))
	if err != nil || code != http.StatusCreated {
		t.Fatalf("POST /v2/apps: %d %v %s", code, err, body)
	}
	var created struct {
		ID          string              `json:"id"`
		Instances   int                 `json:"instances"`
		Deployments []map[string]string `json:"deployments"`
		TasksStaged *int                `json:"tasksStaged"`
	}
	if err := json.Unmarshal(body, &created); err != nil {
		t.Fatal(err)
	}
	if created.ID != "/test-docker" || created.Instances != 3 || len(created.Deployments) != 1 || created.TasksStaged == nil {
		t.Fatalf("POST answered %s", body)
	}

	tasks := c.api.running("test-docker", 3, 60*time.Second)
	hosts := map[string]bool{}
	for _, tk := range tasks {
		hosts[tk.Host] = true
	}
	if len(hosts) != 3 {
		t.Fatalf("tasks on %d distinct hosts, want 3: %+v", len(hosts), tasks)
	}
	for i, addr := range c.addrs {
		if !hosts[c.hosts[i]] {
			t.Fatalf("no task on %s", c.hosts[i])
		}
		got := httpGet(t, fmt.Sprintf("http://%s:%d/", addr, port))
		if !strings.Contains(got, page) {
			t.Fatalf("GET %s:%d = %q, want the page", addr, port, got)
		}
	}

	// docker kill of one container: a replacement reaches RUNNING, 3 of 3 again.
	kills := 1
	if n, err := strconv.Atoi(os.Getenv("DROVER_E2E_KILLS")); err == nil && n > 0 {
		kills = n
	}
	var took []time.Duration
	for i := range kills {
		victim := tasks[i%len(tasks)]
		before := taskIDs(tasks)
		list := containers(t, cli, "drover.task-id="+victim.ID)
		if len(list) != 1 {
			t.Fatalf("containers of task %s: %d, want 1", victim.ID, len(list))
		}
		killed := time.Now()
		if err := cli.ContainerKill(context.Background(), list[0].ID, "SIGKILL"); err != nil {
			t.Fatal(err)
		}
		eventually(t, 30*time.Second, func() error {
			app, err := c.api.app("test-docker")
			if err != nil {
				return err
			}
			for _, tk := range app.Tasks {
				if tk.State == "TASK_RUNNING" && !slices.Contains(before, tk.ID) {
					return nil
				}
			}
			return fmt.Errorf("no replacement running yet (%d running)", app.TasksRunning)
		})
		took = append(took, time.Since(killed))
		tasks = c.api.running("test-docker", 3, 30*time.Second)
		if slices.Contains(taskIDs(tasks), victim.ID) {
			t.Fatalf("killed task %s still listed as running", victim.ID)
		}
		if i < kills-1 {
			time.Sleep(6 * time.Second) // past the scheduler's backoff reset (5 s): each kill is a first failure
		}
	}
	slices.Sort(took)
	t.Logf("docker kill -> replacement RUNNING over %d kills: median %s, worst %s, all %v",
		len(took), took[len(took)/2], took[len(took)-1], took)

	// The leading scheduler dies: the other leads, and replaces a killed task.
	leader := c.leader(t)
	var victim *process
	for _, s := range c.schedulers {
		if s.name == leader {
			victim = s
		}
	}
	if victim == nil {
		t.Fatalf("leader %q is none of the schedulers", leader)
	}
	victim.stop(syscall.SIGKILL)
	eventually(t, 10*time.Second, func() error {
		if l := c.leader(t); l == leader || l == "" {
			return fmt.Errorf("leader is still %q", l)
		}
		return nil
	})

	// DELETE: every container goes.
	code, body, err = c.api.do(http.MethodDelete, "/v2/apps/test-docker", nil)
	if err != nil || code != http.StatusOK {
		t.Fatalf("DELETE: %d %v %s", code, err, body)
	}
	eventually(t, 30*time.Second, func() error {
		if n := len(containers(t, cli, "drover.app-id=/test-docker")); n != 0 {
			return fmt.Errorf("%d containers left", n)
		}
		return nil
	})
}

func taskIDs(tasks []task) []string {
	var ids []string
	for _, tk := range tasks {
		ids = append(ids, tk.ID)
	}
	return ids
}

// leader is the scheduler /v2/leader names (its hostname: these schedulers
// record no --api-address, so the leader is "<hostname>:<the api's port>"),
// or "" when there is none.
func (c *cluster) leader(t *testing.T) string {
	code, body, err := c.api.do(http.MethodGet, "/v2/leader", nil)
	if err != nil || code != http.StatusOK {
		return ""
	}
	var out struct {
		Leader string `json:"leader"`
	}
	_ = json.Unmarshal(body, &out)
	if host, _, err := net.SplitHostPort(out.Leader); err == nil {
		return host
	}
	return out.Leader
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	var body string
	eventually(t, 10*time.Second, func() error {
		resp, err := (&http.Client{Timeout: 2 * time.Second}).Get(url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		body = string(b)
		return err
	})
	return body
}
