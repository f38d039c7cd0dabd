package api

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
)

type appList struct {
	Apps []object `json:"apps"`
}

func appIDs(apps []object) []string {
	ids := make([]string, len(apps))
	for i, a := range apps {
		ids[i], _ = a["id"].(string)
	}
	return ids
}

func TestListApps(t *testing.T) {
	h := newHarness(t)
	if got := expect[appList](t, h.do(http.MethodGet, "/v2/apps", ""), http.StatusOK); got.Apps == nil || len(got.Apps) != 0 {
		t.Fatalf("empty list = %#v, want {\"apps\": []}", got)
	}
	h.createApp(`{"id":"/prod/web","cmd":"httpd -f","labels":{"tier":"front","env":"prod"}}`)
	h.createApp(`{"id":"/dev/web","cmd":"httpd -f","labels":{"tier":"front","env":"dev"}}`)
	h.createApp(`{"id":"/prod/db","cmd":"postgres","labels":{"tier":"back"}}`)

	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{"/dev/web", "/prod/db", "/prod/web"}},
		{"?id=prod", []string{"/prod/db", "/prod/web"}},
		{"?id=WEB", []string{"/dev/web", "/prod/web"}},
		{"?cmd=postgres", []string{"/prod/db"}},
		{"?label=tier==front", []string{"/dev/web", "/prod/web"}},
		{"?label=tier", []string{"/dev/web", "/prod/db", "/prod/web"}},
		{"?label=env", []string{"/dev/web", "/prod/web"}},
		{"?label=env!=dev", []string{"/prod/db", "/prod/web"}},
		{"?label=env+in+(dev,qa)", []string{"/dev/web"}},
		{"?label=tier==front,env==prod", []string{"/prod/web"}},
		{"?id=nothing", []string{}},
	}
	for _, tt := range tests {
		got := appIDs(expect[appList](t, h.do(http.MethodGet, "/v2/apps"+tt.query, ""), http.StatusOK).Apps)
		if !equalJSON(t, got, tt.want) {
			t.Errorf("GET /v2/apps%s = %v, want %v", tt.query, got, tt.want)
		}
	}
	e := expect[errorBody](t, h.do(http.MethodGet, "/v2/apps?label=a+in+b", ""), http.StatusBadRequest)
	if e.Message != "Invalid label selector: a in b" {
		t.Errorf("message %q", e.Message)
	}
}

func TestListAppsCountsAndEmbeds(t *testing.T) {
	h := newHarness(t)
	created := h.createApp(testDocker)
	depID := created["deployments"].([]any)[0].(object)["id"]
	now := time.Now()
	h.putInstance(events.Instance{TaskID: "t1", AppID: "/test-docker", State: events.TaskRunning, Host: "h1", StagedAt: now})
	h.putInstance(events.Instance{TaskID: "t2", AppID: "/test-docker", State: events.TaskStaging, Host: "h2", StagedAt: now})
	h.putInstance(events.Instance{TaskID: "t3", AppID: "/test-docker", State: events.TaskStarting, Host: "h3", StagedAt: now})
	h.putInstance(events.Instance{TaskID: "t4", AppID: "/test-docker", State: events.TaskFailed, Host: "h4",
		Message: "exited 1", StagedAt: now, UpdatedAt: now})

	var app object
	waitFor(t, func() bool {
		apps := expect[appList](t, h.do(http.MethodGet, "/v2/apps", ""), http.StatusOK).Apps
		app = apps[0]
		return app["tasksRunning"] == 1.0 && app["tasksStaged"] == 2.0
	})
	if app["tasksHealthy"] != 0.0 || app["tasksUnhealthy"] != 0.0 {
		t.Errorf("health counts = %v, %v", app["tasksHealthy"], app["tasksUnhealthy"])
	}
	if deps := app["deployments"].([]any); len(deps) != 1 || deps[0].(object)["id"] != depID {
		t.Errorf("deployments = %v, want [{id: %v}]", deps, depID)
	}
	if _, ok := app["tasks"]; ok {
		t.Error("tasks listed without embed=apps.tasks")
	}
	if _, ok := app["lastTaskFailure"]; ok {
		t.Error("lastTaskFailure listed without embed")
	}

	waitFor(t, func() bool { // the failed task is the last record written
		app = expect[appList](t, h.do(http.MethodGet, "/v2/apps?embed=apps.tasks&embed=apps.lastTaskFailure", ""), http.StatusOK).Apps[0]
		return app["lastTaskFailure"] != nil
	})
	if tasks := app["tasks"].([]any); len(tasks) != 3 {
		t.Errorf("embedded tasks = %v, want the 3 live ones", tasks)
	}
	ltf := app["lastTaskFailure"].(object)
	if ltf["taskId"] != "t4" || ltf["state"] != "TASK_FAILED" || ltf["message"] != "exited 1" || ltf["host"] != "h4" {
		t.Errorf("lastTaskFailure = %v", ltf)
	}

	// When the scheduler finishes the deployment, the app shows none.
	if err := h.bus.Deployments.Delete(t.Context(), depID.(string)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		apps := expect[appList](t, h.do(http.MethodGet, "/v2/apps", ""), http.StatusOK).Apps
		return len(apps[0]["deployments"].([]any)) == 0
	})
}

