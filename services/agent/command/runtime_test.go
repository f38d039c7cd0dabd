package command

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/agent"
	"github.com/drover/drover/services/agent/sandbox/sandboxtest"
)

// TestMain lets the test binary be the supervisor, as the drover binary is.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "agent-exec" {
		os.Exit(Main(os.Args[2:]))
	}
	os.Exit(m.Run())
}

// newRuntime is a runtime on a sandbox root of the test's, whose tasks are
// all killed and removed at cleanup.
func newRuntime(t *testing.T, root string, tweak ...func(*Config)) *Runtime {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.AgentID, cfg.SandboxRoot, cfg.Supervisor = "test-agent", root, []string{exe, "agent-exec"}
	cfg.PollInterval = 50 * time.Millisecond
	if os.Geteuid() != 0 {
		cfg.DefaultUser = ""
	}
	for _, f := range tweak {
		f(&cfg)
	}
	r, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		reps, _ := r.List(ctx)
		for _, rep := range reps {
			_ = r.Kill(ctx, rep.TaskID, 0)
		}
		_ = r.Close()
	})
	return r
}

// sandboxRoot is a temporary sandbox root that other users may pass through.
func sandboxRoot(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "sandboxes")
	for _, d := range []string{filepath.Dir(filepath.Dir(root)), filepath.Dir(root)} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func cmdSpec(cmd string) marathon.TaskSpec {
	spec := marathon.TaskSpec{AppID: "/test/app", Version: "v1", Entrypoint: []string{"/bin/sh", "-c"}, Command: []string{cmd},
		Env: map[string]string{"GREETING": "hello"}, Ports: []marathon.PortBinding{{Protocols: []string{"tcp"}}}}
	return spec.ForTask([]int{31005}, nil) // as the scheduler launches it
}

// eventually polls cond until it returns nil, failing the test after total.
func eventually(t *testing.T, total time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(total)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %v", total, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func stateOf(t *testing.T, r *Runtime, taskID string) (events.TaskReport, error) {
	t.Helper()
	reps, err := r.List(t.Context())
	if err != nil {
		return events.TaskReport{}, err
	}
	for _, rep := range reps {
		if rep.TaskID == taskID {
			return rep, nil
		}
	}
	return events.TaskReport{}, fmt.Errorf("task %s not listed", taskID)
}

func waitState(t *testing.T, r *Runtime, taskID string, want events.TaskState) events.TaskReport {
	t.Helper()
	var rep events.TaskReport
	eventually(t, 30*time.Second, func() error {
		var err error
		if rep, err = stateOf(t, r, taskID); err != nil {
			return err
		}
		if rep.State != want {
			return fmt.Errorf("state %s (%s), want %s", rep.State, rep.Message, want)
		}
		return nil
	})
	return rep
}

func sandboxFile(t *testing.T, r *Runtime, taskID, name string) string {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(r.taskDir(taskID), dirSandbox, name))
	return string(b)
}

func taskPid(t *testing.T, r *Runtime, taskID string) int {
	t.Helper()
	var st stateRecord
	if found, err := readJSON(r.taskDir(taskID), fileState, &st); !found || err != nil {
		t.Fatalf("state of %s: %v %v", taskID, found, err)
	}
	return st.PID
}

func groupGone(pid int) error {
	if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("process group %d still there (%v)", pid, err)
	}
	return nil
}

