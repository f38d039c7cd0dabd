package api

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/services/api/change"
)

func TestConformancePutApp(t *testing.T) {
	h := newHarness(t)
	// PUT of an unknown app creates it: 201, Location, change result.
	rec := h.do(http.MethodPut, "/v2/apps/put/web", `{"cmd":"sleep 1","instances":2,"labels":{"a":"1"}}`)
	res := expect[change.Result](t, rec, http.StatusCreated)
	if rec.Header().Get("Location") != "/v2/apps/put/web" || rec.Header().Get(HeaderDeploymentID) != res.DeploymentID {
		t.Errorf("headers %v", rec.Header())
	}
	created := h.getApp("/put/web")
	h.finishDeployments()

	// partialUpdate (the default) merges: cmd and labels stay.
	res = expect[change.Result](t, h.do(http.MethodPut, "/v2/apps/put/web", `{"instances":3}`), http.StatusOK)
	app := h.getApp("/put/web")
	if app["instances"] != 3.0 || app["cmd"] != "sleep 1" || app["labels"].(object)["a"] != "1" || app["version"] != res.Version {
		t.Errorf("after a partial update: %v", app)
	}
	// A scale moves lastScalingAt only.
	vi := app["versionInfo"].(object)
	if vi["lastScalingAt"] != res.Version || vi["lastConfigChangeAt"] != created["versionInfo"].(object)["lastConfigChangeAt"] {
		t.Errorf("versionInfo after scaling: %v", vi)
	}
	if d := h.deployment(res.DeploymentID); !equalJSON(t, d.Steps, [][]events.DeploymentAction{{{Action: "ScaleApplication", App: "/put/web"}}}) {
		t.Errorf("scale steps %v", d.Steps)
	}
	h.finishDeployments()

	// partialUpdate=false replaces: what the body leaves out is default.
	res = expect[change.Result](t, h.do(http.MethodPut, "/v2/apps/put/web?partialUpdate=false", `{"cmd":"sleep 2"}`), http.StatusOK)
	app = h.getApp("/put/web")
	if app["instances"] != 1.0 || len(app["labels"].(object)) != 0 || app["cmd"] != "sleep 2" {
		t.Errorf("after a replace: %v", app)
	}
	if vi := app["versionInfo"].(object); vi["lastConfigChangeAt"] != res.Version {
		t.Errorf("a config change must move lastConfigChangeAt: %v", vi)
	}
	if d := h.deployment(res.DeploymentID); !equalJSON(t, d.Steps, [][]events.DeploymentAction{{{Action: "RestartApplication", App: "/put/web"}}}) {
		t.Errorf("restart steps %v", d.Steps)
	}

	// cmd and args stand for one another: setting one drops the other.
	expect[change.Result](t, h.do(http.MethodPut, "/v2/apps/put/web?force=true", `{"args":["sleep","3"]}`), http.StatusOK)
	if app = h.getApp("/put/web"); app["cmd"] != nil || len(app["args"].([]any)) != 2 {
		t.Errorf("args replacing cmd: %v", app)
	}

	// Invalid updates: 422 with the path; malformed: 400.
	e := expect[errorBody](t, h.do(http.MethodPut, "/v2/apps/put/web?force=true", `{"cpus":0}`), http.StatusUnprocessableEntity)
	if !e.has("/cpus", "got 0.0, expected 0.001 or more") {
		t.Errorf("422 body %+v", e)
	}
	expect[errorBody](t, h.do(http.MethodPut, "/v2/apps/put/web", `{"cpus":`), http.StatusBadRequest)
	e = expect[errorBody](t, h.do(http.MethodPut, "/v2/apps/put/web", `{"version":"2020-01-01T00:00:00.000Z","cmd":"x"}`), http.StatusUnprocessableEntity)
	if !e.has("/version", msgVersionAlone) {
		t.Errorf("version with other fields: %+v", e)
	}
}

func TestConformanceAppAndGroupIDsClash(t *testing.T) {
	h := newHarness(t)
	h.createApp(`{"id":"/a/b","cmd":"x"}`)
	for _, r := range []struct{ method, path, body string }{
		{http.MethodPost, "/v2/apps", `{"id":"/a","cmd":"x"}`},
		{http.MethodPost, "/v2/apps", `{"id":"/a/b/c","cmd":"x"}`},
		{http.MethodPut, "/v2/apps/a", `{"cmd":"x"}`},
	} {
		e := expect[errorBody](t, h.do(r.method, r.path, r.body), http.StatusUnprocessableEntity)
		if len(e.Details) != 1 || e.Details[0].Path != "/id" || !strings.HasPrefix(e.Details[0].Errors[0], "Groups and Applications may not have the same identifier") {
			t.Errorf("%s %s: %+v", r.method, r.path, e)
		}
	}
}

