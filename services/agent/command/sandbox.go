package command

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/drover/drover/services/agent"
	"github.com/drover/drover/services/agent/sandbox"
)

var _ agent.SandboxReader = (*Runtime)(nil)

// ReadSandbox reads a file of a task's sandbox (sandbox.ReadFile: through
// an os.Root on it, regular files only).
func (r *Runtime) ReadSandbox(_ context.Context, taskID, path string, offset, length int64) (agent.SandboxChunk, error) {
	if err := validTaskID(taskID); err != nil {
		return agent.SandboxChunk{}, fmt.Errorf("command: read sandbox: %w: %w", agent.ErrSandboxNotFound, err)
	}
	chunk, err := sandbox.ReadFile(filepath.Join(r.taskDir(taskID), dirSandbox), path, offset, length)
	if err != nil {
		return chunk, fmt.Errorf("command: read sandbox %s: %w", taskID, err)
	}
	return chunk, nil
}
