package docker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/drover/drover/pkg/events"
)

// Kill stops a task's container (its stop signal, then SIGKILL after grace)
// and removes it, and its sandbox, as the command runtime removes a killed
// task's directory at once. The task's end is TASK_KILLED, emitted once.
// A task without a container loses its sandbox, if it has one (a launch
// that died while fetching).
func (r *Runtime) Kill(ctx context.Context, taskID string, grace time.Duration) error {
	info, err := r.inspectTask(ctx, taskID)
	if errors.Is(err, errNoContainer) {
		r.removeSandbox(taskID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("docker: inspect %s: %w", ContainerName(r.cfg.AgentID, taskID), err)
	}
	r.mu.Lock()
	r.killing[taskID] = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.killing, taskID)
		r.mu.Unlock()
	}()
	secs := int(math.Ceil(max(grace, 0).Seconds()))
	if err := r.cli.ContainerStop(ctx, info.ID, container.StopOptions{Timeout: &secs}); err != nil && !isNotFound(err) {
		return fmt.Errorf("docker: stop %s: %w", info.Name, err)
	}
	err = r.cli.ContainerRemove(ctx, info.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !isNotFound(err) && !isConflict(err) { // conflict: removal already in progress
		return fmt.Errorf("docker: remove %s: %w", info.Name, err)
	}
	r.removeSandbox(taskID)
	rep := reportOf(info, true)
	rep.State, rep.Message = events.TaskKilled, ""
	rep.HostPorts, rep.IPAddress = nil, ""
	r.emit(rep, time.Now())
	r.log.Info("task killed", "task", taskID, "container", info.ID[:12], "grace", grace)
	return nil
}
