package agent_test

import (
	"testing"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/agent/memruntime"
)

// TestSandboxReads: the agent answers reads of its host commands' sandbox
// files on its own subject; a runtime without sandboxes has none; a
// malformed read is told so.
func TestSandboxReads(t *testing.T) {
	h := newHarness(t, func(h *harness) { h.host = memruntime.New() })
	h.send(launchCmd("web.1", 1))
	h.waitStatus("web.1", events.TaskRunning)
	cmd := "sleep 1000"
	h.send(events.Command{Kind: events.CommandLaunch, TaskID: "cmd.1", AppID: "/cmd", Epoch: 1, Launch: &events.LaunchSpec{
		App: marathon.App{ID: "/cmd", Version: "2026-01-01T00:00:00.000Z", Cmd: &cmd}}})
	h.waitStatus("cmd.1", events.TaskRunning)

	read := func(data []byte) events.SandboxFile {
		t.Helper()
		m, err := h.nc.Request(events.AgentSandbox(h.id), data, wait)
		if err != nil {
			t.Fatal(err)
		}
		f, err := events.Decode[events.SandboxFile](m.Data)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	ask := func(taskID, path string, offset, length int64) events.SandboxFile {
		t.Helper()
		data, err := events.Encode(events.SandboxRead{V: events.Version, TaskID: taskID, Path: path, Offset: offset, Length: length})
		if err != nil {
			t.Fatal(err)
		}
		return read(data)
	}
	if f := ask("cmd.1", "stdout", -1, events.SandboxTail); string(f.Data) != "hello\n" || f.Size != 6 || f.Code != "" {
		t.Errorf("stdout: %+v", f)
	}
	if f := ask("cmd.1", "stdout", 2, 2); string(f.Data) != "ll" || f.Offset != 2 {
		t.Errorf("stdout at 2 for 2: %+v", f)
	}
	for _, tc := range []struct {
		name string
		f    events.SandboxFile
		code string
	}{
		{"a container's", ask("web.1", "stdout", -1, 10), events.SandboxNotCommand},
		{"a file not there", ask("cmd.1", "nope", -1, 10), events.SandboxNotFound},
		{"traversal", ask("cmd.1", "../launch.json", -1, 10), events.SandboxBadRequest},
		{"too long a read", ask("cmd.1", "stdout", 0, events.SandboxMaxRead+1), events.SandboxBadRequest},
		{"not JSON", read([]byte("{")), events.SandboxBadRequest},
		{"another version", read([]byte(`{"v":99,"taskId":"cmd.1","path":"stdout"}`)), events.SandboxBadRequest},
	} {
		if tc.f.Code != tc.code || tc.f.Error == "" || len(tc.f.Data) > 0 {
			t.Errorf("%s: %+v, want code %s and why", tc.name, tc.f, tc.code)
		}
	}
}
