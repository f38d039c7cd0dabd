package command

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/drover/drover/services/agent"
)

// RecallChecks reads a task's check spec from its launch record.
func (r *Runtime) RecallChecks(_ context.Context, taskID string) (agent.CheckSpec, error) {
	rec, err := r.record(taskID)
	return rec.Checks, err
}

func (r *Runtime) record(taskID string) (launchRecord, error) {
	var rec launchRecord
	if err := validTaskID(taskID); err != nil {
		return rec, err
	}
	found, err := readJSON(r.taskDir(taskID), fileLaunch, &rec)
	if err == nil && !found {
		err = fmt.Errorf("command: no task %s", taskID)
	}
	return rec, err
}

// Exec runs cmd as a COMMAND health check of the task: in its sandbox, as
// its user, with its environment, in a process group of its own that is
// killed when ctx ends.
func (r *Runtime) Exec(ctx context.Context, taskID string, cmd []string) (agent.ExecResult, error) {
	rec, err := r.record(taskID)
	if err != nil {
		return agent.ExecResult{}, err
	}
	if len(cmd) == 0 {
		return agent.ExecResult{}, errors.New("command: exec: no command")
	}
	sandbox := filepath.Join(r.taskDir(taskID), dirSandbox)
	path, err := lookPath(cmd[0], sandbox, lookupEnv(rec.Env, "PATH"))
	if err != nil {
		return agent.ExecResult{}, fmt.Errorf("command: exec in %s: %w", taskID, err)
	}
	c := exec.CommandContext(ctx, path, cmd[1:]...)
	c.Args[0] = cmd[0]
	c.Dir, c.Env = sandbox, rec.Env
	out := &agent.ExecOutput{}
	c.Stdout, c.Stderr = out, out
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if u := rec.User; u.Switch {
		c.SysProcAttr.Credential = &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: u.Groups}
	}
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
	err = c.Run()
	if ctx.Err() != nil {
		return agent.ExecResult{}, fmt.Errorf("command: exec in %s: %w", taskID, ctx.Err())
	}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return agent.ExecResult{ExitCode: ee.ExitCode(), Output: out.String()}, nil
	case err != nil:
		return agent.ExecResult{}, fmt.Errorf("command: exec in %s: %w", taskID, err)
	}
	return agent.ExecResult{ExitCode: 0, Output: out.String()}, nil
}
