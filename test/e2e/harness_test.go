package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/drover/drover/internal/testutil"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/drover/drover/internal/testimage"
)

const testImage = "drover-test/httpd:e2e"

var (
	droverBin   string
	buildOnce   sync.Once
	buildErr    error
	dockerError error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if droverBin != "" {
		_ = os.RemoveAll(filepath.Dir(droverBin))
	}
	os.Exit(code)
}

// requireDocker skips a test where Docker is really absent on a developer's
// machine; in CI (CI=true) an absent Docker fails the test instead.
func requireDocker(t *testing.T) *client.Client {
	t.Helper()
	cli := testimage.RequireDocker(t)
	testimage.BuildHTTPD(t, testImage)
	return cli
}

// drover builds the binary once per test run.
func drover(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := testimage.ModuleRoot()
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "drover-e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		droverBin = filepath.Join(dir, "drover")
		cmd := exec.Command("go", "build", "-o", droverBin, "./cmd/drover")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return droverBin
}

// process is a running drover subcommand, its output kept in a log file that
// the test prints when it fails.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

func start(t *testing.T, name string, args ...string) *process {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(drover(t), args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), "DROVER_LOG_LEVEL=debug")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); f.Close(); close(p.done) }()
	t.Cleanup(func() {
		p.stop(syscall.SIGKILL)
		if t.Failed() || os.Getenv("DROVER_E2E_LOGS") != "" {
			out, _ := os.ReadFile(logPath)
			t.Logf("---- %s log ----\n%s", name, tail(out, 12000))
		}
	})
	return p
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// stop signals the process and waits for it to exit.
func (p *process) stop(sig syscall.Signal) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func freePort(t *testing.T) int { return testutil.FreePort(t) }

// eventually polls check until it returns nil or total passes.
func eventually(t *testing.T, total time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(total)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %v", total, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// api is a client of one api replica.
type api struct {
	t    *testing.T
	base string
}

func (a api) do(method, path string, body any) (int, []byte, error) {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return 0, nil, err
		}
	}
	return testutil.Request(method, a.base+path, b, 5*time.Second)
}

type (
	task      = testutil.Task
	appStatus = testutil.App
)

// app reads /v2/apps/{id}.
func (a api) app(id string) (appStatus, error) { return testutil.GetApp(a.base, id, 5*time.Second) }

// running waits until the app has n running tasks and returns them.
func (a api) running(id string, n int, total time.Duration) []task {
	a.t.Helper()
	var tasks []task
	eventually(a.t, total, func() error {
		app, err := a.app(id)
		if err != nil {
			return err
		}
		tasks = tasks[:0]
		for _, tk := range app.Tasks {
			if tk.State == "TASK_RUNNING" {
				tasks = append(tasks, tk)
			}
		}
		if app.TasksRunning != n || len(tasks) != n {
			return fmt.Errorf("tasksRunning=%d, running tasks listed=%d, want %d", app.TasksRunning, len(tasks), n)
		}
		return nil
	})
	return tasks
}

// containers lists the containers Drover runs for a task or an app.
func containers(t *testing.T, cli *client.Client, label string) []container.Summary {
	t.Helper()
	list, err := cli.ContainerList(context.Background(), container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", label))})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// removeContainers removes every container with the label, at cleanup.
func removeContainers(t *testing.T, cli *client.Client, label string) {
	t.Cleanup(func() {
		for _, c := range containers(t, cli, label) {
			_ = cli.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true})
		}
	})
}
