package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/services/api/change"
)

func TestConformanceAppTasksAndKill(t *testing.T) {
	h := newHarness(t)
	h.createApp(`{"id":"/k","cmd":"x","instances":3}`)
	now := time.Now()
	for i, host := range []string{"h1", "h1", "h2"} {
		h.putInstance(events.Instance{TaskID: fmt.Sprintf("k.%d", i), AppID: "/k", Host: host, AgentID: host, Version: "2024-05-01T09:00:00.000Z",
			State: events.TaskRunning, StagedAt: now, StartedAt: now, HostPorts: []int{31000 + i}})
	}
	waitFor(t, func() bool { return h.getApp("/k")["tasksRunning"] == 3.0 })
	tasks := expect[struct{ Tasks []object }](t, h.do(http.MethodGet, "/v2/apps/k/tasks", ""), http.StatusOK).Tasks
	if len(tasks) != 3 {
		t.Fatalf("tasks %v", tasks)
	}
	for _, k := range []string{"id", "appId", "host", "slaveId", "state", "stagedAt", "startedAt", "version", "ports", "servicePorts", "ipAddresses", "localVolumes"} {
		if _, ok := tasks[0][k]; !ok {
			t.Errorf("task lacks %s: %v", k, tasks[0])
		}
	}
	// Kill on one host: {"tasks": [...]}, and a killTasks request.
	killed := expect[struct{ Tasks []object }](t, h.do(http.MethodDelete, "/v2/apps/k/tasks?host=h1", ""), http.StatusOK).Tasks
	if len(killed) != 2 || killed[0]["id"] != "k.0" || killed[1]["id"] != "k.1" {
		t.Errorf("killed %v", killed)
	}
	reqs := h.requests()
	if len(reqs) != 1 || reqs[0].Kind != events.RequestKillTasks || reqs[0].AppID != "/k" || !equalJSON(t, reqs[0].TaskIDs, []string{"k.0", "k.1"}) {
		t.Errorf("requests %+v", reqs)
	}
	// One task, with wipe.
	one := expect[struct{ Task object }](t, h.do(http.MethodDelete, "/v2/apps/k/tasks/k.2?wipe=true", ""), http.StatusOK).Task
	if one["id"] != "k.2" {
		t.Errorf("task %v", one)
	}
	if r := h.requests()[1]; !r.Wipe || !equalJSON(t, r.TaskIDs, []string{"k.2"}) {
		t.Errorf("wipe request %+v", r)
	}
	e := expect[errorBody](t, h.do(http.MethodDelete, "/v2/apps/k/tasks/k.9", ""), http.StatusNotFound)
	if e.Message != "Task 'k.9' does not exist" {
		t.Errorf("message %q", e.Message)
	}
	e = expect[errorBody](t, h.do(http.MethodDelete, "/v2/apps/k/tasks?scale=true&wipe=true", ""), http.StatusBadRequest)
	if e.Message != "You cannot use scale and wipe at the same time." {
		t.Errorf("message %q", e.Message)
	}
	// scale=true while the app's deployment runs: 409 unless force.
	expect[errorBody](t, h.do(http.MethodDelete, "/v2/apps/k/tasks/k.2?scale=true", ""), http.StatusConflict)
	res := expect[change.Result](t, h.do(http.MethodDelete, "/v2/apps/k/tasks/k.2?scale=true&force=true", ""), http.StatusOK)
	if a := h.getApp("/k"); a["instances"] != 2.0 || a["version"] != res.Version {
		t.Errorf("after kill and scale %v", a)
	}
	if r := h.requests(); len(r) != 3 || !equalJSON(t, r[2].TaskIDs, []string{"k.2"}) {
		t.Errorf("requests %+v", r)
	}
	expect[errorBody](t, h.do(http.MethodDelete, "/v2/apps/nope/tasks", ""), http.StatusNotFound)
}

func TestConformanceTasks(t *testing.T) {
	h := newHarness(t)
	h.createApp(`{"id":"/grp/t","container":{"docker":{"image":"httpd","network":"BRIDGE"},
		"portMappings":[{"containerPort":80,"servicePort":10000}]}}`)
	now := time.Now()
	h.putInstance(events.Instance{TaskID: "t.1", AppID: "/grp/t", Host: "h1", State: events.TaskRunning, StagedAt: now, HostPorts: []int{31001}})
	h.putInstance(events.Instance{TaskID: "t.2", AppID: "/grp/t", Host: "h2", State: events.TaskStaging, StagedAt: now})
	waitFor(t, func() bool { a := h.getApp("/grp/t"); return a["tasksRunning"] == 1.0 && a["tasksStaged"] == 1.0 })
	all := expect[struct{ Tasks []object }](t, h.do(http.MethodGet, "/v2/tasks", ""), http.StatusOK).Tasks
	running := expect[struct{ Tasks []object }](t, h.do(http.MethodGet, "/v2/tasks?status=running", ""), http.StatusOK).Tasks
	if len(all) != 2 || len(running) != 1 || running[0]["id"] != "t.1" {
		t.Errorf("all %v, running %v", all, running)
	}
	rec := h.do(http.MethodGet, "/v2/tasks", "", "Accept: text/plain")
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") ||
		rec.Body.String() != "grp_t\t10000\th1:31001\t\n" {
		t.Errorf("text: %d %q %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
	}
	killed := expect[struct{ Tasks []object }](t, h.do(http.MethodPost, "/v2/tasks/delete", `{"ids":["t.1","nope"]}`), http.StatusOK).Tasks
	if len(killed) != 1 || killed[0]["id"] != "t.1" {
		t.Errorf("killed %v", killed)
	}
	res := expect[change.Result](t, h.do(http.MethodPost, "/v2/tasks/delete?scale=true&force=true", `{"ids":["t.2"]}`), http.StatusOK)
	if res.DeploymentID == "" {
		t.Error("no deployment")
	}
	if a := h.getApp("/grp/t"); a["instances"] != 0.0 {
		t.Errorf("instances %v", a["instances"])
	}
	expect[errorBody](t, h.do(http.MethodPost, "/v2/tasks/delete", `{"ids":`), http.StatusBadRequest)
}
