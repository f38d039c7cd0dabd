package command

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/services/agent"
)

var (
	_ agent.Runtime       = (*Runtime)(nil)
	_ agent.Execer        = (*Runtime)(nil)
	_ agent.CheckRecaller = (*Runtime)(nil)
)

// Runtime runs one agent's command tasks on the host.
type Runtime struct {
	cfg Config
	dir string // <SandboxRoot>/<AgentID>
	log *slog.Logger
	cg  *cgroups // nil: no limits
	hub agent.EventHub

	ctx    context.Context // the runtime's life: ended by Close
	cancel context.CancelFunc
	watch  sync.Once
	wg     sync.WaitGroup
	poke   chan struct{}

	mu       sync.Mutex
	known    map[string]knownState // task id -> last state emitted
	killing  map[string]bool       // task ids being killed by Kill
	removing map[string]bool       // task ids being removed
}

type knownState struct {
	state events.TaskState
	at    time.Time
}

// forgetAfter is how long an ended task's last state is kept.
const forgetAfter = 10 * time.Minute

// New makes the runtime and its sandbox directory, and finds where its
// tasks' cgroups go (without, it logs why, once, and runs them unlimited).
func New(cfg Config, logger *slog.Logger) (*Runtime, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("command: config: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "command", "agent", cfg.AgentID)
	dir := filepath.Join(cfg.SandboxRoot, cfg.AgentID)
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return nil, fmt.Errorf("command: sandbox root: %w", err)
	}
	if os.Geteuid() == 0 {
		if d := closedAncestor(dir); d != "" {
			return nil, fmt.Errorf("command: sandbox root %s: %s is closed to other users (no o+x), so a task running as another user could not enter its sandbox", cfg.SandboxRoot, d)
		}
	}
	r := &Runtime{cfg: cfg, dir: dir, log: logger, poke: make(chan struct{}, 1),
		known: map[string]knownState{}, killing: map[string]bool{}, removing: map[string]bool{}}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	if !cfg.NoCgroups {
		var why string
		if r.cg, why = detectCgroups(cfg.AgentID); r.cg == nil {
			logger.Warn("host commands run without CPU and memory limits: no cgroups for them", "why", why)
		} else {
			logger.Info("host commands are limited by cgroups", "v2", r.cg.v2, "cpu", r.cg.cpu, "memory", r.cg.mem)
		}
	}
	return r, nil
}

// Close stops watching the tasks. They keep running; the agent's cgroup
// directories are removed when no task is left in them.
func (r *Runtime) Close() error {
	r.cancel()
	r.wg.Wait()
	if r.cg != nil {
		_ = syscall.Rmdir(r.cg.cpu) // fails while a task's cgroup is in it
		_ = syscall.Rmdir(r.cg.mem)
	}
	return nil
}

// Ping reports whether the sandbox root is there to run tasks in.
func (r *Runtime) Ping(context.Context) (events.DockerHealth, error) {
	if _, err := os.Stat(r.dir); err != nil {
		err = fmt.Errorf("command: sandbox root: %w", err)
		return events.DockerHealth{Healthy: false, Error: err.Error()}, err
	}
	return events.DockerHealth{Healthy: true, APIVersion: "command"}, nil
}

// closedAncestor is the first directory from / down to dir that other
// users may not pass through, or "".
func closedAncestor(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if st, err := os.Stat(d); err == nil && st.Mode().Perm()&0o001 == 0 {
			return d
		}
		if d == filepath.Dir(d) {
			return ""
		}
	}
}

func (r *Runtime) taskDir(taskID string) string { return filepath.Join(r.dir, taskID) }

// Has reports whether the runtime holds the task: a directory of its own.
func (r *Runtime) Has(taskID string) bool {
	return validTaskID(taskID) == nil && exists(r.taskDir(taskID))
}

// List reports every task of this agent the runtime holds, running or
// ended; an ended one is removed once it has been ended for RemoveDelay.
func (r *Runtime) List(ctx context.Context) ([]events.TaskReport, error) {
	entries, err := os.ReadDir(r.dir)
	if err != nil {
		return nil, fmt.Errorf("command: list: %w", err)
	}
	now := time.Now()
	var out []events.TaskReport
	for _, e := range entries {
		if !e.IsDir() || validTaskID(e.Name()) != nil {
			continue
		}
		rep, ended, ok := r.report(e.Name(), now)
		if !ok {
			continue
		}
		out = append(out, rep)
		if rep.State.Terminal() && !ended.IsZero() && now.Sub(ended) > r.cfg.RemoveDelay {
			r.removeLater(e.Name())
		}
	}
	slices.SortFunc(out, func(a, b events.TaskReport) int { return cmp.Compare(a.TaskID, b.TaskID) })
	return out, nil
}