func TestConformanceLocks(t *testing.T) {
	h := newHarness(t)
	created := h.createApp(`{"id":"/locked","cmd":"x"}`)
	first := created["deployments"].([]any)[0].(object)["id"].(string)
	for _, r := range []struct{ method, path, body string }{
		{http.MethodPut, "/v2/apps/locked", `{"instances":2}`},
		{http.MethodPatch, "/v2/apps/locked", `{"instances":2}`},
		{http.MethodPost, "/v2/apps/locked/restart", ""},
		{http.MethodPut, "/v2/apps", `[{"id":"/locked","instances":2}]`},
		{http.MethodPut, "/v2/groups/?force=false", `{"scaleBy":2}`},
		{http.MethodDelete, "/v2/apps/locked?force=false", ""},
	} {
		var body struct {
			Message     string
			Deployments []struct{ ID string }
		}
		body = expect[struct {
			Message     string
			Deployments []struct{ ID string }
		}](t, h.do(r.method, r.path, r.body), http.StatusConflict)
		want := "App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/<DEPLOYMENT_ID>'."
		if body.Message != want || len(body.Deployments) != 1 || body.Deployments[0].ID != first {
			t.Errorf("%s %s: %+v", r.method, r.path, body)
		}
	}
	// force=true overrides, and cancels the deployment it overrides.
	res := expect[change.Result](t, h.do(http.MethodPut, "/v2/apps/locked?force=true", `{"instances":2}`), http.StatusOK)
	if _, err := h.bus.Deployments.Get(context.Background(), first); err == nil {
		t.Error("the overridden deployment is still recorded")
	}
	deps := expect[[]object](t, h.do(http.MethodGet, "/v2/deployments", ""), http.StatusOK)
	if len(deps) != 1 || deps[0]["id"] != res.DeploymentID {
		t.Errorf("deployments %v", deps)
	}
	// DELETE's force defaults to true.
	expect[change.Result](t, h.do(http.MethodDelete, "/v2/apps/locked", ""), http.StatusOK)
}

func TestConformancePatchAndBulk(t *testing.T) {
	h := newHarness(t)
	e := expect[errorBody](t, h.do(http.MethodPatch, "/v2/apps/nope", `{"instances":2}`), http.StatusNotFound)
	if e.Message != "App '/nope' does not exist" {
		t.Errorf("message %q", e.Message)
	}
	// PUT /v2/apps: create several in one deployment.
	rec := h.do(http.MethodPut, "/v2/apps", `[{"id":"/b1","cmd":"x"},{"id":"b2","cmd":"y","dependencies":["/b1"]}]`)
	res := expect[change.Result](t, rec, http.StatusOK)
	d := h.deployment(res.DeploymentID)
	want := [][]events.DeploymentAction{
		{{Action: "StartApplication", App: "/b1"}, {Action: "StartApplication", App: "/b2"}},
		{{Action: "ScaleApplication", App: "/b1"}},
		{{Action: "ScaleApplication", App: "/b2"}},
	}
	if !equalJSON(t, d.Steps, want) || !equalJSON(t, d.AffectedApps, []string{"/b1", "/b2"}) {
		t.Errorf("deployment %+v", d)
	}
	h.finishDeployments()
	// PATCH /v2/apps: partial updates of existing apps only.
	expect[change.Result](t, h.do(http.MethodPatch, "/v2/apps", `[{"id":"/b1","instances":4},{"id":"/b2","labels":{"x":"y"}}]`), http.StatusOK)
	if a := h.getApp("/b1"); a["instances"] != 4.0 || a["cmd"] != "x" {
		t.Errorf("b1 %v", a)
	}
	if a := h.getApp("/b2"); a["labels"].(object)["x"] != "y" || a["cmd"] != "y" {
		t.Errorf("b2 %v", a)
	}
	h.finishDeployments()
	expect[errorBody](t, h.do(http.MethodPatch, "/v2/apps", `[{"id":"/b3","instances":4}]`), http.StatusNotFound)
	e = expect[errorBody](t, h.do(http.MethodPut, "/v2/apps", `[{"id":"/b1","cpus":-1}]`), http.StatusUnprocessableEntity)
	if len(e.Details) == 0 || e.Details[0].Path != "/0/cpus" {
		t.Errorf("bulk 422 %+v", e)
	}
	e = expect[errorBody](t, h.do(http.MethodPut, "/v2/apps", `{"id":"/b1"}`), http.StatusBadRequest)
	if !e.has("/", "error.expected.jsarray") {
		t.Errorf("bulk of an object: %+v", e)
	}
	// A dependency cycle is refused.
	e = expect[errorBody](t, h.do(http.MethodPut, "/v2/apps", `[{"id":"/c1","cmd":"x","dependencies":["/c2"]},{"id":"/c2","cmd":"x","dependencies":["/c1"]}]`),
		http.StatusUnprocessableEntity)
	if !e.has("/", change.MsgCycle) {
		t.Errorf("cycle %+v", e)
	}
}

func TestConformanceRestart(t *testing.T) {
	h := newHarness(t)
	created := h.createApp(`{"id":"/rs","cmd":"x"}`)
	h.finishDeployments()
	rec := h.do(http.MethodPost, "/v2/apps/rs/restart", "")
	res := expect[change.Result](t, rec, http.StatusOK)
	app := h.getApp("/rs")
	vi := app["versionInfo"].(object)
	if vi["lastConfigChangeAt"] != res.Version || vi["lastConfigChangeAt"] == created["versionInfo"].(object)["lastConfigChangeAt"] {
		t.Errorf("restart versionInfo %v (result %v)", vi, res)
	}
	if d := h.deployment(res.DeploymentID); !equalJSON(t, d.Steps, [][]events.DeploymentAction{{{Action: "RestartApplication", App: "/rs"}}}) {
		t.Errorf("steps %v", d.Steps)
	}
	expect[errorBody](t, h.do(http.MethodPost, "/v2/apps/nope/restart", ""), http.StatusNotFound)
}
