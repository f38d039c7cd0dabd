package sandbox

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/services/agent"
)

// TestReadFile: a tail, an offset, a file in a directory, a link that
// stays inside; and links out of the sandbox, a FIFO, a directory, a
// traversal refused without blocking or showing what they lead to.
func TestReadFile(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "sandbox")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Mkdir(dir, 0o755))
	must(os.WriteFile(filepath.Join(parent, "secret"), []byte("root: secret"), 0o600))
	must(os.WriteFile(filepath.Join(dir, "stdout"), []byte("line one\nline two\n"), 0o644))
	must(os.MkdirAll(filepath.Join(dir, "d"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "d", "f.txt"), []byte("inside\n"), 0o644))
	must(os.Symlink("/etc/passwd", filepath.Join(dir, "out")))
	must(os.Symlink("../secret", filepath.Join(dir, "up")))
	must(os.Symlink("d/f.txt", filepath.Join(dir, "in")))
	must(syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644))

	for _, tc := range []struct {
		path           string
		offset, length int64
		data           string
		at, size       int64
	}{
		{"stdout", -1, events.SandboxTail, "line one\nline two\n", 0, 18},
		{"stdout", -1, 9, "line two\n", 9, 18},
		{"stdout", 5, 3, "one", 5, 18},
		{"stdout", 100, 10, "", 100, 18},
		{"d/f.txt", 0, 100, "inside\n", 0, 7},
		{"in", 0, 100, "inside\n", 0, 7},
	} {
		got, err := ReadFile(dir, tc.path, tc.offset, tc.length)
		if err != nil || string(got.Data) != tc.data || got.Offset != tc.at || got.Size != tc.size {
			t.Errorf("%s at %d for %d: %q at %d of %d, %v; want %q at %d of %d", tc.path, tc.offset, tc.length,
				got.Data, got.Offset, got.Size, err, tc.data, tc.at, tc.size)
		}
	}
	for _, tc := range []struct {
		dir, path string
		want      error
	}{
		{dir, "out", agent.ErrSandboxPath},
		{dir, "up", agent.ErrSandboxPath},
		{dir, "../secret", agent.ErrSandboxPath},
		{dir, "/etc/passwd", agent.ErrSandboxPath},
		{dir, "d/../../secret", agent.ErrSandboxPath},
		{dir, "pipe", agent.ErrSandboxPath},
		{dir, "d", agent.ErrSandboxPath},
		{dir, "missing", agent.ErrSandboxNotFound},
		{filepath.Join(parent, "gone"), "stdout", agent.ErrSandboxNotFound},
	} {
		got, err := ReadFile(tc.dir, tc.path, -1, events.SandboxTail)
		if !errors.Is(err, tc.want) || len(got.Data) > 0 {
			t.Errorf("%s: %q, %v; want %v", tc.path, got.Data, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "root:") {
			t.Errorf("%s: the error shows a file's content: %v", tc.path, err)
		}
	}
}
