package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/drover/drover/services/agent"
)

var (
	_ agent.Execer        = (*Runtime)(nil)
	_ agent.CheckRecaller = (*Runtime)(nil)
)

// RecallChecks reads a task's check spec from its container's LabelChecks.
func (r *Runtime) RecallChecks(ctx context.Context, taskID string) (agent.CheckSpec, error) {
	info, err := r.inspectTask(ctx, taskID)
	if err != nil {
		return agent.CheckSpec{}, fmt.Errorf("docker: inspect %s: %w", taskID, err)
	}
	var cs agent.CheckSpec
	if info.Config == nil || info.Config.Labels[LabelChecks] == "" {
		return cs, nil
	}
	if err := json.Unmarshal([]byte(info.Config.Labels[LabelChecks]), &cs); err != nil {
		return agent.CheckSpec{}, fmt.Errorf("docker: label %s of %s: %w", LabelChecks, taskID, err)
	}
	return cs, nil
}

// Exec runs cmd in the task's container (docker exec) and returns its exit
// code and the start of its output. When ctx ends first, the command is left
// to finish in the container and Exec returns ctx's error.
func (r *Runtime) Exec(ctx context.Context, taskID string, cmd []string) (agent.ExecResult, error) {
	if err := r.ready(ctx); err != nil {
		return agent.ExecResult{}, fmt.Errorf("docker: %w", err)
	}
	name := ContainerName(r.cfg.AgentID, taskID)
	created, err := r.cli.ContainerExecCreate(ctx, name, container.ExecOptions{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return agent.ExecResult{}, fmt.Errorf("docker: exec in %s: %w", name, err)
	}
	att, err := r.cli.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return agent.ExecResult{}, fmt.Errorf("docker: exec in %s: %w", name, err)
	}
	stop := context.AfterFunc(ctx, att.Close) // unblocks the read below
	out := &agent.ExecOutput{}
	_, copyErr := stdcopy.StdCopy(out, out, att.Reader)
	stop()
	att.Close()
	if ctx.Err() != nil {
		return agent.ExecResult{}, fmt.Errorf("docker: exec in %s: %w", name, ctx.Err())
	}
	if copyErr != nil {
		return agent.ExecResult{}, fmt.Errorf("docker: exec in %s: read output: %w", name, copyErr)
	}
	// The output ends when the process does; its exit code follows shortly.
	for {
		ins, err := r.cli.ContainerExecInspect(ctx, created.ID)
		if err != nil {
			return agent.ExecResult{}, fmt.Errorf("docker: exec in %s: inspect: %w", name, err)
		}
		if !ins.Running {
			return agent.ExecResult{ExitCode: ins.ExitCode, Output: out.String()}, nil
		}
		select {
		case <-ctx.Done():
			return agent.ExecResult{}, fmt.Errorf("docker: exec in %s: %w", name, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}
