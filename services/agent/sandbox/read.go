package sandbox

import (
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

// ReadFile reads up to length bytes (at most events.SandboxMaxRead) of
// the file at path, relative to the sandbox dir, from offset, or (offset
// < 0) its last length bytes, as agent.SandboxReader's ReadSandbox does.
// It reads through an os.Root on dir: a path or a symbolic link that
// leads out of it is refused, and so is anything but a regular file (a
// FIFO the task made is opened without blocking, then refused). Errors
// wrap agent.ErrSandboxNotFound for a sandbox or file not there,
// agent.ErrSandboxPath for a path refused.
func ReadFile(dir, path string, offset, length int64) (agent.SandboxChunk, error) {
	if err := events.ValidSandboxPath(path); err != nil {
		return agent.SandboxChunk{}, fmt.Errorf("%w: %w", agent.ErrSandboxPath, err)
	}
	length = min(max(length, 0), events.SandboxMaxRead)
	root, err := os.OpenRoot(dir)
	if err != nil {
		return agent.SandboxChunk{}, readErr(path, err)
	}
	defer root.Close()
	f, err := root.OpenFile(filepath.FromSlash(path), os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return agent.SandboxChunk{}, readErr(path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return agent.SandboxChunk{}, readErr(path, err)
	}
	if !st.Mode().IsRegular() {
		return agent.SandboxChunk{}, fmt.Errorf("%s: %w", path, agent.ErrSandboxPath)
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
		return agent.SandboxChunk{}, fmt.Errorf("%s: %w", path, err)
	}
	return agent.SandboxChunk{Data: buf[:n], Offset: offset, Size: size}, nil
}

// readErr tells a sandbox or file not there, and a path os.Root refused,
// from other failures.
func readErr(path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: %w", path, agent.ErrSandboxNotFound)
	case isEscape(err):
		return fmt.Errorf("%s: %w: %w", path, agent.ErrSandboxPath, err)
	}
	return fmt.Errorf("%s: %w", path, err)
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
