package command

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/agent"
)

// Launch runs a task's command: its directory and sandbox made, its
// cgroups set, its supervisor started; it returns once the command runs
// (or ended, or could not start: an error saying why, its user, a fetch).
// A task whose directory is there already is adopted, never started twice.
func (r *Runtime) Launch(ctx context.Context, taskID string, spec marathon.TaskSpec) (events.TaskReport, error) {
	if err := validTaskID(taskID); err != nil {
		return events.TaskReport{}, fmt.Errorf("%w: %v", agent.ErrInvalidSpec, err)
	}
	if !spec.HostCommand() {
		return events.TaskReport{}, fmt.Errorf("%w: app %s has neither a docker image nor a command", agent.ErrInvalidSpec, spec.AppID)
	}
	dir := r.taskDir(taskID)
	if exists(filepath.Join(dir, fileLaunch)) {
		return r.awaitStart(ctx, taskID, nil)
	}
	_ = os.RemoveAll(dir) // half made by a launch that died before its record
	u, err := resolveUser(spec.User, r.cfg.DefaultUser, r.cfg.AllowRoot)
	if err != nil {
		return events.TaskReport{}, err
	}
	rec, err := r.prepare(taskID, spec, u)
	if err != nil {
		_ = r.remove(taskID)
		return events.TaskReport{}, err
	}
	exited, err := r.startSupervisor(dir)
	if err != nil {
		_ = r.remove(taskID)
		return events.TaskReport{}, err
	}
	rep, err := r.awaitStart(ctx, taskID, exited)
	if err == nil {
		r.log.Info("task launched", "task", taskID, "app", rec.AppID, "user", u.Name, "state", rep.State)
	}
	return rep, err
}

// prepare makes the task's directory, sandbox and cgroups, and writes its
// launch record.
func (r *Runtime) prepare(taskID string, spec marathon.TaskSpec, u taskUser) (launchRecord, error) {
	dir := r.taskDir(taskID)
	sandbox := filepath.Join(dir, dirSandbox)
	if err := os.Mkdir(dir, 0o711); err != nil {
		return launchRecord{}, fmt.Errorf("command: task directory: %w", err)
	}
	if err := os.Chmod(dir, 0o711); err != nil { // through the umask
		return launchRecord{}, err
	}
	if err := os.Mkdir(sandbox, 0o755); err != nil {
		return launchRecord{}, fmt.Errorf("command: sandbox: %w", err)
	}
	if u.Switch {
		if err := os.Chown(sandbox, int(u.UID), int(u.GID)); err != nil {
			return launchRecord{}, fmt.Errorf("command: sandbox: %w", err)
		}
	}
	checks, _ := agent.CheckSpecOf(spec) // the agent logged what it left out
	rec := launchRecord{
		TaskID: taskID, AppID: spec.AppID, Version: spec.Version,
		Argv: append(append([]string(nil), spec.Entrypoint...), spec.Command...),
		Env:  taskEnv(spec, r.cfg.Hostname, taskID, sandbox, u), User: u, HostPorts: spec.HostPorts, Checks: checks,
		Fetch: spec.Fetch, Limits: r.cfg.Fetch, Supervisor: r.cfg.Supervisor, CreatedAt: time.Now().UTC(),
	}
	if r.cg != nil && (spec.Cpus > 0 || spec.Mem > 0) {
		dirs, err := r.cg.create(taskID, spec.Cpus, spec.Mem, r.log)
		if err != nil {
			r.log.Warn("task runs without limits", "task", taskID, "error", err)
		}
		rec.Cgroups = dirs
	}
	return rec, writeJSON(dir, fileLaunch, rec)
}

// startSupervisor starts the task's supervisor in a session of its own,
// so that it outlives the agent; exited closes when it does, if it does
// while this runtime is there to reap it.
func (r *Runtime) startSupervisor(dir string) (exited <-chan struct{}, err error) {
	logf, err := os.OpenFile(filepath.Join(dir, fileSuperLog), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("command: supervisor log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(r.cfg.Supervisor[0], append(r.cfg.Supervisor[1:], "supervise", dir)...)
	cmd.Dir, cmd.Env = dir, []string{"PATH=" + defaultPath}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("command: start supervisor: %w", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
		r.pokeFollow()
	}()
	return done, nil
}

// stagingWait is how long a launch waits for a task that is still
// fetching: then it reports the task staging, and its start or failure
// follows as the runtime's events, so that a kill of the task (which waits
// for the launch) need not wait for a long download.
const stagingWait = 5 * time.Second

// awaitStart waits until the task runs or ends, or for stagingWait. An end
// before the command ran (a fetch, its user, a command that cannot start)
// is an error saying why; a command that ran and ended is reported as it ended.
func (r *Runtime) awaitStart(ctx context.Context, taskID string, exited <-chan struct{}) (events.TaskReport, error) {
	deadline := time.Now().Add(stagingWait)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		rep, _, ok := r.report(taskID, time.Now())
		switch {
		case !ok:
			return events.TaskReport{}, fmt.Errorf("command: task %s has no launch record", taskID)
		case rep.State == events.TaskRunning:
			return rep, nil
		case rep.State.Terminal():
			var ex exitRecord
			if found, _ := readJSON(r.taskDir(taskID), fileExit, &ex); found && ex.Phase != phaseRun && !ex.Killed {
				return rep, errors.New(rep.Message)
			}
			return rep, nil
		case time.Now().After(deadline):
			return rep, nil // staging: fetching, or its supervisor slow to start
		}
		select {
		case <-ctx.Done():
			return rep, ctx.Err()
		case <-tick.C:
		case <-exited:
			exited = nil // read the task's end at once
		}
	}
}
