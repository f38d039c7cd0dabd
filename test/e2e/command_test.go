package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drover/drover/internal/testimage"
)

// commandStandalone is standalone running host commands, in sandboxes
// under a directory of the test's.
type commandStandalone struct {
	api
	args      []string
	sandboxes string
	host      string
}

// startCommandStandalone starts standalone with --allow-host-commands, and
// the extra flags. At cleanup every process left under its sandboxes is killed.
func startCommandStandalone(t *testing.T, extra ...string) (*commandStandalone, *process) {
	t.Helper()
	testimage.RequireDocker(t) // the agent's Docker runtime judges its health
	dir := t.TempDir()
	sandboxes := filepath.Join(dir, "sandboxes")
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o711); err != nil { // tasks run as nobody
			t.Fatal(err)
		}
	}
	host := "cmd-" + strconv.FormatInt(time.Now().UnixNano()%1e6, 36)
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cs := &commandStandalone{
		api: api{t: t, base: "http://" + httpAddr},
		args: []string{"standalone", "--data-dir", filepath.Join(dir, "data"), "--http-addr", httpAddr,
			"--nats-addr", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "--hostname", host,
			"--resources", "cpus=2,mem=1024,disk=1000,ports=[31200-31300]",
			"--allow-host-commands", "--sandbox-dir", sandboxes},
		sandboxes: sandboxes, host: host,
	}
	cs.args = append(cs.args, extra...)
	t.Cleanup(func() { killUnder(sandboxes); removeAgentCgroups(host) })
	return cs, cs.start("standalone")
}

// start starts standalone and waits for its api; at cleanup it is stopped
// as an operator would (SIGTERM), so that it cleans up after itself.
func (cs *commandStandalone) start(name string) *process {
	cs.t.Helper()
	p := start(cs.t, name, cs.args...)
	cs.t.Cleanup(func() { p.stop(syscall.SIGTERM) })
	waitPing(cs.t, cs.api)
	return p
}

// removeAgentCgroups removes the agent's cgroup directories (the command
// runtime's, under the cgroups this process shares with standalone) if a
// standalone killed without its cleanup left them.
func removeAgentCgroups(agentID string) {
	b, _ := os.ReadFile("/proc/self/cgroup")
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) == 3 && parts[1] != "" {
			_ = syscall.Rmdir(filepath.Join("/sys/fs/cgroup", parts[1], parts[2], "drover-"+agentID))
		}
	}
	_ = syscall.Rmdir(filepath.Join("/sys/fs/cgroup/drover", agentID))
}

// procsUnder lists the processes whose working directory or command line
// is under dir: the supervisors and tasks of its sandboxes, by pid, with
// their command lines.
func procsUnder(dir string) map[int]string {
	out := map[int]string{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		cwd, _ := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		line := strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " "))
		if line != "" && (strings.HasPrefix(cwd, dir+"/") || strings.Contains(line, dir+"/")) {
			out[pid] = line
		}
	}
	return out
}

func killUnder(dir string) {
	for pid := range procsUnder(dir) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// tasksRunning counts, per task directory, the processes running cmd.
func (cs *commandStandalone) tasksRunning(cmd string) map[string]int {
	out := map[string]int{}
	for pid, line := range procsUnder(cs.sandboxes) {
		if line != cmd {
			continue
		}
		cwd, _ := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "cwd"))
		rel, _ := filepath.Rel(filepath.Join(cs.sandboxes, cs.host), cwd)
		out[strings.Split(rel, "/")[0]]++
	}
	return out
}

func (cs *commandStandalone) mustDo(method, path string, body any, want int) []byte {
	cs.t.Helper()
	code, out, err := cs.do(method, path, body)
	if err != nil || code != want {
		cs.t.Fatalf("%s %s: %d %v %s, want %d", method, path, code, err, out, want)
	}
	return out
}

// deploymentsDone waits for no deployment to be left.
func (cs *commandStandalone) deploymentsDone(total time.Duration) {
	cs.t.Helper()
	eventually(cs.t, total, func() error {
		_, body, err := cs.do(http.MethodGet, "/v2/deployments", nil)
		if err != nil || strings.TrimSpace(string(body)) != "[]" {
			return fmt.Errorf("deployments %s %v", body, err)
		}
		return nil
	})
}

