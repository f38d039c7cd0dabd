package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/services/agent"
)

var _ agent.SandboxReader = (*Runtime)(nil)

// ReadSandbox reads a file of a task's sandbox, through an os.Root on the
// sandbox: a path or a symbolic link that leads out of it is refused, and
// so is anything but a regular file (a FIFO the task made is opened
// without blocking, then refused).
func (r *Runtime) ReadSandbox(_ context.Context, taskID, path string, offset, length int64) (agent.SandboxChunk, error) {
	if err := validTaskID(taskID); err != nil {
		return agent.SandboxChunk{}, fmt.Errorf("command: read sandbox: %w: %w", agent.ErrSandboxNotFound, err)
	}
	if err := events.ValidSandboxPath(path); err != nil {
		return agent.SandboxChunk{}, fmt.Errorf("command: read sandbox: %w: %w", agent.ErrSandboxPath, err)
	}
	length = min(max(length, 0), events.SandboxMaxRead)
	root, err := os.OpenRoot(filepath.Join(r.taskDir(taskID), dirSandbox))
	if err != nil {
		return agent.SandboxChunk{}, sandboxErr(taskID, path, err)
	}
	defer root.Close()
	f, err := root.OpenFile(filepath.FromSlash(path), os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return agent.SandboxChunk{}, sandboxErr(taskID, path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return agent.SandboxChunk{}, sandboxErr(taskID, path, err)
	}
	if !st.Mode().IsRegular() {
		return agent.SandboxChunk{}, fmt.Errorf("command: read sandbox %s %s: %w", taskID, path, agent.ErrSandboxPath)
	}
	size := st.Size()
	if offset < 0 {
		offset = max(size-length, 0)
	}
	if offset >= size || length == 0 {
		return agent.SandboxChunk{Offset: offset, Size: size}, nil
	}
	buf := make([]byte, min(length, size-offset))
	n, err := f.ReadAt(buf, offset)
	if err != nil && !errors.Is(err, io.EOF) {
		return agent.SandboxChunk{}, fmt.Errorf("command: read sandbox %s %s: %w", taskID, path, err)
	}
	return agent.SandboxChunk{Data: buf[:n], Offset: offset, Size: size}, nil
}

// sandboxErr tells a task or file not there, and a path os.Root refused,
// from other failures.
func sandboxErr(taskID, path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("command: read sandbox %s %s: %w", taskID, path, agent.ErrSandboxNotFound)
	case isEscape(err):
		return fmt.Errorf("command: read sandbox %s %s: %w: %w", taskID, path, agent.ErrSandboxPath, err)
	}
	return fmt.Errorf("command: read sandbox %s %s: %w", taskID, path, err)
}

// isEscape: os.Root refused a path that leaves it ("path escapes from
// parent"), or a component that is no directory.
func isEscape(err error) bool {
	var pe *fs.PathError
	if !errors.As(err, &pe) {
		return false
	}
	return pe.Err.Error() == "path escapes from parent" || errors.Is(pe.Err, syscall.ENOTDIR) || errors.Is(pe.Err, syscall.ELOOP)
}
