package command

import (
	"errors"
	"strings"
	"testing"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/services/agent"
)

// TestReadSandbox: stdout and stderr, a tail, an offset, a file the task
// made; and what a hostile task makes of its sandbox (links out of it, a
// FIFO, a directory) is refused, without blocking.
func TestReadSandbox(t *testing.T) {
	r := newRuntime(t, sandboxRoot(t))
	id := "files.instance-1._app.1"
	cmd := `printf 'line one\nline two\n'; echo oops >&2; mkdir -p d; echo inside > d/f.txt;
ln -s /etc/passwd out; ln -s ../launch.json up; ln -s d/f.txt in; mkfifo pipe; echo done > ready`
	if _, err := r.Launch(t.Context(), id, cmdSpec(cmd)); err != nil {
		t.Fatal(err)
	}
	waitState(t, r, id, events.TaskFinished)
	for _, tc := range []struct {
		path           string
		offset, length int64
		data           string
		at, size       int64
	}{
		{"stdout", -1, events.SandboxTail, "line one\nline two\n", 0, 18},
		{"stdout", -1, 9, "line two\n", 9, 18},
		{"stdout", 5, 3, "one", 5, 18},
		{"stdout", 18, 10, "", 18, 18},
		{"stdout", 100, 10, "", 100, 18},
		{"stderr", -1, events.SandboxTail, "oops\n", 0, 5},
		{"d/f.txt", 0, 100, "inside\n", 0, 7},
		{"in", 0, 100, "inside\n", 0, 7}, // a link that stays inside
	} {
		got, err := r.ReadSandbox(t.Context(), id, tc.path, tc.offset, tc.length)
		if err != nil || string(got.Data) != tc.data || got.Offset != tc.at || got.Size != tc.size {
			t.Errorf("%s at %d for %d: %q at %d of %d, %v; want %q at %d of %d", tc.path, tc.offset, tc.length,
				got.Data, got.Offset, got.Size, err, tc.data, tc.at, tc.size)
		}
	}
	for _, tc := range []struct {
		task, path string
		want       error
	}{
		{id, "out", agent.ErrSandboxPath},            // a link to /etc/passwd
		{id, "up", agent.ErrSandboxPath},             // a link to the task's directory, root's
		{id, "../launch.json", agent.ErrSandboxPath}, // traversal
		{id, "/etc/passwd", agent.ErrSandboxPath},
		{id, "d/../../launch.json", agent.ErrSandboxPath},
		{id, "pipe", agent.ErrSandboxPath}, // a FIFO: would block a reader
		{id, "d", agent.ErrSandboxPath},
		{id, "missing", agent.ErrSandboxNotFound},
		{"other.instance-1._app.1", "stdout", agent.ErrSandboxNotFound},
		{"../test-agent", "stdout", agent.ErrSandboxNotFound},
	} {
		got, err := r.ReadSandbox(t.Context(), tc.task, tc.path, -1, events.SandboxTail)
		if !errors.Is(err, tc.want) || len(got.Data) > 0 {
			t.Errorf("%s %s: %q, %v; want %v", tc.task, tc.path, got.Data, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "root:") {
			t.Errorf("%s %s: the error shows a file's content: %v", tc.task, tc.path, err)
		}
	}
}
