package command

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/drover/drover/pkg/events"
)

// Kill stops a task, SIGTERM to its process group then, after grace,
// SIGKILL to the group and its cgroups, and removes its directory and
// cgroups. The task's end is TASK_KILLED, emitted once.
func (r *Runtime) Kill(ctx context.Context, taskID string, grace time.Duration) error {
	if validTaskID(taskID) != nil || !exists(r.taskDir(taskID)) {
		return nil
	}
	dir := r.taskDir(taskID)
	r.mu.Lock()
	r.killing[taskID] = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.killing, taskID)
		r.mu.Unlock()
	}()
	var rec launchRecord
	_, _ = readJSON(dir, fileLaunch, &rec)
	// The mark tells the supervisor not to start a command it has not
	// started yet, and a restarted agent that the task was being killed.
	if f, err := os.OpenFile(filepath.Join(dir, fileKill), os.O_WRONLY|os.O_CREATE, 0o600); err == nil {
		f.Close()
	}
	r.stop(ctx, dir, grace)
	if err := r.remove(taskID); err != nil {
		r.log.Warn("remove killed task", "task", taskID, "error", err)
	}
	r.emit(events.TaskReport{TaskID: taskID, AppID: rec.AppID, Version: rec.Version, State: events.TaskKilled}, time.Now())
	r.log.Info("task killed", "task", taskID, "grace", grace)
	return nil
}

// stop asks the task's supervisor to end the task, gracefully then not,
// and waits for it to say the task ended.
func (r *Runtime) stop(ctx context.Context, dir string, grace time.Duration) {
	ended := func() bool { return exists(filepath.Join(dir, fileExit)) }
	var sup superRecord
	// A supervisor just started writes its record at once.
	r.waitFor(ctx, 5*time.Second, func() bool {
		found, _ := readJSON(dir, fileSupervisor, &sup)
		return found || ended()
	})
	if ended() {
		return
	}
	gone := func() bool { return ended() || !alive(sup.PID, sup.Start) }
	if signalProc(sup.PID, sup.Start, syscall.SIGTERM) == nil && !r.waitFor(ctx, grace, gone) {
		if signalProc(sup.PID, sup.Start, syscall.SIGUSR1) == nil {
			r.waitFor(ctx, 10*time.Second, gone)
		}
	}
	if ended() {
		return
	}
	// No supervisor: end the task's group ourselves, if its leader is
	// still the process that started.
	var st stateRecord
	if found, _ := readJSON(dir, fileState, &st); found && st.Start != 0 && alive(st.PID, st.Start) {
		_ = syscall.Kill(-st.PID, syscall.SIGKILL)
	}
}

// waitFor polls cond until it holds (true), total passes or ctx ends.
func (r *Runtime) waitFor(ctx context.Context, total time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(total)
	for !cond() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}
