package compose

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/drover/drover/internal/testimage"
	"github.com/drover/drover/internal/testutil"
)

// TestComposeDemo brings deploy/compose up as its own project (its own
// image tag, agent hostnames and api ports, so a demo already running on
// this machine is left alone), deploys deploy/compose/app.json 3 of 3 with
// dynamic host ports, and tears it all down.
func TestComposeDemo(t *testing.T) {
	compose := requireCompose(t)
	root, err := testimage.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	suffix := strconv.FormatInt(time.Now().UnixNano()%1e8, 36)
	project, tag, prefix := "drover-ci-"+suffix, "ci-"+suffix, "ci"+suffix+"-"
	dir := stage(t, root)
	apiPort := freePort(t)
	env := append(os.Environ(), "DROVER_IMAGE_TAG="+tag, "DROVER_AGENT_PREFIX="+prefix,
		"DROVER_BIND=127.0.0.1", "DROVER_API_PORT="+strconv.Itoa(apiPort),
		"DROVER_API2_PORT="+strconv.Itoa(freePort(t)), "DROVER_TASK_ADDRESS=127.0.0.1",
		"DROVER_SANDBOXES="+t.TempDir()) // removed after the cleanup below: the agents' tasks' sandboxes
	run := func(args ...string) string {
		t.Helper()
		full := append(append(compose[1:], "-p", project, "-f", filepath.Join(dir, "compose", "docker-compose.yml")), args...)
		cmd := exec.Command(compose[0], full...)
		cmd.Env = env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s %s: %v\n%s", strings.Join(compose, " "), strings.Join(args, " "), err, out.String())
		}
		return out.String()
	}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("compose logs:\n%s", tail(run("logs", "--no-color", "--tail", "40"), 20000))
		}
		run("down", "-v", "--remove-orphans", "--rmi", "all")
		// Whatever the agents left (they stop before they could kill it).
		list, _ := cli.ContainerList(context.Background(), container.ListOptions{All: true,
			Filters: filters.NewArgs(filters.Arg("label", "drover.app-id=/demo/web"))})
		for _, c := range list {
			if strings.HasPrefix(c.Labels["drover.agent-id"], prefix) {
				_ = cli.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true})
			}
		}
		_ = cli.Close()
	})

	start := time.Now()
	run("up", "-d", "--build")
	base := fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	testutil.Eventually(t, 90*time.Second, 200*time.Millisecond, func() error {
		code, body, err := do(http.MethodGet, base+"/v2/info", nil)
		if err != nil || code != http.StatusOK {
			return fmt.Errorf("GET /v2/info: %d %v %s", code, err, body)
		}
		return nil
	})
	t.Logf("compose up: api answers after %s", time.Since(start).Round(time.Millisecond))

	raw, err := os.ReadFile(filepath.Join(root, "deploy", "compose", "app.json"))
	if err != nil {
		t.Fatal(err)
	}
	var app map[string]any
	if err := json.Unmarshal(raw, &app); err != nil {
		t.Fatal(err)
	}
	app["container"].(map[string]any)["docker"].(map[string]any)["image"] = "drover-compose/httpd:" + tag
	body, _ := json.Marshal(app)
	testutil.Eventually(t, 60*time.Second, 500*time.Millisecond, func() error {
		code, out, err := do(http.MethodPost, base+"/v2/apps", body)
		if err != nil || code != http.StatusCreated {
			return fmt.Errorf("POST /v2/apps: %d %v %s", code, err, out)
		}
		return nil
	})

	var tasks []struct {
		Host  string `json:"host"`
		State string `json:"state"`
		Ports []int  `json:"ports"`
	}
	testutil.Eventually(t, 90*time.Second, 200*time.Millisecond, func() error {
		code, out, err := do(http.MethodGet, base+"/v2/apps/demo/web", nil)
		if err != nil || code != http.StatusOK {
			return fmt.Errorf("GET app: %d %v %s", code, err, out)
		}
		var resp struct {
			App struct {
				TasksRunning int `json:"tasksRunning"`
				Tasks        []struct {
					Host  string `json:"host"`
					State string `json:"state"`
					Ports []int  `json:"ports"`
				} `json:"tasks"`
			} `json:"app"`
		}
		if err := json.Unmarshal(out, &resp); err != nil {
			return err
		}
		tasks = resp.App.Tasks
		hosts := map[string]bool{}
		for _, tk := range tasks {
			hosts[tk.Host] = tk.State == "TASK_RUNNING" && len(tk.Ports) == 1 && tk.Ports[0] >= 32000 && tk.Ports[0] < 32300
		}
		for _, n := range []string{"agent1", "agent2", "agent3"} {
			if !hosts[prefix+n] {
				return fmt.Errorf("tasksRunning=%d, no running task with a port of the agents' ranges on %s%s: %+v", resp.App.TasksRunning, prefix, n, tasks)
			}
		}
		return nil
	})
	for _, tk := range tasks {
		url := fmt.Sprintf("http://127.0.0.1:%d/healthz", tk.Ports[0])
		testutil.Eventually(t, 10*time.Second, 100*time.Millisecond, func() error {
			resp, err := (&http.Client{Timeout: 2 * time.Second}).Get(url)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("GET %s: %s", url, resp.Status)
			}
			return nil
		})
	}
	t.Logf("3 of 3 on %s, %s, %s, ports %v %v %v", tasks[0].Host, tasks[1].Host, tasks[2].Host, tasks[0].Ports, tasks[1].Ports, tasks[2].Ports)

	if code, out, err := do(http.MethodDelete, base+"/v2/apps/demo/web", nil); err != nil || code != http.StatusOK {
		t.Fatalf("DELETE: %d %v %s", code, err, out)
	}
	testutil.Eventually(t, 30*time.Second, 200*time.Millisecond, func() error {
		list, err := cli.ContainerList(context.Background(), container.ListOptions{All: true,
			Filters: filters.NewArgs(filters.Arg("label", "drover.app-id=/demo/web"))})
		if err != nil {
			return err
		}
		n := 0
		for _, c := range list {
			if strings.HasPrefix(c.Labels["drover.agent-id"], prefix) {
				n++
			}
		}
		if n > 0 {
			return fmt.Errorf("%d containers of the app left", n)
		}
		return nil
	})
}

