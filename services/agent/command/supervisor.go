package command

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/agent/sandbox"
)

// Main runs the agent-exec subcommand (the drover binary's hidden
// "agent-exec"): "supervise <dir>" supervises the task of a task directory,
// "fetch" fetches the URIs given as JSON on standard input into the
// working directory. It returns the process's exit code.
func Main(args []string) int {
	switch {
	case len(args) == 2 && args[0] == "supervise":
		if err := supervise(args[1]); err != nil {
			fmt.Fprintln(os.Stderr, "drover agent-exec:", err)
			return 1
		}
		return 0
	case len(args) == 1 && args[0] == "fetch":
		if err := fetchMain(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	}
	fmt.Fprintln(os.Stderr, "drover agent-exec: the agent runs this, as: agent-exec supervise <dir> | agent-exec fetch")
	return 2
}

// fetchRequest is what the supervisor hands its fetch process.
type fetchRequest struct {
	URIs   []marathon.FetchURI `json:"uris"`
	Limits sandbox.FetchLimits `json:"limits"`
}

func fetchMain() error {
	var req fetchRequest
	if err := json.NewDecoder(io.LimitReader(os.Stdin, 1<<20)).Decode(&req); err != nil {
		return fmt.Errorf("fetch: read request: %w", err)
	}
	dir, err := os.Getwd()
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("component", "fetcher")
	return sandbox.Fetch(context.Background(), dir, req.URIs, req.Limits, log)
}

// supervisor runs one task; see the package doc.
type supervisor struct {
	dir     string
	rec     launchRecord
	sigs    chan os.Signal
	stopped bool // the agent asked for the task's end
	hard    bool // ... at once (SIGUSR1)
}

func supervise(dir string) error {
	s := &supervisor{dir: dir, sigs: make(chan os.Signal, 4)}
	// SIGTERM and SIGUSR1 are the agent's requests; nothing else from a
	// terminal or a closed pipe may end the supervisor.
	signal.Notify(s.sigs, syscall.SIGTERM, syscall.SIGUSR1)
	signal.Ignore(syscall.SIGHUP, syscall.SIGINT, syscall.SIGPIPE, syscall.SIGQUIT)
	start, err := procStart(os.Getpid())
	if err != nil {
		return err
	}
	if err := writeJSON(dir, fileSupervisor, superRecord{PID: os.Getpid(), Start: start}); err != nil {
		return err
	}
	ex := s.run()
	if len(s.rec.Cgroups) > 0 {
		// Empty now (the task's group and cgroups were killed): a task
		// that ended leaves no cgroup behind while its sandbox waits.
		if err := removeCgroups(s.rec.Cgroups); err != nil {
			fmt.Fprintln(os.Stderr, "drover agent-exec:", err)
		}
	}
	ex.At = time.Now().UTC()
	ex.Killed = ex.Killed || s.stopped || exists(filepath.Join(dir, fileKill))
	return writeJSON(dir, fileExit, ex)
}

// run runs the task to its end and says how it ended.
func (s *supervisor) run() exitRecord {
	if _, err := readJSON(s.dir, fileLaunch, &s.rec); err != nil || s.rec.TaskID == "" {
		return exitRecord{Phase: phaseSetup, Code: -1, Error: fmt.Sprintf("launch record unreadable: %v", err)}
	}
	sandbox := filepath.Join(s.dir, dirSandbox)
	stdout, err1 := s.logFile(filepath.Join(sandbox, "stdout"))
	stderr, err2 := s.logFile(filepath.Join(sandbox, "stderr"))
	if err := errors.Join(err1, err2); err != nil {
		return exitRecord{Phase: phaseSetup, Code: -1, Error: err.Error()}
	}
	defer stdout.Close()
	defer stderr.Close()
	if len(s.rec.Fetch) > 0 {
		if ex, ok := s.fetch(sandbox, stderr); !ok {
			return ex
		}
	}
	if s.drain() {
		return exitRecord{Phase: phaseSetup, Code: -1, Killed: true}
	}
	// The task starts in its cgroups (the supervisor joins them to fork
	// it there, then leaves): none of its processes ever runs outside.
	from, _ := ownCgroups()
	if len(s.rec.Cgroups) > 0 {
		if err := joinCgroups(s.rec.Cgroups); err != nil {
			return exitRecord{Phase: phaseSetup, Code: -1, Error: err.Error()}
		}
	}
	cmd, err := s.command(sandbox, stdout, stderr)
	if err == nil {
		err = cmd.Start()
	}
	if len(s.rec.Cgroups) > 0 {
		leaveCgroups(s.rec.Cgroups, from) // the task's, not the supervisor's, memory is limited
	}
	if err != nil {
		fmt.Fprintf(stderr, "drover: cannot start the command: %v\n", err)
		return exitRecord{Phase: phaseStart, Code: -1, Error: "cannot start the command: " + err.Error()}
	}
	// Not reaped yet, the task's pid is its own: its start time names it.
	st := stateRecord{PID: cmd.Process.Pid, StartedAt: time.Now().UTC()}
	st.Start, _ = procStart(st.PID)
	if err := writeJSON(s.dir, fileState, st); err != nil {
		fmt.Fprintf(stderr, "drover: %v\n", err)
	}
	return s.wait(cmd)
}

// logFile opens (appending) one of the sandbox's output files, the task user's.
func (s *supervisor) logFile(p string) (*os.File, error) {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	if s.rec.User.Switch {
		_ = f.Chown(int(s.rec.User.UID), int(s.rec.User.GID))
	}
	return f, nil
}

// sysProcAttr puts a process in a group of its own, as the task's user.
func (s *supervisor) sysProcAttr() *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: 0}
	if u := s.rec.User; u.Switch {
		a.Credential = &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: u.Groups}
	}
	return a
}

