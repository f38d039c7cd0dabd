package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/drover/drover/internal/natsutil"
	"github.com/drover/drover/internal/testimage"
	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/nats-io/nats.go/jetstream"
)

// The cluster's fixed layout, as deploy/localcluster/lib.sh makes it.
const (
	masters   = 3
	stateDir  = "/var/lib/drover-localcluster"
	htdocsDir = "/var/nfsshare/htdocs"
	appID     = "/test-docker"
)

func masterAddr(m int) string { return fmt.Sprintf("10.77.0.%d", 1+m) }
func hostAddr(n int) string   { return fmt.Sprintf("10.77.0.%d", 10+n) }

// hostNum is N of the agent hostname "hostN".
func hostNum(t testing.TB, host string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.TrimPrefix(host, "host"))
	if err != nil {
		t.Fatalf("task host %q is not hostN", host)
	}
	return n
}

// requireCluster skips where the local cluster cannot run (not root, no
// Docker, no iproute2 or nsenter), unless CI=true, where that is a failure.
func requireCluster(t *testing.T) {
	t.Helper()
	skip := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		if os.Getenv("CI") == "true" {
			t.Fatalf("the local cluster test must run in CI: %s", msg)
		}
		t.Skipf("skipping the local cluster test: %s (CI=true makes this a failure)", msg)
	}
	if os.Geteuid() != 0 {
		skip("needs root for network namespaces and Docker daemons")
	}
	for _, bin := range []string{"dockerd", "docker", "ip", "nsenter", "iptables", "curl"} {
		if _, err := exec.LookPath(bin); err != nil {
			skip("%s is not installed", bin)
		}
	}
	testimage.RequireDocker(t) // its containerd is shared by the hosts' daemons
	lockCluster(t)
	if _, err := os.Stat("/sys/class/net/drover0"); err == nil && os.Getenv("CI") != "true" && os.Getenv("DROVER_CLUSTER_RESET") == "" {
		skip("a local cluster is up (bridge drover0); run deploy/localcluster/down.sh, or set DROVER_CLUSTER_RESET=1 to let the test replace it")
	}
}

// lockCluster makes test runs on this machine take turns: the cluster's
// bridge, addresses and namespaces are fixed, so two runs at once (two CI
// runs, or go test ./... beside a benchmark) would tear down each other's
// cluster. The lock is a flock on deploy/localcluster/up.sh (the scripts lock
// lib.sh among themselves), released when the test ends or dies.
func lockCluster(t *testing.T) {
	t.Helper()
	root, err := testimage.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(root, "deploy", "localcluster", "up.sh"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	deadline := time.Now().Add(10 * time.Minute)
	for waited := false; ; waited = true {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return
		}
		if !waited {
			t.Log("another test run has the local cluster; waiting for it")
		}
		if time.Now().After(deadline) {
			t.Fatalf("the local cluster stayed locked by another run for 10 minutes: %v", err)
		}
		time.Sleep(time.Second)
	}
}

// cluster is the running local cluster and the test's clients of it.
type cluster struct {
	t        *testing.T
	scripts  string
	hosts    int
	dockers  map[int]*client.Client
	agents   jetstream.KeyValue
	leaderKV jetstream.KeyValue
	js       jetstream.JetStream
	down     map[int]bool // masters whose api is stopped
	page     string       // the example app's page, from the host's htdocs
}