func TestLaunchRunsAndKills(t *testing.T) {
	r := newRuntime(t, sandboxRoot(t))
	evs := r.Events(t.Context())
	const id = "test_app.instance-1._app.1"
	rep, err := r.Launch(t.Context(), id, cmdSpec(`echo "$GREETING $PORT0 $PORTS $MESOS_TASK_ID $MESOS_SANDBOX $(id -u)"; echo oops >&2; exec sleep 600`))
	if err != nil {
		t.Fatal(err)
	}
	if rep.State != events.TaskRunning || rep.AppID != "/test/app" || len(rep.HostPorts) != 1 || rep.HostPorts[0] != 31005 {
		t.Fatalf("launch report %+v", rep)
	}
	sandbox := filepath.Join(r.taskDir(id), dirSandbox)
	wantUID := "65534"
	if os.Geteuid() != 0 {
		wantUID = strconv.Itoa(os.Geteuid())
	}
	want := fmt.Sprintf("hello 31005 31005 %s %s %s\n", id, sandbox, wantUID)
	eventually(t, 10*time.Second, func() error {
		if got := sandboxFile(t, r, id, "stdout"); got != want {
			return fmt.Errorf("stdout %q, want %q", got, want)
		}
		if got := sandboxFile(t, r, id, "stderr"); got != "oops\n" {
			return fmt.Errorf("stderr %q", got)
		}
		return nil
	})
	pid := taskPid(t, r, id)
	if pgid, err := syscall.Getpgid(pid); err != nil || pgid != pid {
		t.Errorf("the task's process group is %d (%v), want its own, %d", pgid, err, pid)
	}
	again, err := r.Launch(t.Context(), id, cmdSpec("echo second; sleep 600"))
	if err != nil || again.State != events.TaskRunning || taskPid(t, r, id) != pid {
		t.Fatalf("a second launch of the task: %+v %v, pid %d, want the first adopted (%d)", again, err, taskPid(t, r, id), pid)
	}
	if err := r.Kill(t.Context(), id, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() error { return groupGone(pid) })
	if exists(r.taskDir(id)) {
		t.Error("the killed task's directory is still there")
	}
	seen := map[events.TaskState]bool{}
	eventually(t, 10*time.Second, func() error {
		for {
			select {
			case ev := <-evs:
				seen[ev.Task.State] = true
				continue
			default:
			}
			break
		}
		if !seen[events.TaskKilled] {
			return fmt.Errorf("events seen %v, want TASK_KILLED", seen)
		}
		return nil
	})
}

func TestEnds(t *testing.T) {
	r := newRuntime(t, sandboxRoot(t))
	tests := []struct {
		cmd   string
		state events.TaskState
		msg   string
	}{
		{"true", events.TaskFinished, ""},
		{"exit 3", events.TaskFailed, "exit code 3"},
		{"kill -9 $$", events.TaskFailed, "killed by signal SIGKILL"},
	}
	for i, tc := range tests {
		id := fmt.Sprintf("ends.instance-%d._app.1", i)
		if _, err := r.Launch(t.Context(), id, cmdSpec(tc.cmd)); err != nil {
			t.Fatalf("%s: %v", tc.cmd, err)
		}
		rep := waitState(t, r, id, tc.state)
		if rep.Message != tc.msg || len(rep.HostPorts) > 0 {
			t.Errorf("%s: message %q ports %v, want %q and none", tc.cmd, rep.Message, rep.HostPorts, tc.msg)
		}
	}
}

// TestKillEscalates: a task that ignores SIGTERM is killed after the grace,
// and so is what it started in its group.
func TestKillEscalates(t *testing.T) {
	r := newRuntime(t, sandboxRoot(t))
	const id = "stubborn.instance-1._app.1"
	if _, err := r.Launch(t.Context(), id, cmdSpec(`trap "" TERM; sleep 600 & echo started; wait; wait`)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() error {
		if sandboxFile(t, r, id, "stdout") != "started\n" {
			return errors.New("not started")
		}
		return nil
	})
	pid := taskPid(t, r, id)
	if err := r.Kill(t.Context(), id, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() error { return groupGone(pid) }) // its orphans are reaped by init
}

