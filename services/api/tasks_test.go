package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/drover/drover/pkg/events"
)

type taskList struct {
	Tasks []object `json:"tasks"`
}

func taskIDs(tasks []object) []string {
	ids := make([]string, len(tasks))
	for i, tk := range tasks {
		ids[i], _ = tk["id"].(string)
	}
	return ids
}

// seedTasks creates two apps and gives them instances in several states.
func seedTasks(h *harness) {
	h.t.Helper()
	h.createApp(`{"id":"/web","container":{"docker":{"image":"httpd","network":"BRIDGE",
		"portMappings":[{"containerPort":80,"servicePort":10000},{"containerPort":443,"servicePort":10001}]}}}`)
	h.createApp(`{"id":"/grp/worker","cmd":"work","portDefinitions":[]}`)
	staged := time.Date(2024, 5, 1, 10, 0, 0, 123_000_000, time.UTC)
	started := staged.Add(2 * time.Second)
	h.putInstance(events.Instance{TaskID: "web.1", AppID: "/web", Version: "2024-05-01T09:00:00.000Z", AgentID: "agent-1",
		Host: "host1", HostPorts: []int{31000, 31001}, IPAddress: "10.0.0.1", State: events.TaskRunning,
		StagedAt: staged, StartedAt: started})
	h.putInstance(events.Instance{TaskID: "web.2", AppID: "/web", AgentID: "agent-2", Host: "host2",
		HostPorts: []int{31005, 31006}, State: events.TaskRunning, StagedAt: staged, StartedAt: started})
	h.putInstance(events.Instance{TaskID: "web.3", AppID: "/web", AgentID: "agent-3", Host: "host3", State: events.TaskStaging, StagedAt: staged})
	h.putInstance(events.Instance{TaskID: "web.0", AppID: "/web", AgentID: "agent-3", Host: "host3", State: events.TaskKilled, StagedAt: staged})
	h.putInstance(events.Instance{TaskID: "grp_worker.1", AppID: "/grp/worker", AgentID: "agent-1", Host: "host1",
		State: events.TaskRunning, StagedAt: staged})
	waitFor(h.t, func() bool {
		return len(expect[taskList](h.t, h.do(http.MethodGet, "/v2/tasks", ""), http.StatusOK).Tasks) == 4
	})
}

func TestAppTasks(t *testing.T) {
	h := newHarness(t)
	seedTasks(h)
	tasks := expect[taskList](t, h.do(http.MethodGet, "/v2/apps/web/tasks", ""), http.StatusOK).Tasks
	if ids := taskIDs(tasks); !equalJSON(t, ids, []string{"web.1", "web.2", "web.3"}) {
		t.Fatalf("tasks = %v, want the live ones", ids)
	}
	want := object{
		"id": "web.1", "appId": "/web", "host": "host1", "slaveId": "agent-1", "state": "TASK_RUNNING",
		"stagedAt": "2024-05-01T10:00:00.123Z", "startedAt": "2024-05-01T10:00:02.123Z",
		"version": "2024-05-01T09:00:00.000Z", "ports": []any{31000.0, 31001.0}, "servicePorts": []any{10000.0, 10001.0},
		"ipAddresses":  []any{object{"ipAddress": "10.0.0.1", "protocol": "IPv4"}},
		"localVolumes": []any{}, // no healthCheckResults: none yet
	}
	if !equalJSON(t, tasks[0], want) {
		t.Errorf("task = %v\nwant  %v", tasks[0], want)
	}
	if _, ok := tasks[2]["startedAt"]; ok {
		t.Errorf("staging task has startedAt: %v", tasks[2])
	}
	if ips := tasks[1]["ipAddresses"].([]any); len(ips) != 0 {
		t.Errorf("ipAddresses = %v, want []", ips)
	}

	group := expect[taskList](t, h.do(http.MethodGet, "/v2/apps/grp/*/tasks", ""), http.StatusOK).Tasks
	if ids := taskIDs(group); !equalJSON(t, ids, []string{"grp_worker.1"}) {
		t.Errorf("group tasks = %v", ids)
	}
	e := expect[errorBody](t, h.do(http.MethodGet, "/v2/apps/nope/tasks", ""), http.StatusNotFound)
	if e.Message != "App '/nope' does not exist" {
		t.Errorf("message %q", e.Message)
	}
}

func TestListTasks(t *testing.T) {
	h := newHarness(t)
	seedTasks(h)
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{"grp_worker.1", "web.1", "web.2", "web.3"}},
		{"?status=running", []string{"grp_worker.1", "web.1", "web.2"}},
		{"?status=staging", []string{"web.3"}},
		{"?status=running&status=staging", []string{"grp_worker.1", "web.1", "web.2", "web.3"}},
		{"?status=unknown", []string{"grp_worker.1", "web.1", "web.2", "web.3"}},
	}
	for _, tt := range tests {
		got := taskIDs(expect[taskList](t, h.do(http.MethodGet, "/v2/tasks"+tt.query, ""), http.StatusOK).Tasks)
		if !equalJSON(t, got, tt.want) {
			t.Errorf("GET /v2/tasks%s = %v, want %v", tt.query, got, tt.want)
		}
	}
}

func TestListTasksText(t *testing.T) {
	h := newHarness(t)
	seedTasks(h)
	rec := h.do(http.MethodGet, "/v2/tasks", "", "Accept: text/plain")
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("status %d, content type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	want := "grp_worker\t \thost1\t\n" +
		"web\t10000\thost1:31000\thost2:31005\t\n" +
		"web\t10001\thost1:31001\thost2:31006\t\n"
	if rec.Body.String() != want {
		t.Errorf("body:\n%q\nwant:\n%q", rec.Body.String(), want)
	}
	rec = h.do(http.MethodGet, "/v2/apps/web/tasks", "", "Accept: text/plain")
	if rec.Body.String() != "web\t10000\thost1:31000\thost2:31005\t\nweb\t10001\thost1:31001\thost2:31006\t\n" {
		t.Errorf("app tasks as text: %q", rec.Body.String())
	}
	// JSON wins when a client accepts both.
	expect[taskList](t, h.do(http.MethodGet, "/v2/tasks", "", "Accept: application/json, text/plain"), http.StatusOK)
}

func TestTaskRemovedWhenInstanceDeleted(t *testing.T) {
	h := newHarness(t)
	seedTasks(h)
	if err := h.bus.Instances.Delete(t.Context(), "web.3"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		return len(expect[taskList](t, h.do(http.MethodGet, "/v2/apps/web/tasks", ""), http.StatusOK).Tasks) == 2
	})
}