// up runs deploy/localcluster/up.sh with n hosts and down.sh at cleanup.
func up(t *testing.T, n int) *cluster {
	t.Helper()
	root, err := testimage.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, scripts: filepath.Join(root, "deploy", "localcluster"), hosts: n,
		dockers: map[int]*client.Client{}, down: map[int]bool{}}
	c.script("down.sh") // leftovers of an interrupted run
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("DROVER_CLUSTER_LOGS") != "" {
			c.dumpLogs()
		}
		if os.Getenv("DROVER_CLUSTER_KEEP") != "" {
			t.Logf("DROVER_CLUSTER_KEEP is set: the cluster stays up; deploy/localcluster/down.sh removes it")
			return
		}
		c.script("down.sh")
	})
	start := time.Now()
	c.script("up.sh", strconv.Itoa(n))
	t.Logf("up.sh %d took %s", n, time.Since(start).Round(time.Millisecond))

	for i := 1; i <= n; i++ {
		cli, err := client.NewClientWithOpts(client.WithHost("unix://"+filepath.Join(stateDir, fmt.Sprintf("host%d", i), "docker.sock")),
			client.WithAPIVersionNegotiation())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cli.Close() })
		c.dockers[i] = cli
	}
	var urls []string
	for m := 1; m <= masters; m++ {
		urls = append(urls, "nats://"+masterAddr(m)+":4222")
	}
	nc, err := natsutil.Connect(natsutil.ClientConfig{URL: strings.Join(urls, ","), Name: "cluster-test"}, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	c.js = js
	testutil.Eventually(t, 30*time.Second, 200*time.Millisecond, func() error {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		if c.agents, err = js.KeyValue(ctx, events.BucketAgents); err != nil {
			return err
		}
		c.leaderKV, err = js.KeyValue(ctx, events.BucketLeader)
		return err
	})
	for i := 1; i <= n; i++ {
		c.waitAgent(i, events.AgentActive, 30*time.Second)
	}
	page, err := os.ReadFile(filepath.Join(htdocsDir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	c.page = string(page)
	return c
}

// script runs a deploy/localcluster script and fails the test when it fails.
func (c *cluster) script(name string, args ...string) string {
	c.t.Helper()
	cmd := exec.Command(filepath.Join(c.scripts, name), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		c.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// ctl runs ctl.sh.
func (c *cluster) ctl(args ...string) string {
	c.t.Helper()
	return c.script("ctl.sh", args...)
}

// ctlAsync starts ctl.sh and returns a function that waits for it.
func (c *cluster) ctlAsync(args ...string) (wait func()) {
	c.t.Helper()
	cmd := exec.Command(filepath.Join(c.scripts, "ctl.sh"), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	return func() {
		c.t.Helper()
		if err := cmd.Wait(); err != nil {
			c.t.Fatalf("ctl.sh %s: %v\n%s", strings.Join(args, " "), err, out.String())
		}
	}
}

func (c *cluster) dumpLogs() {
	logs, _ := filepath.Glob(filepath.Join(stateDir, "logs", "*.log"))
	for _, f := range logs {
		b, _ := os.ReadFile(f)
		if len(b) > 6000 {
			b = b[len(b)-6000:]
		}
		c.t.Logf("---- %s ----\n%s", filepath.Base(f), b)
	}
}

// --- the API -----------------------------------------------------------------

// apiBase is the URL of master m's api.
func apiBase(m int) string { return "http://" + masterAddr(m) + ":8080" }

// api is the base URL of the first master whose api runs.
func (c *cluster) api() string {
	for m := 1; m <= masters; m++ {
		if !c.down[m] {
			return apiBase(m)
		}
	}
	c.t.Fatal("every api is down")
	return ""
}

func do(method, url string, body []byte) (int, []byte, error) {
	return testutil.Request(method, url, body, 3*time.Second)
}

type (
	task      = testutil.Task
	appStatus = testutil.App
)

// app reads GET /v2/apps/test-docker from the api at base.
func app(base string) (appStatus, error) { return testutil.GetApp(base, appID, 3*time.Second) }

func running(a appStatus) []task {
	var out []task
	for _, tk := range a.Tasks {
		if tk.State == "TASK_RUNNING" {
			out = append(out, tk)
		}
	}
	return out
}

// threeOfThree waits until the app runs 3 of 3 on 3 distinct hosts, with
// exactly 3 containers running across the live Docker daemons, and returns
// the tasks.
func (c *cluster) threeOfThree(total time.Duration) []task {
	c.t.Helper()
	var tasks []task
	testutil.Eventually(c.t, total, 100*time.Millisecond, func() error {
		a, err := app(c.api())
		if err != nil {
			return err
		}
		tasks = running(a)
		hosts := map[string]bool{}
		for _, tk := range tasks {
			hosts[tk.Host] = true
		}
		if a.TasksRunning != 3 || len(tasks) != 3 || len(hosts) != 3 || len(a.Tasks) != 3 {
			return fmt.Errorf("tasksRunning=%d, tasks %v, want 3 running on 3 hosts", a.TasksRunning, a.Tasks)
		}
		if n := c.runningContainers(); n != 3 {
			return fmt.Errorf("%d containers of %s run, want 3", n, appID)
		}
		return nil
	})
	return tasks
}

// oldest is the running task that started first, once it has run long
// enough that its death is a first failure, replaced at once (the
// scheduler's --backoff-reset-after is 5 s).
func (c *cluster) oldest(tasks []task) task {
	c.t.Helper()
	victim := tasks[0]
	for _, tk := range tasks[1:] {
		if tk.Started().Before(victim.Started()) {
			victim = tk
		}
	}
	if wait := time.Until(victim.Started().Add(5500 * time.Millisecond)); wait > 0 {
		time.Sleep(wait)
	}
	return victim
}

// replaced waits until a task not in before, and not on avoid, is
// running, and says when it was first listed in any state (the leader had
// noticed the fault and launched it) and when it was listed running; what
// comes between is the host's Docker creating and starting it.
func (c *cluster) replaced(before []task, avoid string, total time.Duration) (got task, seen, running time.Time) {
	c.t.Helper()
	testutil.Eventually(c.t, total, 20*time.Millisecond, func() error {
		a, err := app(c.api())
		if err != nil {
			return err
		}
		for _, tk := range a.Tasks {
			if slices.ContainsFunc(before, func(b task) bool { return b.ID == tk.ID }) || tk.Host == avoid {
				continue
			}
			if seen.IsZero() {
				seen = time.Now()
			}
			if tk.State == "TASK_RUNNING" {
				got = tk
				return nil
			}
		}
		return fmt.Errorf("no replacement running yet: %v", a.Tasks)
	})
	return got, seen, time.Now()
}

// queue reads GET /v2/queue.
func (c *cluster) queue() (string, error) {
	code, body, err := do(http.MethodGet, c.api()+"/v2/queue", nil)
	if err != nil {
		return "", err
	}
	if code != http.StatusOK {
		return "", fmt.Errorf("GET /v2/queue: %d %s", code, body)
	}
	return string(body), nil
}

// --- hosts -------------------------------------------------------------------

// containersOn lists the app's containers on host n (running ones only
// unless all).
func (c *cluster) containersOn(n int, all bool) ([]container.Summary, error) {
	ctx, cancel := context.WithTimeout(c.t.Context(), 2*time.Second)
	defer cancel()
	return c.dockers[n].ContainerList(ctx, container.ListOptions{All: all,
		Filters: filters.NewArgs(filters.Arg("label", "drover.app-id="+appID))})
}

// runningContainers counts the app's running containers on every host whose
// daemon answers.
func (c *cluster) runningContainers() int {
	total := 0
	for n := 1; n <= c.hosts; n++ {
		list, err := c.containersOn(n, false)
		if err == nil {
			total += len(list)
		}
	}
	return total
}

// killContainer SIGKILLs the container of task on its host.
func (c *cluster) killContainer(tk task) {
	c.t.Helper()
	n := hostNum(c.t, tk.Host)
	ctx, cancel := context.WithTimeout(c.t.Context(), 5*time.Second)
	defer cancel()
	list, err := c.dockers[n].ContainerList(ctx, container.ListOptions{
		Filters: filters.NewArgs(filters.Arg("label", "drover.task-id="+tk.ID))})
	if err != nil || len(list) != 1 {
		c.t.Fatalf("container of task %s on %s: %d found, %v", tk.ID, tk.Host, len(list), err)
	}
	if err := c.dockers[n].ContainerKill(ctx, list[0].ID, "SIGKILL"); err != nil {
		c.t.Fatal(err)
	}
}

// waitAgent waits until the scheduler leader records agent hostN in state.
func (c *cluster) waitAgent(n int, state string, total time.Duration) {
	c.t.Helper()
	testutil.Eventually(c.t, total, 100*time.Millisecond, func() error {
		ctx, cancel := context.WithTimeout(c.t.Context(), 2*time.Second)
		defer cancel()
		e, err := c.agents.Get(ctx, fmt.Sprintf("host%d", n))
		if err != nil {
			return fmt.Errorf("agent host%d: %w", n, err)
		}
		var rec events.AgentRecord
		if err := json.Unmarshal(e.Value(), &rec); err != nil {
			return err
		}
		if rec.State != state {
			return fmt.Errorf("agent host%d is %s, want %s", n, rec.State, state)
		}
		return nil
	})
}

// get fetches url, for the example app's page.
func get(url string) (string, error) {
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = errors.New(resp.Status)
	}
	return string(b), err
}

// repairLeakedPort works around a Docker 20.10 leak (reported; see
// docs/BENCHMARKS.md): when a launch reaches a daemon that is shutting
// down, the container it starts outlives the daemon, and the restarted
// daemon keeps its published port allocated, with a docker-proxy and no
// container behind it, so no task can publish that port on the host again.
// The operator's cure: stop the daemon, kill the stray proxy, start it.
func (c *cluster) repairLeakedPort(n int) {
	c.t.Helper()
	first := c.strayProxies(n)
	if len(first) == 0 {
		return
	}
	time.Sleep(time.Second) // a proxy of a container being started now has its container by then
	stray := c.strayProxies(n)
	for pid := range stray {
		if first[pid] == "" {
			delete(stray, pid)
		}
	}
	if len(stray) == 0 {
		return
	}
	for _, cmd := range stray {
		c.t.Logf("Docker bug: host%d's restarted daemon keeps a port for a container it no longer has (%s); restarting that daemon", n, cmd)
	}
	c.ctl("docker-stop", strconv.Itoa(n))
	for pid := range stray {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	c.ctl("docker-start", strconv.Itoa(n))
	c.waitAgent(n, events.AgentActive, 30*time.Second)
	if left := c.strayProxies(n); len(left) > 0 {
		c.t.Fatalf("host%d still has stray docker-proxies after a restart: %v", n, left)
	}
}

// strayProxies are the docker-proxy processes in host n's network namespace
// whose container IP no container of its daemon has, by pid.
func (c *cluster) strayProxies(n int) map[int]string {
	c.t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(fmt.Sprintf("/var/run/netns/drover-lc-host%d", n), &st); err != nil {
		c.t.Fatal(err)
	}
	want := fmt.Sprintf("net:[%d]", st.Ino)
	ctx, cancel := context.WithTimeout(c.t.Context(), 5*time.Second)
	defer cancel()
	list, err := c.dockers[n].ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		c.t.Fatalf("host%d containers: %v", n, err)
	}
	ips := map[string]bool{}
	for _, ctr := range list {
		if ctr.NetworkSettings == nil {
			continue
		}
		for _, nw := range ctr.NetworkSettings.Networks {
			ips[nw.IPAddress] = true
		}
	}
	out := map[int]string{}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		if l, err := os.Readlink(p + "/ns/net"); err != nil || l != want {
			continue
		}
		raw, err := os.ReadFile(p + "/cmdline")
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
		if !strings.HasSuffix(args[0], "docker-proxy") {
			continue
		}
		for i, a := range args[:len(args)-1] {
			if a == "-container-ip" && !ips[args[i+1]] {
				pid, _ := strconv.Atoi(filepath.Base(p))
				out[pid] = strings.Join(args, " ")
			}
		}
	}
	return out
}
