package api

// The conformance suite (go test -run Conformance ./services/api/): each
// /v2 endpoint answers with Marathon's status codes and JSON shapes, error
// bodies included; app, group and task responses are also checked against
// our JSON schema of them (schema_test.go). Its tests are spread over the
// files of the handlers they cover; this file has their helpers.

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drover/drover/pkg/events"
)

// requests are the scheduler requests the api has published, oldest first.
func (h *harness) requests() []events.SchedulerRequest {
	h.t.Helper()
	stream, err := h.bus.JS.Stream(context.Background(), events.StreamRequests)
	if err != nil {
		h.t.Fatal(err)
	}
	info, err := stream.Info(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	var out []events.SchedulerRequest
	for seq := info.State.FirstSeq; seq > 0 && seq <= info.State.LastSeq; seq++ {
		msg, err := stream.GetMsg(context.Background(), seq)
		if err != nil {
			continue
		}
		r, err := events.Decode[events.SchedulerRequest](msg.Data)
		if err != nil {
			h.t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// lastEvent is the payload of the last event of a type on the events stream.
func (h *harness) lastEvent(eventType string) object {
	h.t.Helper()
	stream, err := h.bus.JS.Stream(context.Background(), events.StreamEvents)
	if err != nil {
		h.t.Fatal(err)
	}
	msg, err := stream.GetLastMsgForSubject(context.Background(), events.Event(eventType))
	if err != nil {
		h.t.Fatalf("no %s: %v", eventType, err)
	}
	var o object
	if err := json.Unmarshal(msg.Data, &o); err != nil {
		h.t.Fatal(err)
	}
	return o
}

// deployment reads a deployment record from the bucket.
func (h *harness) deployment(id string) events.Deployment {
	h.t.Helper()
	entry, err := h.bus.Deployments.Get(context.Background(), id)
	if err != nil {
		h.t.Fatalf("deployment %s: %v", id, err)
	}
	d, err := events.Decode[events.Deployment](entry.Value())
	if err != nil {
		h.t.Fatal(err)
	}
	return d
}

func (h *harness) getApp(id string) object {
	h.t.Helper()
	return expect[struct{ App object }](h.t, h.do(http.MethodGet, "/v2/apps"+id, ""), http.StatusOK).App
}

func TestConformanceAppResponsesMatchSchema(t *testing.T) {
	h := newHarness(t)
	created := h.createApp(testDocker)
	checkAppSchema(t, created)
	h.createApp(`{"id":"/grp/web","cmd":"python3 -m http.server $PORT0","instances":2,
		"healthChecks":[{"protocol":"HTTP","path":"/"}],"labels":{"a":"b"},"portDefinitions":[{"port":0,"name":"http"}]}`)
	now := time.Now()
	h.putInstance(events.Instance{TaskID: "grp_web.instance-1._app.1", AppID: "/grp/web", Host: "h1", AgentID: "a1",
		State: events.TaskRunning, StagedAt: now, StartedAt: now, HostPorts: []int{31000}, IPAddress: "10.0.0.1",
		Health: []events.HealthResult{{Alive: true, FirstSuccess: now, LastSuccess: now}}})
	waitFor(t, func() bool { return h.getApp("/grp/web")["tasksHealthy"] == 1.0 })
	checkAppSchema(t, h.getApp("/grp/web"))
	list := expect[appList](t, h.do(http.MethodGet, "/v2/apps?embed=apps.tasks&embed=apps.lastTaskFailure", ""), http.StatusOK)
	for _, a := range list.Apps {
		checkAppSchema(t, a)
	}
	for _, path := range []string{"/v2/groups", "/v2/groups/grp", "/v2/groups?embed=group.apps&embed=group.groups"} {
		checkGroupSchema(t, expect[object](t, h.do(http.MethodGet, path, ""), http.StatusOK))
	}
	v := expect[struct{ Versions []string }](t, h.do(http.MethodGet, "/v2/apps/grp/web/versions", ""), http.StatusOK)
	checkAppDefinitionSchema(t, expect[object](t, h.do(http.MethodGet, "/v2/apps/grp/web/versions/"+v.Versions[0], ""), http.StatusOK))
	for _, path := range []string{"/v2/tasks", "/v2/apps/grp/web/tasks"} {
		tasks := expect[struct{ Tasks []object }](t, h.do(http.MethodGet, path, ""), http.StatusOK).Tasks
		if len(tasks) == 0 {
			t.Errorf("%s: no task", path)
		}
		for _, task := range tasks {
			checkTaskSchema(t, task)
		}
	}
}

func TestConformanceGetApp(t *testing.T) {
	h := newHarness(t)
	h.createApp(`{"id":"/grp/a","cmd":"x"}`)
	h.createApp(`{"id":"/grp/sub/b","cmd":"x"}`)
	h.createApp(`{"id":"/other","cmd":"x"}`)
	app := h.getApp("/grp/a")
	for _, k := range []string{"tasks", "deployments", "tasksStaged", "tasksRunning", "tasksHealthy", "tasksUnhealthy"} {
		if _, ok := app[k]; !ok {
			t.Errorf("GET app lacks %s: %v", k, app)
		}
	}
	star := expect[map[string][]object](t, h.do(http.MethodGet, "/v2/apps/grp/*", ""), http.StatusOK)
	if ids := appIDs(star["*"]); !equalJSON(t, ids, []string{"/grp/a", "/grp/sub/b"}) {
		t.Errorf("/grp/* = %v", ids)
	}
	e := expect[errorBody](t, h.do(http.MethodGet, "/v2/apps/nope", ""), http.StatusNotFound)
	if e.Message != "App '/nope' does not exist" {
		t.Errorf("message %q", e.Message)
	}
}

func TestConformanceListEmbeds(t *testing.T) {
	h := newHarness(t)
	h.createApp(`{"id":"/r","cmd":"x","instances":2,"readinessChecks":[{"name":"ready","protocol":"HTTP","path":"/ready","portName":"http"}],
		"portDefinitions":[{"port":0,"name":"http"}]}`)
	now := time.Now().Add(-time.Minute)
	ready := true
	version := h.getApp("/r")["version"].(string)
	h.putInstance(events.Instance{TaskID: "r.1", AppID: "/r", Version: version, State: events.TaskRunning, StagedAt: now, StartedAt: now, Ready: &ready})
	h.putInstance(events.Instance{TaskID: "r.2", AppID: "/r", Version: version, State: events.TaskFailed, Message: "boom", StagedAt: now, UpdatedAt: now})
	waitFor(t, func() bool { a := h.getApp("/r"); return a["tasksRunning"] == 1.0 && a["lastTaskFailure"] != nil })

	get := func(query string) object {
		t.Helper()
		return expect[appList](t, h.do(http.MethodGet, "/v2/apps?"+query, ""), http.StatusOK).Apps[0]
	}
	if a := get(""); a["tasks"] != nil || a["lastTaskFailure"] != nil || a["deployments"] == nil || a["tasksRunning"] != 1.0 {
		t.Errorf("no embed: %v", a)
	}
	if a := get("embed=apps.tasks"); len(a["tasks"].([]any)) != 1 {
		t.Errorf("apps.tasks: %v", a["tasks"])
	}
	if a := get("embed=apps.lastTaskFailure"); a["lastTaskFailure"].(object)["message"] != "boom" {
		t.Errorf("apps.lastTaskFailure: %v", a["lastTaskFailure"])
	}
	if a := get("embed=apps.failures"); a["tasks"] == nil || a["lastTaskFailure"] == nil {
		t.Errorf("apps.failures: %v", a)
	}
	if a := get("embed=apps.counts&embed=apps.deployments"); a["tasksRunning"] != 1.0 || len(a["deployments"].([]any)) != 1 {
		t.Errorf("apps.counts/deployments: %v", a)
	}
	if a := get("embed=apps.taskStats"); a["taskStats"].(object)["totalSummary"].(object)["stats"].(object)["counts"].(object)["running"] != 1.0 {
		t.Errorf("apps.taskStats: %v", a["taskStats"])
	}
	rc := get("embed=apps.readiness")["readinessCheckResults"].([]any)
	if len(rc) != 1 || rc[0].(object)["taskId"] != "r.1" || rc[0].(object)["ready"] != true || rc[0].(object)["name"] != "ready" {
		t.Errorf("apps.readiness: %v", rc)
	}

	// Traefik's Marathon provider asks for the three at once, and parses
	// startedAt as RFC 3339.
	tr := get("embed=apps.tasks&embed=apps.deployments&embed=apps.readiness")
	tasks, _ := tr["tasks"].([]any)
	deps, _ := tr["deployments"].([]any)
	rc, _ = tr["readinessCheckResults"].([]any)
	if len(tasks) != 1 || len(deps) != 1 || len(rc) != 1 || rc[0].(object)["taskId"] != "r.1" || rc[0].(object)["ready"] != true {
		t.Errorf("Traefik's embeds: tasks %v, deployments %v, readiness %v", tasks, deps, rc)
	} else if started, _ := tasks[0].(object)["startedAt"].(string); !rfc3339(started) {
		t.Errorf("startedAt %q is not RFC 3339", started)
	}
	// Prometheus' discovery lists /v2/apps/ with a trailing slash.
	prom := expect[appList](t, h.do(http.MethodGet, "/v2/apps/?embed=apps.tasks", ""), http.StatusOK).Apps
	if len(prom) != 1 || prom[0]["id"] != "/r" || len(prom[0]["tasks"].([]any)) != 1 {
		t.Errorf("GET /v2/apps/?embed=apps.tasks: %v", prom)
	}
}

func rfc3339(s string) bool {
	_, err := time.Parse(time.RFC3339, s)
	return err == nil
}

func TestConformanceValidation(t *testing.T) {
	h := newHarness(t)
	tests := []struct{ name, body, path, msg string }{
		{"args and cmd", `{"id":"/a","cmd":"x","args":["y"]}`, "/", "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'."},
		{"mem", `{"id":"/a","cmd":"x","mem":-1}`, "/mem", "got -1.0, expected 0.0 or more"},
		{"instances", `{"id":"/a","cmd":"x","instances":-1}`, "/instances", "got -1, expected 0 or more"},
		{"host port in bridge", `{"id":"/a","container":{"docker":{"image":"x","network":"HOST"},"portMappings":[{"containerPort":80}]}}`, "", ""},
		{"constraint operator", `{"id":"/a","cmd":"x","constraints":[["hostname","NEAR"]]}`, "/constraints(0)", ""},
		{"max per", `{"id":"/a","cmd":"x","constraints":[["hostname","MAX_PER","x"]]}`, "/constraints(0)", ""},
		{"health check", `{"id":"/a","cmd":"x","healthChecks":[{"protocol":"COMMAND"}]}`, "/healthChecks(0)/command", "must not be empty"},
		{"upgrade strategy", `{"id":"/a","cmd":"x","upgradeStrategy":{"maximumOverCapacity":2}}`, "/upgradeStrategy/maximumOverCapacity", "is greater than 1"},
		{"docker parameter", `{"id":"/a","container":{"docker":{"image":"x","parameters":[{"key":"bogus","value":"1"}]}}}`,
			"/container/docker/parameters(0)/key", ""},
		{"env secret reference", `{"id":"/a","cmd":"x","env":{"DB":{"secret":"db"}}}`, "/env",
			"use of secret-references in the environment requires the secrets feature to be enabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := expect[errorBody](t, h.do(http.MethodPost, "/v2/apps", tt.body), http.StatusUnprocessableEntity)
			if e.Message != "Object is not valid" || len(e.Details) == 0 {
				t.Fatalf("body %+v", e)
			}
			if tt.path == "" {
				return
			}
			i := slices.IndexFunc(e.Details, func(d struct {
				Path   string   `json:"path"`
				Errors []string `json:"errors"`
			}) bool {
				return d.Path == tt.path
			})
			if i < 0 || (tt.msg != "" && !e.has(tt.path, tt.msg)) {
				t.Errorf("body %+v, want %s: %q", e, tt.path, tt.msg)
			}
			if strings.Contains(tt.name, "docker parameter") && !strings.Contains(strings.Join(e.Details[i].Errors, " "), "bogus") {
				t.Errorf("the refusal must name the parameter: %v", e.Details[i].Errors)
			}
		})
	}
}

func TestConformanceMetrics(t *testing.T) {
	h := newHarness(t)
	h.createApp(`{"id":"/m","cmd":"x"}`)
	h.do(http.MethodGet, "/v2/apps", "")
	// Prometheus' text, where Marathon 1.7+ serves it.
	rec := h.do(http.MethodGet, "/metrics/prometheus", "")
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("metrics: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	body := rec.Body.String()
	for _, want := range []string{
		`drover_api_http_requests_total{code="200",method="GET",route="/v2/apps"} 1`,
		`drover_api_http_requests_total{code="201",method="POST",route="/v2/apps"} 1`,
		"drover_api_http_request_duration_seconds_bucket", "drover_apps 1", `drover_tasks{state="TASK_RUNNING"} 0`,
		"drover_deployments 1", "drover_leader_elected 0", "go_goroutines",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}

	// /metrics is Marathon's JSON (Dropwizard's shape) of the same metrics.
	type counter struct {
		Count *int64 `json:"count"`
	}
	type gauge struct {
		Value *float64 `json:"value"`
	}
	js := expect[struct {
		Version    string                    `json:"version"`
		Counters   map[string]counter        `json:"counters"`
		Gauges     map[string]gauge          `json:"gauges"`
		Histograms map[string]map[string]any `json:"histograms"`
		Meters     map[string]any            `json:"meters"`
		Timers     map[string]any            `json:"timers"`
	}](t, h.do(http.MethodGet, "/metrics", ""), http.StatusOK)
	if js.Version != "4.0.0" || js.Meters == nil || js.Timers == nil {
		t.Errorf("version %q, meters %v, timers %v", js.Version, js.Meters, js.Timers)
	}
	if c := js.Counters[`drover_api_http_requests_total{code="201",method="POST",route="/v2/apps"}`]; c.Count == nil || *c.Count != 1 {
		t.Errorf("POST counter %+v; counters %v", c, js.Counters)
	}
	for name, want := range map[string]float64{
		"drover_apps": 1, "drover_deployments": 1, "drover_leader_elected": 0,
		"marathon.apps.active.gauge": 1, "marathon.deployments.active.gauge": 1,
	} {
		if g := js.Gauges[name]; g.Value == nil || *g.Value != want {
			t.Errorf("gauge %s = %v, want %g", name, g.Value, want)
		}
	}
	if _, ok := js.Gauges["go_goroutines"]; !ok {
		t.Error("JSON lacks go_goroutines")
	}
	hist := js.Histograms[`drover_api_http_request_duration_seconds{method="GET",route="/v2/apps"}`]
	if hist["count"] != 1.0 || hist["p99"] == nil {
		t.Errorf("latency histogram %v", hist)
	}
	if rec := h.do(http.MethodHead, "/metrics/prometheus", ""); rec.Code != http.StatusOK {
		t.Errorf("HEAD /metrics/prometheus: %d", rec.Code)
	}
}

func TestConformanceLeader(t *testing.T) {
	h := newHarness(t)
	e := expect[errorBody](t, h.do(http.MethodDelete, "/v2/leader", ""), http.StatusNotFound)
	if e.Message != "There is no leader" {
		t.Errorf("message %q", e.Message)
	}
	h.putLeader("master1")
	waitFor(t, func() bool { return h.do(http.MethodGet, "/v2/leader", "").Code == http.StatusOK })
	m := expect[map[string]string](t, h.do(http.MethodDelete, "/v2/leader", ""), http.StatusOK)
	if m["message"] != "Leadership abdicated" {
		t.Errorf("body %v", m)
	}
	if r := h.requests(); len(r) != 1 || r[0].Kind != events.RequestAbdicate {
		t.Errorf("requests %+v", r)
	}
}