// TestAdopt: a runtime started again over the same sandbox root finds the
// task running, launches nothing twice, sees it end though it is not its
// child, and kills it.
func TestAdopt(t *testing.T) {
	root := sandboxRoot(t)
	first := newRuntime(t, root)
	const id = "adopt.instance-1._app.1"
	if _, err := first.Launch(t.Context(), id, cmdSpec(`while [ ! -e stop ]; do sleep 0.05; done; exit 7`)); err != nil {
		t.Fatal(err)
	}
	pid := taskPid(t, first, id)
	var sup superRecord
	if _, err := readJSON(first.taskDir(id), fileSupervisor, &sup); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	second := newRuntime(t, root)
	evs := second.Events(t.Context())
	select {
	case ev := <-evs:
		if ev.Task.TaskID != id || ev.Task.State != events.TaskRunning {
			t.Fatalf("first event %+v, want %s running", ev.Task, id)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the running task was not reported")
	}
	rep, err := second.Launch(t.Context(), id, cmdSpec("sleep 600"))
	if err != nil || rep.State != events.TaskRunning || taskPid(t, second, id) != pid {
		t.Fatalf("launch again: %+v %v, want the task adopted", rep, err)
	}
	if err := os.WriteFile(filepath.Join(second.taskDir(id), dirSandbox, "stop"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-evs:
		if ev.Task.State != events.TaskFailed || ev.Task.Message != "exit code 7" {
			t.Fatalf("end %+v, want failed with exit code 7", ev.Task)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the adopted task's end was not reported")
	}
	eventually(t, 10*time.Second, func() error {
		if alive(sup.PID, sup.Start) {
			return errors.New("the supervisor is still there")
		}
		return nil
	})
	if err := second.Kill(t.Context(), id, time.Second); err != nil || exists(second.taskDir(id)) {
		t.Fatalf("kill of the ended task: %v, directory there %v", err, exists(second.taskDir(id)))
	}
}

func TestLaunchRefuses(t *testing.T) {
	r := newRuntime(t, sandboxRoot(t))
	base := sandboxtest.Serve(t, map[string][]byte{"/text.tar.gz": []byte("no archive")})
	spec := func(f func(*marathon.TaskSpec)) marathon.TaskSpec { s := cmdSpec("sleep 600"); f(&s); return s }
	tests := []struct {
		name    string
		spec    marathon.TaskSpec
		want    string
		invalid bool
	}{
		{"a user that does not exist", spec(func(s *marathon.TaskSpec) { s.User = "no-such-user-drover" }), `user "no-such-user-drover" does not exist`, false},
		{"no command", spec(func(s *marathon.TaskSpec) { s.Entrypoint, s.Command = nil, nil }), "neither a docker image nor a command", true},
		{"a program that is not there", spec(func(s *marathon.TaskSpec) { s.Entrypoint, s.Command = nil, []string{"/nonexistent/drover"} }), "cannot start the command", false},
		{"a URI that 404s", spec(func(s *marathon.TaskSpec) { s.Fetch = []marathon.FetchURI{{URI: base + "/missing.tgz", Extract: true}} }), "fetch failed: fetch " + base + "/missing.tgz: GET: 404 Not Found", false},
		{"an archive that is not one", spec(func(s *marathon.TaskSpec) { s.Fetch = []marathon.FetchURI{{URI: base + "/text.tar.gz", Extract: true}} }), "not a valid archive", false},
	}
	if os.Geteuid() == 0 {
		tests = append(tests, struct {
			name    string
			spec    marathon.TaskSpec
			want    string
			invalid bool
		}{"root", spec(func(s *marathon.TaskSpec) { s.User = "root" }), "may not run as root", true})
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.Launch(t.Context(), fmt.Sprintf("refused.instance-%d._app.1", i), tc.spec)
			if err == nil || !strings.Contains(err.Error(), tc.want) || errors.Is(err, agent.ErrInvalidSpec) != tc.invalid {
				t.Fatalf("error %v, want one saying %q (invalid spec: %v)", err, tc.want, tc.invalid)
			}
		})
	}
}

func TestFetchIntoSandbox(t *testing.T) {
	r := newRuntime(t, sandboxRoot(t))
	base := sandboxtest.Serve(t, map[string][]byte{"/app.tar.gz": sandboxtest.Gzip(t, sandboxtest.Tar(t,
		sandboxtest.Entry{Name: "bin/greet", Body: "#!/bin/sh\necho \"greetings from $1\"\n", Mode: 0o755}))})
	spec := cmdSpec(`./bin/greet tarball; exec sleep 600`)
	spec.Fetch = []marathon.FetchURI{{URI: base + "/app.tar.gz", Extract: true}}
	const id = "fetch.instance-1._app.1"
	if _, err := r.Launch(t.Context(), id, spec); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() error {
		if got := sandboxFile(t, r, id, "stdout"); got != "greetings from tarball\n" {
			return fmt.Errorf("stdout %q", got)
		}
		return nil
	})
	st, err := os.Stat(filepath.Join(r.taskDir(id), dirSandbox, "bin/greet"))
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 && st.Sys().(*syscall.Stat_t).Uid != 65534 {
		t.Errorf("fetched file owned by uid %d, want the task's user", st.Sys().(*syscall.Stat_t).Uid)
	}
}