// exactly waits until the app's tasks run exactly one process of cmd each
// on the host, and nothing else runs cmd.
func (cs *commandStandalone) exactly(id, cmd string, n int) []task {
	cs.t.Helper()
	var tasks []task
	eventually(cs.t, 60*time.Second, func() error {
		tasks = cs.running(id, n, 60*time.Second)
		procs := cs.tasksRunning(cmd)
		if len(procs) != n {
			return fmt.Errorf("processes %v, want one in each of %d tasks", procs, n)
		}
		for _, tk := range tasks {
			if procs[tk.ID] != 1 {
				return fmt.Errorf("task %s runs %d processes of %q, want 1 (all: %v)", tk.ID, procs[tk.ID], cmd, procs)
			}
		}
		return nil
	})
	return tasks
}

func ids(tasks []task) []string {
	out := make([]string, 0, len(tasks))
	for _, tk := range tasks {
		out = append(out, tk.ID)
	}
	slices.Sort(out)
	return out
}

// TestCommandAppLifecycle: the trivial cmd app runs on the host and its
// deployment finishes; it scales, a killed task is replaced, it restarts,
// a restarted standalone adopts its commands (the same tasks, no second
// process), and deleting it ends every process and sandbox.
func TestCommandAppLifecycle(t *testing.T) {
	cs, first := startCommandStandalone(t)
	const sleep = "sleep 3600"
	cs.mustDo(http.MethodPost, "/v2/apps", map[string]any{"id": "/trivial", "cmd": sleep, "cpus": 0.1, "mem": 32, "instances": 1}, http.StatusCreated)
	one := cs.exactly("/trivial", sleep, 1)
	cs.deploymentsDone(60 * time.Second)
	if len(one[0].Ports) != 1 || one[0].Ports[0] < 31200 || one[0].Ports[0] > 31300 {
		t.Errorf("ports %v, want one from the agent's range", one[0].Ports)
	}

	cs.mustDo(http.MethodPut, "/v2/apps/trivial", map[string]any{"instances": 2}, http.StatusOK)
	two := cs.exactly("/trivial", sleep, 2)
	cs.deploymentsDone(60 * time.Second)

	cs.mustDo(http.MethodDelete, "/v2/apps/trivial/tasks/"+two[0].ID, nil, http.StatusOK)
	eventually(t, 60*time.Second, func() error {
		now := cs.exactly("/trivial", sleep, 2)
		if slices.Contains(ids(now), two[0].ID) {
			return fmt.Errorf("killed task %s still listed", two[0].ID)
		}
		return nil
	})

	before := ids(cs.exactly("/trivial", sleep, 2))
	cs.mustDo(http.MethodPost, "/v2/apps/trivial/restart", nil, http.StatusOK)
	eventually(t, 90*time.Second, func() error {
		now := ids(cs.exactly("/trivial", sleep, 2))
		for _, id := range now {
			if slices.Contains(before, id) {
				return fmt.Errorf("task %s survived the restart", id)
			}
		}
		return nil
	})
	cs.deploymentsDone(60 * time.Second)

	before = ids(cs.exactly("/trivial", sleep, 2))
	first.stop(syscall.SIGTERM)
	if procs := cs.tasksRunning(sleep); len(procs) != 2 {
		t.Fatalf("after stopping standalone: %v, want both commands still running", procs)
	}
	cs.start("standalone-2")
	// Longer than the new scheduler waits before it judges agents (3 s).
	time.Sleep(5 * time.Second)
	if after := ids(cs.exactly("/trivial", sleep, 2)); !slices.Equal(after, before) {
		t.Errorf("tasks after the restart %v, want the adopted %v", after, before)
	}

	cs.mustDo(http.MethodDelete, "/v2/apps/trivial", nil, http.StatusOK)
	eventually(t, 60*time.Second, func() error {
		if procs := procsUnder(filepath.Join(cs.sandboxes, cs.host)); len(procs) > 0 {
			return fmt.Errorf("processes left: %v", procs)
		}
		if left, _ := os.ReadDir(filepath.Join(cs.sandboxes, cs.host)); len(left) > 0 {
			return fmt.Errorf("sandboxes left: %v", left)
		}
		return nil
	})
}

