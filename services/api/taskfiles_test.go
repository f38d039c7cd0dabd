package api

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/nats-io/nats.go"
)

// fakeSandboxAgent answers sandbox reads as an agent with one host command,
// cmd.1, whose stdout is "0123456789" and which serves 4 bytes a reply;
// web.1 runs in a container.
func fakeSandboxAgent(t *testing.T, nc *nats.Conn, agentID string) {
	t.Helper()
	stdout := []byte("0123456789")
	sub, err := nc.Subscribe(events.AgentSandbox(agentID), func(m *nats.Msg) {
		req, err := events.Decode[events.SandboxRead](m.Data)
		f := events.SandboxFile{V: events.Version}
		switch {
		case err != nil || req.Validate() != nil:
			f.Code, f.Error = events.SandboxBadRequest, "bad"
		case req.TaskID == "web.1":
			f.Code, f.Error = events.SandboxNotCommand, "container"
		case req.TaskID != "cmd.1" || req.Path != "stdout":
			f.Code, f.Error = events.SandboxNotFound, "none"
		default:
			size := int64(len(stdout))
			off := req.Offset
			if off < 0 {
				off = max(size-req.Length, 0)
			}
			from := min(off, size)
			f.Data, f.Offset, f.Size = stdout[from:min(from+min(req.Length, 4), size)], off, size
		}
		data, _ := events.Encode(f)
		_ = m.Respond(data)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := nc.FlushTimeout(5 * time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestTaskFiles: GET /v2/tasks/{id}/files/{path} reads a host command's
// sandbox file from its agent, in as many replies as it takes; says 404 for
// what is not there, 400 for what is malformed, 503 and 504 for an agent
// that does not answer.
func TestTaskFiles(t *testing.T) {
	h := newHarness(t)
	nc := h.js.Connect(t)
	fakeSandboxAgent(t, nc, "a1")
	silent, err := nc.Subscribe(events.AgentSandbox("a3"), func(*nats.Msg) {})
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Unsubscribe()
	h.srv.sandboxWait = 300 * time.Millisecond
	for _, in := range []events.Instance{
		{TaskID: "cmd.1", AppID: "/cmd", AgentID: "a1", State: events.TaskRunning, Runtime: events.RuntimeCommand},
		{TaskID: "web.1", AppID: "/web", AgentID: "a1", State: events.TaskRunning},
		{TaskID: "gone.1", AppID: "/cmd", AgentID: "a2", State: events.TaskRunning, Runtime: events.RuntimeCommand},
		{TaskID: "slow.1", AppID: "/cmd", AgentID: "a3", State: events.TaskRunning, Runtime: events.RuntimeCommand},
	} {
		h.putInstance(in)
	}
	testutil.Eventually(t, 10*time.Second, 20*time.Millisecond, func() error {
		if rec := h.do(http.MethodGet, "/v2/tasks/slow.1/files/stdout", ""); rec.Code == http.StatusNotFound {
			return errors.New("the read model lacks the instances")
		}
		return nil
	})

	for _, tc := range []struct {
		query        string
		data         string
		offset, size int64
	}{
		{"", "0123456789", 0, 10},
		{"?length=3", "789", 7, 10},
		{"?offset=2&length=5", "23456", 2, 10},
		{"?offset=-1&length=9", "123456789", 1, 10},
		{"?offset=20", "", 20, 10},
		{"?offset=0&length=0", "", 0, 10},
	} {
		got := expect[TaskFile](t, h.do(http.MethodGet, "/v2/tasks/cmd.1/files/stdout"+tc.query, ""), http.StatusOK)
		if got.Data != tc.data || got.Offset != tc.offset || got.Size != tc.size {
			t.Errorf("%s: %+v, want %q at %d of %d", tc.query, got, tc.data, tc.offset, tc.size)
		}
	}
	if rec := h.do(http.MethodHead, "/v2/tasks/cmd.1/files/stdout", ""); rec.Code != http.StatusOK {
		t.Errorf("HEAD: %d", rec.Code)
	}
	for _, tc := range []struct {
		path   string
		status int
		msg    string
	}{
		{"/v2/tasks/nope.1/files/stdout", http.StatusNotFound, "Task 'nope.1' does not exist"},
		{"/v2/tasks/cmd.1/files/stderr", http.StatusNotFound, "File 'stderr' of task 'cmd.1' does not exist"},
		{"/v2/tasks/web.1/files/stdout", http.StatusNotFound, "has no sandbox on its agent"},
		{"/v2/tasks/cmd.1/files/..%2Flaunch.json", http.StatusBadRequest, "inside the task's sandbox"},
		{"/v2/tasks/cmd.1/files/a/../../x", http.StatusBadRequest, ""},
		{"/v2/tasks/cmd.1/files/stdout?offset=x", http.StatusBadRequest, "offset"},
		{"/v2/tasks/cmd.1/files/stdout?offset=-2", http.StatusBadRequest, "offset"},
		{"/v2/tasks/cmd.1/files/stdout?length=1048577", http.StatusBadRequest, "length"},
		{"/v2/tasks/cmd.1/files/stdout?length=-1", http.StatusBadRequest, "length"},
		{"/v2/tasks/gone.1/files/stdout", http.StatusServiceUnavailable, "Agent 'a2' did not answer"},
		{"/v2/tasks/slow.1/files/stdout", http.StatusGatewayTimeout, "Agent 'a3' did not answer"},
	} {
		rec := h.do(http.MethodGet, tc.path, "")
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.msg) {
			t.Errorf("%s: %d %s, want %d with %q", tc.path, rec.Code, rec.Body.String(), tc.status, tc.msg)
		}
	}
}