func TestGetApp(t *testing.T) {
	h := newHarness(t)
	h.createApp(testDocker)
	h.putInstance(events.Instance{TaskID: "test-docker.1", AppID: "/test-docker", State: events.TaskRunning, Host: "h1",
		AgentID: "a1", HostPorts: []int{31000}, StagedAt: time.Now()})

	for _, path := range []string{"/v2/apps/test-docker", "/v2/apps//test-docker", "/v2/apps/test-docker/", "/v2/apps/%2Ftest-docker"} {
		var app object
		waitFor(t, func() bool {
			app = expect[struct{ App object }](t, h.do(http.MethodGet, path, ""), http.StatusOK).App
			return app["tasksRunning"] == 1.0
		})
		if app["id"] != "/test-docker" {
			t.Errorf("%s: id %v", path, app["id"])
		}
		tasks, ok := app["tasks"].([]any)
		if !ok || len(tasks) != 1 || tasks[0].(object)["id"] != "test-docker.1" {
			t.Errorf("%s: tasks %v", path, app["tasks"])
		}
		if len(app["deployments"].([]any)) != 1 {
			t.Errorf("%s: deployments %v", path, app["deployments"])
		}
	}
	for _, path := range []string{"/v2/apps/nope", "/v2/apps/a/b/c", "/v2/apps/BAD_ID", "/v2/apps/nope/tasks"} {
		e := expect[errorBody](t, h.do(http.MethodGet, path, ""), http.StatusNotFound)
		if e.Message == "" || e.Message[:5] != "App '" {
			t.Errorf("%s: message %q", path, e.Message)
		}
	}
	e := expect[errorBody](t, h.do(http.MethodGet, "/v2/apps/a/b/c", ""), http.StatusNotFound)
	if e.Message != "App '/a/b/c' does not exist" {
		t.Errorf("message %q", e.Message)
	}
	// A trailing slash lists.
	if apps := expect[appList](t, h.do(http.MethodGet, "/v2/apps/", ""), http.StatusOK).Apps; len(apps) != 1 {
		t.Errorf("GET /v2/apps/ = %v", apps)
	}
}

func TestGetGroupApps(t *testing.T) {
	h := newHarness(t)
	h.createApp(`{"id":"/grp/a","cmd":"x"}`)
	h.createApp(`{"id":"/grp/sub/b","cmd":"x"}`)
	h.createApp(`{"id":"/grpx","cmd":"x"}`)
	got := expect[map[string][]object](t, h.do(http.MethodGet, "/v2/apps/grp/*", ""), http.StatusOK)
	if ids := appIDs(got["*"]); !equalJSON(t, ids, []string{"/grp/a", "/grp/sub/b"}) {
		t.Errorf("group apps = %v", ids)
	}
	got = expect[map[string][]object](t, h.do(http.MethodGet, "/v2/apps/*", ""), http.StatusOK)
	if len(got["*"]) != 3 {
		t.Errorf("root group apps = %v", appIDs(got["*"]))
	}
}

// waitFor polls cond for a few seconds, failing the test if it never holds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, 5*time.Second, 10*time.Millisecond, func() error {
		if cond() {
			return nil
		}
		return errors.New("condition does not hold")
	})
}