func TestExecInSandbox(t *testing.T) {
	r := newRuntime(t, sandboxRoot(t))
	const id = "exec.instance-1._app.1"
	if _, err := r.Launch(t.Context(), id, cmdSpec("exec sleep 600")); err != nil {
		t.Fatal(err)
	}
	check := []string{"/bin/sh", "-c", `test -e ready && echo "$GREETING"`}
	res, err := r.Exec(t.Context(), id, check)
	if err != nil || res.ExitCode != 1 {
		t.Fatalf("before: %+v %v, want exit code 1", res, err)
	}
	if err := os.WriteFile(filepath.Join(r.taskDir(id), dirSandbox, "ready"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err = r.Exec(t.Context(), id, check)
	if err != nil || res.ExitCode != 0 || res.Output != "hello\n" {
		t.Fatalf("after: %+v %v, want exit code 0 saying hello", res, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if _, err := r.Exec(ctx, id, []string{"/bin/sh", "-c", "sleep 600"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a check past its timeout: %v", err)
	}
}

func TestCgroupLimits(t *testing.T) {
	r := newRuntime(t, sandboxRoot(t))
	if r.cg == nil {
		t.Skip("no cgroups for tasks on this host")
	}
	spec := cmdSpec("exec sleep 600")
	spec.Cpus, spec.Mem = 0.5, 64
	const id = "limits.instance-1._app.1"
	if _, err := r.Launch(t.Context(), id, spec); err != nil {
		t.Fatal(err)
	}
	rec, err := r.record(id)
	if err != nil || len(rec.Cgroups) == 0 {
		t.Fatalf("cgroups %v %v", rec.Cgroups, err)
	}
	pid := taskPid(t, r, id)
	want := map[string]string{"memory.limit_in_bytes": "67108864", "memory.max": "67108864", "cpu.cfs_quota_us": "50000", "cpu.max": "50000 100000"}
	found := 0
	for _, d := range rec.Cgroups {
		procs := cgroupProcs([]string{d})
		if len(procs) != 1 || procs[0] != pid {
			t.Errorf("%s holds %v, want the task %d alone", d, procs, pid)
		}
		for f, v := range want {
			if b, err := os.ReadFile(filepath.Join(d, f)); err == nil {
				found++
				if got := strings.TrimSpace(string(b)); got != v {
					t.Errorf("%s/%s = %s, want %s", d, f, got, v)
				}
			}
		}
	}
	if found < 2 {
		t.Errorf("found %d of the limits in %v", found, rec.Cgroups)
	}
	if err := r.Kill(t.Context(), id, time.Second); err != nil {
		t.Fatal(err)
	}
	for _, d := range rec.Cgroups {
		if exists(d) {
			t.Errorf("cgroup %s left behind", d)
		}
	}
}

// TestLongFetchIsStaging: a launch whose fetch takes long reports the task
// staging, then its start follows as an event; a kill meanwhile ends it.
func TestLongFetchIsStaging(t *testing.T) {
	r := newRuntime(t, sandboxRoot(t))
	evs := r.Events(t.Context())
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		select {
		case <-release:
		case <-req.Context().Done():
			return
		}
		_, _ = w.Write([]byte("data"))
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	spec := cmdSpec("cat data; exec sleep 600")
	spec.Fetch = []marathon.FetchURI{{URI: srv.URL + "/data"}}
	const id = "slow.instance-1._app.1"
	rep, err := r.Launch(t.Context(), id, spec)
	if err != nil || rep.State != events.TaskStaging {
		t.Fatalf("launch %+v %v, want staging", rep, err)
	}
	close(release)
	for running := false; !running; {
		select {
		case ev := <-evs:
			running = ev.Task.TaskID == id && ev.Task.State == events.TaskRunning
		case <-time.After(30 * time.Second):
			t.Fatal("the task's start was not reported")
		}
	}
	eventually(t, 10*time.Second, func() error {
		if got := sandboxFile(t, r, id, "stdout"); got != "data" {
			return fmt.Errorf("stdout %q", got)
		}
		return nil
	})

	const id2 = "slow.instance-2._app.1"
	release2 := make(chan struct{})
	srv2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		select {
		case <-release2:
		case <-req.Context().Done():
		}
	}))
	t.Cleanup(srv2.Close)
	t.Cleanup(func() { close(release2) })
	spec.Fetch = []marathon.FetchURI{{URI: srv2.URL + "/data"}}
	if rep, err := r.Launch(t.Context(), id2, spec); err != nil || rep.State != events.TaskStaging {
		t.Fatalf("launch %+v %v, want staging", rep, err)
	}
	var sup superRecord
	if _, err := readJSON(r.taskDir(id2), fileSupervisor, &sup); err != nil {
		t.Fatal(err)
	}
	if err := r.Kill(t.Context(), id2, time.Second); err != nil {
		t.Fatal(err)
	}
	if exists(r.taskDir(id2)) {
		t.Error("a task killed while fetching left its directory")
	}
	eventually(t, 10*time.Second, func() error {
		if alive(sup.PID, sup.Start) {
			return errors.New("the supervisor of a task killed while fetching is still there")
		}
		return nil
	})
}