// requireCompose returns the Compose command (docker compose, or
// docker-compose v1), skipping where there is none or no Docker daemon,
// unless CI=true, where that fails the test.
func requireCompose(t *testing.T) []string {
	t.Helper()
	skip := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		if os.Getenv("CI") == "true" {
			t.Fatalf("the Compose demo test must run in CI: %s", msg)
		}
		t.Skipf("skipping the Compose demo test: %s (CI=true makes this a failure)", msg)
	}
	testimage.RequireDocker(t)
	if exec.Command("docker", "compose", "version").Run() == nil {
		return []string{"docker", "compose"}
	}
	if exec.Command("docker-compose", "version").Run() == nil {
		return []string{"docker-compose"}
	}
	skip("neither `docker compose` nor `docker-compose` is installed")
	return nil
}

// stage copies deploy/compose and deploy/httpd into a temporary tree, with
// the static binaries their images need, so the test builds nothing inside
// the repository.
func stage(t *testing.T, root string) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"compose", "httpd"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"compose/docker-compose.yml", "compose/Dockerfile", "httpd/Dockerfile"} {
		b, err := os.ReadFile(filepath.Join(root, "deploy", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for out, pkg := range map[string]string{"compose/drover": "./cmd/drover", "httpd/httpd": "./cmd/httpd"} {
		cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, out), pkg)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	return dir
}

func freePort(t *testing.T) int { return testutil.FreePort(t) }

func do(method, url string, body []byte) (int, []byte, error) {
	return testutil.Request(method, url, body, 5*time.Second)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