// fetch runs "agent-exec fetch" as the task's user, its output in the
// sandbox's stderr. ok is false when the task ends here.
func (s *supervisor) fetch(sandbox string, stderr *os.File) (exitRecord, bool) {
	if len(s.rec.Supervisor) == 0 {
		return exitRecord{Phase: phaseFetch, Code: -1, Error: "no fetcher command"}, false
	}
	req, _ := json.Marshal(fetchRequest{URIs: s.rec.Fetch, Limits: s.rec.Limits})
	// The binary is opened here, as root, and run through its descriptor:
	// the task's user may not be able to reach it by its path.
	exe, err := os.Open(s.rec.Supervisor[0])
	if err != nil {
		return exitRecord{Phase: phaseFetch, Code: -1, Error: "open the fetcher: " + err.Error()}, false
	}
	defer exe.Close()
	cmd := exec.Command("/proc/self/fd/3", append(s.rec.Supervisor[1:], "fetch")...)
	cmd.ExtraFiles = []*os.File{exe}
	cmd.Dir, cmd.Env = sandbox, []string{"PATH=" + defaultPath}
	cmd.Stdin = strings.NewReader(string(req))
	last := &tailBuffer{max: 2048}
	cmd.Stdout, cmd.Stderr = stderr, io.MultiWriter(stderr, last)
	cmd.SysProcAttr = s.sysProcAttr()
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := cmd.Start(); err != nil {
		return exitRecord{Phase: phaseFetch, Code: -1, Error: "start the fetcher: " + err.Error()}, false
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case err := <-done:
			if s.stopped {
				return exitRecord{Phase: phaseFetch, Code: -1, Killed: true}, false
			}
			if err != nil {
				msg := lastLine(last.String())
				if msg == "" {
					msg = err.Error()
				}
				return exitRecord{Phase: phaseFetch, Code: -1, Error: msg}, false
			}
			return exitRecord{}, true
		case <-s.sigs:
			s.stopped = true
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // a download needs no grace
		}
	}
}

// drain takes the agent's requests that came meanwhile: whether to stop.
func (s *supervisor) drain() bool {
	for {
		select {
		case <-s.sigs:
			s.stopped = true
		default:
			return s.stopped || exists(filepath.Join(s.dir, fileKill))
		}
	}
}

// command is the task's process, not started.
func (s *supervisor) command(sandbox string, stdout, stderr *os.File) (*exec.Cmd, error) {
	argv := s.rec.Argv
	if len(argv) == 0 {
		return nil, errors.New("no command")
	}
	path, err := lookPath(argv[0], sandbox, lookupEnv(s.rec.Env, "PATH"))
	if err != nil {
		return nil, err
	}
	cmd := &exec.Cmd{Path: path, Args: argv, Dir: sandbox, Env: s.rec.Env, Stdout: stdout, Stderr: stderr}
	cmd.SysProcAttr = s.sysProcAttr()
	return cmd, nil
}

// lookPath finds a program as execvp does, in the task's PATH, a relative
// path being the sandbox's.
func lookPath(name, sandbox, path string) (string, error) {
	if strings.Contains(name, "/") {
		if !filepath.IsAbs(name) {
			name = filepath.Join(sandbox, name)
		}
		return name, nil
	}
	for _, d := range filepath.SplitList(path) {
		if d == "" {
			d = "."
		}
		if !filepath.IsAbs(d) {
			d = filepath.Join(sandbox, d)
		}
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%q not found in PATH %s", name, path)
}

// wait waits for the task, passing the agent's requests on to its group.
// The task's process is reaped only after its group got its last signal,
// so its pid, the group's id, is never another's when signalled.
func (s *supervisor) wait(cmd *exec.Cmd) exitRecord {
	pid := cmd.Process.Pid
	exited := make(chan struct{})
	go func() {
		var info unix.Siginfo
		for {
			err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
			if !errors.Is(err, unix.EINTR) {
				break
			}
		}
		close(exited)
	}()
	for running := true; running; {
		select {
		case <-exited:
			running = false
		case sig := <-s.sigs:
			s.stopped = true
			if sig == syscall.SIGUSR1 {
				_ = syscall.Kill(-pid, syscall.SIGKILL)
				killCgroups(s.rec.Cgroups, syscall.SIGKILL, os.Getpid())
			} else {
				_ = syscall.Kill(-pid, syscall.SIGTERM)
			}
		}
	}
	// What the task left running in its group and cgroups ends with it.
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	killCgroups(s.rec.Cgroups, syscall.SIGKILL, os.Getpid())
	err := cmd.Wait()
	ex := exitRecord{Phase: phaseRun, Code: cmd.ProcessState.ExitCode(), OOM: oomKilled(s.rec.Cgroups), Killed: s.stopped}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		ex.Signal = unix.SignalName(ws.Signal())
	}
	if err != nil && ex.Code == -1 && ex.Signal == "" {
		ex.Error = err.Error()
	}
	return ex
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	b   []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