// targz is a tar.gz of the files, by name.
func targz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		_, _ = tw.Write([]byte(body))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestCommandAppFetchAndHealth: a tar.gz served by the test is fetched
// and extracted into the sandbox, and the command serves it over HTTP on
// $PORT0, healthy by an HTTP and a COMMAND check; bad input fails clearly.
func TestCommandAppFetchAndHealth(t *testing.T) {
	cs, _ := startCommandStandalone(t)
	files := map[string][]byte{"/site.tar.gz": targz(t, map[string]string{"site/index.html": "fetched by drover\n"})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b, ok := files[r.URL.Path]; ok {
			_, _ = w.Write(b)
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)

	cs.mustDo(http.MethodPost, "/v2/apps", map[string]any{
		"id": "/web", "cmd": "cd site && exec python3 -m http.server --bind 127.0.0.1 $PORT0", "cpus": 0.2, "mem": 64, "instances": 1,
		"fetch": []map[string]any{{"uri": srv.URL + "/site.tar.gz"}},
		"healthChecks": []map[string]any{
			{"protocol": "HTTP", "path": "/index.html", "portIndex": 0, "gracePeriodSeconds": 30, "intervalSeconds": 1},
			{"protocol": "COMMAND", "command": map[string]any{"value": "test -f site/index.html"}, "gracePeriodSeconds": 30, "intervalSeconds": 1},
		},
	}, http.StatusCreated)
	var tk task
	eventually(t, 90*time.Second, func() error {
		tasks := cs.running("/web", 1, 60*time.Second)
		tk = tasks[0]
		if len(tk.HealthCheckResults) != 2 || !tk.HealthCheckResults[0].Alive || !tk.HealthCheckResults[1].Alive {
			return fmt.Errorf("health %+v, want both checks alive", tk.HealthCheckResults)
		}
		return nil
	})
	cs.deploymentsDone(60 * time.Second)
	code, body, err := api{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", tk.Ports[0])}.do(http.MethodGet, "/index.html", nil)
	if err != nil || code != http.StatusOK || string(body) != "fetched by drover\n" {
		t.Errorf("GET the task's page: %d %v %q", code, err, body)
	}
	cs.mustDo(http.MethodDelete, "/v2/apps/web", nil, http.StatusOK)

	bad := []struct {
		app  map[string]any
		want string
	}{
		{map[string]any{"id": "/bad/missing", "cmd": "sleep 3600", "fetch": []map[string]any{{"uri": srv.URL + "/missing.tgz"}}}, "404 Not Found"},
		{map[string]any{"id": "/bad/archive", "cmd": "sleep 3600", "uris": []string{srv.URL + "/site.tar.gz.txt"}}, "404 Not Found"},
		{map[string]any{"id": "/bad/exits", "cmd": "echo bye; exit 3"}, "exit code 3"},
		{map[string]any{"id": "/bad/user", "cmd": "sleep 3600", "user": "no-such-user-drover"}, `user "no-such-user-drover" does not exist`},
	}
	files["/not-an-archive.tar.gz"] = []byte("plain text")
	bad[1].app["uris"], bad[1].want = []string{srv.URL + "/not-an-archive.tar.gz"}, "not a valid archive"
	for _, b := range bad {
		b.app["cpus"], b.app["mem"], b.app["instances"] = 0.1, 32, 1
		cs.mustDo(http.MethodPost, "/v2/apps", b.app, http.StatusCreated)
	}
	for _, b := range bad {
		id := b.app["id"].(string)
		eventually(t, 60*time.Second, func() error {
			_, body, err := cs.do(http.MethodGet, "/v2/apps"+id, nil)
			if err != nil {
				return err
			}
			var out struct {
				App struct {
					LastTaskFailure *struct{ State, Message string } `json:"lastTaskFailure"`
				} `json:"app"`
			}
			if err := json.Unmarshal(body, &out); err != nil {
				return err
			}
			f := out.App.LastTaskFailure
			if f == nil || f.State != "TASK_FAILED" || !strings.Contains(f.Message, b.want) {
				return fmt.Errorf("%s: last failure %+v, want TASK_FAILED saying %q", id, f, b.want)
			}
			return nil
		})
	}
	// The one that exits at once is relaunched with Marathon's backoff.
	eventually(t, 60*time.Second, func() error {
		_, body, err := cs.do(http.MethodGet, "/v2/queue", nil)
		if err != nil || !strings.Contains(string(body), `"/bad/exits"`) {
			return fmt.Errorf("queue %s %v, want /bad/exits waiting", body, err)
		}
		return nil
	})
	cs.mustDo(http.MethodDelete, "/v2/groups/bad?force=true", nil, http.StatusOK)
	eventually(t, 60*time.Second, func() error {
		if procs := procsUnder(filepath.Join(cs.sandboxes, cs.host)); len(procs) > 0 {
			return fmt.Errorf("processes left: %v", procs)
		}
		return nil
	})
}
