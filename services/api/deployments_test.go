package api

import (
	"net/http"
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