// report describes a task from its directory; ended is when it ended; ok
// is false for a directory that holds no task (yet).
func (r *Runtime) report(taskID string, now time.Time) (rep events.TaskReport, ended time.Time, ok bool) {
	dir := r.taskDir(taskID)
	var rec launchRecord
	if found, err := readJSON(dir, fileLaunch, &rec); !found || err != nil {
		return rep, ended, false // being made by Launch, or half made by one that died: Launch cleans it
	}
	rep = events.TaskReport{TaskID: taskID, AppID: rec.AppID, Version: rec.Version}
	r.mu.Lock()
	killing := r.killing[taskID]
	r.mu.Unlock()
	killing = killing || exists(filepath.Join(dir, fileKill))
	var ex exitRecord
	if found, _ := readJSON(dir, fileExit, &ex); found {
		rep.State, rep.Message = exitState(ex)
		if killing {
			rep.State, rep.Message = events.TaskKilled, ""
		}
		var st stateRecord
		if found, _ := readJSON(dir, fileState, &st); found {
			rep.StartedAt = st.StartedAt
		}
		return rep, ex.At, true
	}
	var sup superRecord
	found, _ := readJSON(dir, fileSupervisor, &sup)
	switch {
	case !found && now.Sub(rec.CreatedAt) < time.Minute:
		rep.State = events.TaskStaging // the supervisor is starting
	case !found || !alive(sup.PID, sup.Start):
		if found, _ := readJSON(dir, fileExit, &ex); found { // it ended meanwhile
			return r.report(taskID, now)
		}
		rep.State, rep.Message = events.TaskFailed, "the task's supervisor is gone (was the host restarted?)"
		if killing {
			rep.State, rep.Message = events.TaskKilled, ""
		}
		return rep, rec.CreatedAt, true
	default:
		var st stateRecord
		if found, _ := readJSON(dir, fileState, &st); found {
			rep.State, rep.StartedAt = events.TaskRunning, st.StartedAt
		} else {
			rep.State = events.TaskStaging // fetching
		}
	}
	if killing {
		rep.State = events.TaskKilling
	}
	rep.HostPorts = rec.HostPorts
	return rep, time.Time{}, true
}

// exitState maps how a task ended onto a task state and message, as the
// Docker runtime maps a container's exit.
func exitState(ex exitRecord) (events.TaskState, string) {
	switch {
	case ex.Killed:
		return events.TaskKilled, ""
	case ex.Error != "" && ex.Phase == phaseFetch:
		return events.TaskFailed, "fetch failed: " + ex.Error
	case ex.Error != "":
		return events.TaskFailed, ex.Error
	case ex.OOM:
		return events.TaskFailed, fmt.Sprintf("out of memory (exit code %d)", ex.Code)
	case ex.Signal != "":
		return events.TaskFailed, "killed by signal " + ex.Signal
	case ex.Code == 0:
		return events.TaskFinished, ""
	}
	return events.TaskFailed, fmt.Sprintf("exit code %d", ex.Code)
}

// removeLater removes an ended task's directory and cgroups in the background, once.
func (r *Runtime) removeLater(taskID string) {
	r.mu.Lock()
	if r.removing[taskID] || r.killing[taskID] {
		r.mu.Unlock()
		return
	}
	r.removing[taskID] = true
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		if err := r.remove(taskID); err != nil {
			r.log.Warn("remove ended task", "task", taskID, "error", err)
		}
		r.mu.Lock()
		delete(r.removing, taskID)
		r.mu.Unlock()
	}()
}

// remove removes a task that has ended: its cgroups and its directory.
func (r *Runtime) remove(taskID string) error {
	dir := r.taskDir(taskID)
	var rec launchRecord
	_, _ = readJSON(dir, fileLaunch, &rec)
	err := removeCgroups(rec.Cgroups)
	return errors.Join(err, os.RemoveAll(dir))
}

// emit reports a task state change once: nothing after a terminal state,
// nothing twice in a row.
func (r *Runtime) emit(rep events.TaskReport, at time.Time) {
	r.mu.Lock()
	prev, ok := r.known[rep.TaskID]
	if ok && (prev.state == rep.State || prev.state.Terminal()) {
		r.mu.Unlock()
		return
	}
	r.known[rep.TaskID] = knownState{state: rep.State, at: at}
	for id, k := range r.known {
		if k.state.Terminal() && at.Sub(k.at) > forgetAfter {
			delete(r.known, id)
		}
	}
	r.mu.Unlock()
	r.hub.Publish(agent.RuntimeEvent{Task: rep, At: at})
}

// Events streams this agent's task state changes until ctx is done. The
// first call starts following the tasks until Close: every PollInterval
// (and at once when a supervisor this runtime started exits) their
// directories are read and what changed is reported, so tasks found
// running at start are reported (adopted).
func (r *Runtime) Events(ctx context.Context) <-chan agent.RuntimeEvent {
	ch := r.hub.Subscribe(ctx)
	r.watch.Do(func() {
		r.wg.Add(1)
		go func() { defer r.wg.Done(); r.follow(r.ctx) }()
	})
	return ch
}

func (r *Runtime) follow(ctx context.Context) {
	t := time.NewTicker(r.cfg.PollInterval)
	defer t.Stop()
	for {
		r.resync(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.poke:
		}
	}
}

// resync reports every task's state, and tasks whose directories vanished
// while nothing was killing them as lost.
func (r *Runtime) resync(ctx context.Context) {
	reps, err := r.List(ctx)
	if err != nil {
		r.log.Warn("list tasks", "error", err)
		return
	}
	now := time.Now()
	present := map[string]bool{}
	for _, rep := range reps {
		present[rep.TaskID] = true
		r.emit(rep, now)
	}
	r.mu.Lock()
	var lost []string
	for id, k := range r.known {
		if !present[id] && !k.state.Terminal() && !r.killing[id] && !r.removing[id] {
			lost = append(lost, id)
		}
	}
	r.mu.Unlock()
	for _, id := range lost {
		r.emit(events.TaskReport{TaskID: id, State: events.TaskLost, Message: "the task's sandbox disappeared"}, now)
	}
}

// pokeFollow asks the follower for a look now.
func (r *Runtime) pokeFollow() {
	select {
	case r.poke <- struct{}{}:
	default:
	}
}

// validTaskID reports whether a task id can name a directory: no
// separators, no dot names.
func validTaskID(id string) error {
	if id == "" || len(id) > 200 || id == "." || id == ".." {
		return fmt.Errorf("task id %q: want 1 to 200 characters", id)
	}
	for _, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '.', c == '-':
		default:
			return fmt.Errorf("task id %q: want letters, digits, '_', '.' or '-'", id)
		}
	}
	return nil
}
