package api

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/drover/drover/services/api/change"
	"github.com/drover/drover/services/api/view"
)

func TestConformanceDeployments(t *testing.T) {
	h := newHarness(t)
	h.createApp(`{"id":"/d","cmd":"one","instances":2}`)
	h.finishDeployments()
	first := h.getApp("/d")
	res := expect[change.Result](t, h.do(http.MethodPut, "/v2/apps/d", `{"cmd":"two","instances":3}`), http.StatusOK)
	deps := expect[[]view.Deployment](t, h.do(http.MethodGet, "/v2/deployments", ""), http.StatusOK)
	if len(deps) != 1 {
		t.Fatalf("deployments %v", deps)
	}
	d := deps[0]
	if d.ID != res.DeploymentID || d.Version != res.Version || !equalJSON(t, d.AffectedApps, []string{"/d"}) || d.CurrentStep != 1 ||
		d.TotalSteps != 1 || len(d.CurrentActions) != 1 || d.CurrentActions[0].Action != "RestartApplication" ||
		d.AffectedPods == nil || d.CurrentActions[0].ReadinessCheckResults == nil {
		t.Errorf("deployment %+v", d)
	}
	// DELETE without force rolls back: a new deployment restores the app.
	rec := h.do(http.MethodDelete, "/v2/deployments/"+res.DeploymentID, "")
	rb := expect[change.Result](t, rec, http.StatusOK)
	if rb.DeploymentID == res.DeploymentID || rec.Header().Get(HeaderDeploymentID) != rb.DeploymentID {
		t.Errorf("rollback result %+v", rb)
	}
	app := h.getApp("/d")
	if app["cmd"] != "one" || app["instances"] != 2.0 ||
		app["versionInfo"].(object)["lastConfigChangeAt"] != first["versionInfo"].(object)["lastConfigChangeAt"] {
		t.Errorf("after rollback %v", app)
	}
	deps = expect[[]view.Deployment](t, h.do(http.MethodGet, "/v2/deployments", ""), http.StatusOK)
	if len(deps) != 1 || deps[0].ID != rb.DeploymentID {
		t.Errorf("deployments after rollback %+v", deps)
	}
	// force=true only cancels: 202, no body.
	rec = h.do(http.MethodDelete, "/v2/deployments/"+rb.DeploymentID+"?force=true", "")
	if rec.Code != http.StatusAccepted || rec.Body.Len() != 0 {
		t.Errorf("cancel: %d %q", rec.Code, rec.Body.String())
	}
	if deps := expect[[]object](t, h.do(http.MethodGet, "/v2/deployments", ""), http.StatusOK); len(deps) != 0 {
		t.Errorf("deployments after cancel %v", deps)
	}
	e := expect[errorBody](t, h.do(http.MethodDelete, "/v2/deployments/nope", ""), http.StatusNotFound)
	if e.Message != "DeploymentPlan nope does not exist" {
		t.Errorf("message %q", e.Message)
	}
	// Rolling back a creation deletes the app.
	created := h.createApp(`{"id":"/new","cmd":"x"}`)
	expect[change.Result](t, h.do(http.MethodDelete, "/v2/deployments/"+created["deployments"].([]any)[0].(object)["id"].(string), ""), http.StatusOK)
	expect[errorBody](t, h.do(http.MethodGet, "/v2/apps/new", ""), http.StatusNotFound)
}

// TestCancelledDeploymentsFail: as in Marathon, a deployment overridden by
// a forced change (Jenkins' PUT ?force=true over a running deployment) or
// cancelled (DELETE /v2/deployments/{id}?force=true) publishes
// deployment_failed, with its id, its plan and Marathon's reason, before the
// deployment_info of the change that overrode it; a forced change that
// overrides nothing publishes none.
func TestCancelledDeploymentsFail(t *testing.T) {
	h := newHarness(t)
	ts := httptest.NewServer(h.srv.Handler())
	t.Cleanup(ts.Close)
	t.Cleanup(h.srv.stop)
	frames := openEvents(t, ts.URL, "?event_type=deployment_failed&event_type=deployment_info")
	const failed, info = "deployment_failed", "deployment_info"
	planID := func(f sseFrame) string {
		plan, _ := f.data["plan"].(map[string]any)
		id, _ := plan["id"].(string)
		return id
	}

	created := h.createApp(`{"id":"/jenkins","cmd":"one","instances":2}`)
	first := created["deployments"].([]any)[0].(object)["id"].(string)
	if f := nextFrame(t, frames, failed, info); f.event != info || planID(f) != first {
		t.Fatalf("after the create: %s of %s, want deployment_info of %s", f.event, planID(f), first)
	}
	// Jenkins PUTs the whole definition.
	res := expect[change.Result](t, h.do(http.MethodPut, "/v2/apps/jenkins?force=true", `{"id":"/jenkins","cmd":"two","instances":2,"cpus":0.5,"mem":64}`), http.StatusOK)
	if app := h.getApp("/jenkins"); app["cmd"] != "two" || app["cpus"] != 0.5 {
		t.Errorf("after the forced PUT: %v", app)
	}
	f := nextFrame(t, frames, failed, info)
	if f.event != failed || f.data["id"] != first || planID(f) != first || f.data["reason"] != "The upgrade has been cancelled" {
		t.Fatalf("after the forced PUT: %s %v, want deployment_failed of %s", f.event, f.data, first)
	}
	plan := f.data["plan"].(map[string]any)
	for _, k := range []string{"original", "target", "steps", "version"} {
		if plan[k] == nil {
			t.Errorf("the failed deployment's plan lacks %s: %v", k, plan)
		}
	}
	if ids := planAppIDs(plan["target"].(map[string]any)); len(ids) != 1 || ids[0] != "/jenkins" {
		t.Errorf("its target's apps %v, want /jenkins", ids)
	}
	if f := nextFrame(t, frames, failed, info); f.event != info || planID(f) != res.DeploymentID {
		t.Errorf("then %s of %s, want deployment_info of %s", f.event, planID(f), res.DeploymentID)
	}

	rec := h.do(http.MethodDelete, "/v2/deployments/"+res.DeploymentID+"?force=true", "")
	if rec.Code != http.StatusAccepted {
		t.Fatalf("cancel: %d %s", rec.Code, rec.Body.String())
	}
	if f := nextFrame(t, frames, failed, info); f.event != failed || f.data["id"] != res.DeploymentID {
		t.Errorf("after the cancel: %s %v, want deployment_failed of %s", f.event, f.data, res.DeploymentID)
	}

	// Nothing runs now: a forced change fails no deployment.
	last := expect[change.Result](t, h.do(http.MethodPut, "/v2/apps/jenkins?force=true", `{"cmd":"three","instances":2}`), http.StatusOK)
	if f := nextFrame(t, frames, failed, info); f.event != info || planID(f) != last.DeploymentID {
		t.Errorf("a forced change over nothing: %s %v, want only its deployment_info", f.event, f.data)
	}
}
