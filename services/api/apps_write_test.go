package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/api/change"
)

func TestCreateApp(t *testing.T) {
	h := newHarness(t)
	rec := h.do(http.MethodPost, "/v2/apps", testDocker)
	app := expect[object](t, rec, http.StatusCreated)

	if loc := rec.Header().Get("Location"); loc != "/v2/apps/test-docker" {
		t.Errorf("Location = %q", loc)
	}
	depID := rec.Header().Get(HeaderDeploymentID)
	if depID == "" {
		t.Fatal("no Marathon-Deployment-Id header")
	}
	if app["id"] != "/test-docker" || app["instances"] != 3.0 || app["cpus"] != 0.5 || app["mem"] != 64.0 {
		t.Errorf("echoed app: %v", app)
	}
	for k, want := range map[string]any{
		"disk": 0.0, "gpus": 0.0, "backoffSeconds": 1.0, "backoffFactor": 1.15, "maxLaunchDelaySeconds": 300.0,
		"killSelection": "YOUNGEST_FIRST", "requirePorts": false,
		"tasksStaged": 0.0, "tasksRunning": 0.0, "tasksHealthy": 0.0, "tasksUnhealthy": 0.0,
	} {
		if app[k] != want {
			t.Errorf("%s = %v, want %v", k, app[k], want)
		}
	}
	if tasks, ok := app["tasks"].([]any); !ok || len(tasks) != 0 {
		t.Errorf("tasks = %#v, want []", app["tasks"])
	}
	deps := app["deployments"].([]any)
	if len(deps) != 1 || deps[0].(object)["id"] != depID {
		t.Errorf("deployments = %v, want [{id: %s}]", deps, depID)
	}
	version, _ := app["version"].(string)
	if _, err := time.Parse(events.TimeFormat, version); err != nil || len(version) != len("2006-01-02T15:04:05.000Z") {
		t.Errorf("version %q is not ISO-8601 with millis: %v", version, err)
	}
	vi := app["versionInfo"].(object)
	if vi["lastScalingAt"] != version || vi["lastConfigChangeAt"] != version {
		t.Errorf("versionInfo = %v, want both %s", vi, version)
	}
	docker := app["container"].(object)["docker"].(object)
	if docker["image"] != "httpd" || docker["network"] != "BRIDGE" || docker["privileged"] != true {
		t.Errorf("docker = %v", docker)
	}

	// The record in the apps bucket.
	entry, err := h.bus.Apps.Get(context.Background(), "test-docker")
	if err != nil {
		t.Fatalf("apps bucket: %v", err)
	}
	ar, err := events.Decode[events.AppRecord](entry.Value())
	if err != nil {
		t.Fatal(err)
	}
	if ar.App.ID != "/test-docker" || ar.DeploymentID != depID || *ar.App.Instances != 3 || ar.App.Version != version {
		t.Errorf("app record = %+v", ar)
	}

	// The deployment that starts it.
	entry, err = h.bus.Deployments.Get(context.Background(), depID)
	if err != nil {
		t.Fatalf("deployments bucket: %v", err)
	}
	d, err := events.Decode[events.Deployment](entry.Value())
	if err != nil {
		t.Fatal(err)
	}
	want := [][]events.DeploymentAction{{{Action: "StartApplication", App: "/test-docker"}}, {{Action: "ScaleApplication", App: "/test-docker"}}}
	if d.ID != depID || d.Version != version || len(d.AffectedApps) != 1 || d.AffectedApps[0] != "/test-docker" ||
		!equalJSON(t, d.Steps, want) {
		t.Errorf("deployment = %+v", d)
	}

	// Read your writes: the app is readable at once from this replica.
	got := expect[object](t, h.do(http.MethodGet, "/v2/apps/test-docker", ""), http.StatusOK)
	if got["app"].(object)["version"] != version {
		t.Errorf("GET after POST: %v", got)
	}
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func TestCreateAppTwiceConflicts(t *testing.T) {
	h := newHarness(t)
	h.createApp(testDocker)
	for _, body := range []string{testDocker, strings.Replace(testDocker, `"test-docker"`, `"/test-docker"`, 1)} {
		e := expect[errorBody](t, h.do(http.MethodPost, "/v2/apps", body), http.StatusConflict)
		if e.Message != "An app with id [/test-docker] already exists." {
			t.Errorf("message %q", e.Message)
		}
	}
	// "/test-docker" and "test-docker" are one app.
	list := expect[struct{ Apps []object }](t, h.do(http.MethodGet, "/v2/apps", ""), http.StatusOK)
	if len(list.Apps) != 1 {
		t.Errorf("%d apps, want 1", len(list.Apps))
	}
}

func TestCreateAppRelativeIDsResolve(t *testing.T) {
	h := newHarness(t)
	app := h.createApp(`{"id":"/prod/../web/./api","cmd":"x","dependencies":["db","../cache"]}`)
	if app["id"] != "/web/api" {
		t.Errorf("id = %v", app["id"])
	}
	if deps := app["dependencies"].([]any); len(deps) != 2 || deps[0] != "/web/db" || deps[1] != "/cache" {
		t.Errorf("dependencies = %v", deps)
	}
}

func TestCreateAppInvalid(t *testing.T) {
	h := newHarness(t)
	appJSON := func() string {
		t.Helper()
		b, err := json.Marshal(map[string]any{
			"id": "/foo", "cmd": "sleep 1000", "args": []string{"sleep", "100"},
			"cpus": 0, "upgradeStrategy": map[string]any{"minimumHealthCapacity": 1.5},
			"constraints": [][]string{{"hostname", "LIKE"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tests := []struct {
		name, body, path, msg string
	}{
		{"cmd and args", appJSON(), "/", "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'."},
		{"cpus", appJSON(), "/cpus", "got 0.0, expected 0.001 or more"},
		{"upgrade strategy", appJSON(), "/upgradeStrategy/minimumHealthCapacity", "is greater than 1"},
		{"constraint", appJSON(), "/constraints(0)", "A regular expression value must be provided"},
		{"bad id", `{"id":"Web_1","cmd":"x"}`, "/id",
			`must fully match regular expression '^(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])|(\.|\.\.)$'`},
		{"reserved id", `{"id":"/web/tasks","cmd":"x"}`, "/id",
			"must not end with any of the following reserved keywords: restart, tasks, versions"},
		{"empty id", `{"id":"","cmd":"x"}`, "/id", "Path must contain at least one path element"},
		{"bad dependency", `{"id":"/a","cmd":"x","dependencies":["B"]}`, "/dependencies(0)",
			`must fully match regular expression '^(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])|(\.|\.\.)$'`},
		{"no image", `{"id":"/a","container":{"docker":{"image":""}}}`, "/container/docker/image", "must not be empty"},
		{"unknown docker parameter", `{"id":"/a","container":{"docker":{"image":"x","parameters":[{"key":"bogus","value":"1"}]}}}`,
			"/container/docker/parameters(0)/key", unknownParam("bogus")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := expect[errorBody](t, h.do(http.MethodPost, "/v2/apps", tt.body), http.StatusUnprocessableEntity)
			if e.Message != "Object is not valid" || !e.has(tt.path, tt.msg) {
				t.Errorf("body %+v, want %s: %q", e, tt.path, tt.msg)
			}
		})
	}
	list := expect[struct{ Apps []object }](t, h.do(http.MethodGet, "/v2/apps", ""), http.StatusOK)
	if len(list.Apps) != 0 {
		t.Errorf("invalid apps were stored: %v", list.Apps)
	}
}

func TestCreateAppBadJSON(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name, body, path, msg string
	}{
		{"malformed", `{"id": "a", "cmd": }`, "/", ""},
		{"truncated", `{"id": "a"`, "/", ""},
		{"trailing garbage", `{"id": "a", "cmd": "x"} x`, "/", ""},
		{"array", `[{"id":"a","cmd":"x"}]`, "/", "error.expected.jsobject"},
		{"string id", `{"id": 5, "cmd": "x"}`, "/id", "error.expected.jsstring"},
		{"number instances", `{"id": "a", "cmd": "x", "instances": "3"}`, "/instances", "error.expected.jsnumber"},
		{"nested", `{"id": "a", "container": {"docker": {"image": ["httpd"]}}}`, "/container/docker/image", "error.expected.jsstring"},
		{"bool", `{"id": "a", "cmd": "x", "requirePorts": "yes"}`, "/requirePorts", "error.expected.jsboolean"},
		{"health check field", `{"id": "a", "cmd": "x", "healthChecks": [{"intervalSeconds": "60"}]}`,
			"/healthChecks/intervalSeconds", "error.expected.jsnumber"},
		{"missing id", `{"cmd": "x"}`, "/id", "error.path.missing"},
		{"null", `null`, "/id", "error.path.missing"},
		{"empty body", ``, "/", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := expect[errorBody](t, h.do(http.MethodPost, "/v2/apps", tt.body), http.StatusBadRequest)
			if e.Message != "Invalid JSON" || len(e.Details) == 0 || e.Details[0].Path != tt.path {
				t.Fatalf("body %+v, want details at %s", e, tt.path)
			}
			if tt.msg != "" && !e.has(tt.path, tt.msg) {
				t.Errorf("body %+v, want %s: %q", e, tt.path, tt.msg)
			}
		})
	}
}

func TestCreateAppBodyLimit(t *testing.T) {
	h := newHarness(t)
	big := `{"id":"/big","cmd":"x","labels":{"pad":"` + strings.Repeat("a", int(h.srv.cfg.BodyLimit)) + `"}}`
	e := expect[errorBody](t, h.do(http.MethodPost, "/v2/apps", big), http.StatusRequestEntityTooLarge)
	if e.Message == "" {
		t.Error("no message")
	}
	// Without a Content-Length, the limit holds while reading.
	req := strings.NewReader(big)
	r := serveReader(t, h.srv, http.MethodPost, "/v2/apps", req)
	expect[errorBody](t, r, http.StatusRequestEntityTooLarge)
}

func TestCreateAppPublishesAPIPostEvent(t *testing.T) {
	h := newHarness(t)
	h.createApp(`{"id":"/evented","cmd":"sleep 1"}`)
	stream, err := h.bus.JS.Stream(context.Background(), events.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := stream.GetLastMsgForSubject(context.Background(), events.Event("api_post_event"))
	if err != nil {
		t.Fatalf("no api_post_event: %v", err)
	}
	var ev struct {
		EventType     string       `json:"eventType"`
		Timestamp     string       `json:"timestamp"`
		ClientIP      string       `json:"clientIp"`
		URI           string       `json:"uri"`
		AppDefinition marathon.App `json:"appDefinition"`
	}
	if err := json.Unmarshal(msg.Data, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.EventType != "api_post_event" || ev.URI != "/v2/apps" || ev.ClientIP != "192.0.2.1" ||
		ev.AppDefinition.ID != "/evented" || ev.Timestamp == "" {
		t.Errorf("event = %+v", ev)
	}
}

func TestDeleteApp(t *testing.T) {
	h := newHarness(t)
	h.createApp(testDocker)

	rec := h.do(http.MethodDelete, "/v2/apps/test-docker", "")
	res := expect[change.Result](t, rec, http.StatusOK)
	if res.DeploymentID == "" || rec.Header().Get(HeaderDeploymentID) != res.DeploymentID {
		t.Errorf("result %+v, header %q", res, rec.Header().Get(HeaderDeploymentID))
	}
	if _, err := time.Parse(events.TimeFormat, res.Version); err != nil {
		t.Errorf("version %q: %v", res.Version, err)
	}
	entry, err := h.bus.Deployments.Get(context.Background(), res.DeploymentID)
	if err != nil {
		t.Fatalf("deployment: %v", err)
	}
	d, _ := events.Decode[events.Deployment](entry.Value())
	if !equalJSON(t, d.Steps, [][]events.DeploymentAction{{{Action: "StopApplication", App: "/test-docker"}}}) {
		t.Errorf("steps = %+v", d.Steps)
	}

	// Read your writes: gone at once.
	e := expect[errorBody](t, h.do(http.MethodGet, "/v2/apps/test-docker", ""), http.StatusNotFound)
	if e.Message != "App '/test-docker' does not exist" {
		t.Errorf("message %q", e.Message)
	}
	e = expect[errorBody](t, h.do(http.MethodDelete, "/v2/apps//test-docker", ""), http.StatusNotFound)
	if e.Message != "App '/test-docker' does not exist" {
		t.Errorf("message %q", e.Message)
	}
	if _, err := h.bus.Apps.Get(context.Background(), "test-docker"); err == nil {
		t.Error("key still in the apps bucket")
	}
	// While the deployment that stops it runs, the id is locked; once the
	// scheduler has finished it, the app can be created again.
	e = expect[errorBody](t, h.do(http.MethodPost, "/v2/apps", testDocker), http.StatusConflict)
	if !strings.HasPrefix(e.Message, "App is locked by one or more deployments.") {
		t.Errorf("message %q", e.Message)
	}
	h.finishDeployments()
	h.createApp(testDocker)
}

func TestDeleteUnknownApp(t *testing.T) {
	h := newHarness(t)
	e := expect[errorBody](t, h.do(http.MethodDelete, "/v2/apps/nope", ""), http.StatusNotFound)
	if e.Message != "App '/nope' does not exist" {
		t.Errorf("message %q", e.Message)
	}
	expect[errorBody](t, h.do(http.MethodDelete, "/v2/apps/", ""), http.StatusMethodNotAllowed)
}
