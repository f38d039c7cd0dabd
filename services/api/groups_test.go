package api

import (
	"net/http"
	"testing"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/services/api/change"
	"github.com/drover/drover/services/api/view"
)

func TestConformanceGroups(t *testing.T) {
	h := newHarness(t)
	body := `{"id":"/prod","apps":[{"id":"db","cmd":"db"}],
		"groups":[{"id":"front","dependencies":["/prod/db"],"apps":[{"id":"web","cmd":"web","instances":2}]}]}`
	rec := h.do(http.MethodPost, "/v2/groups", body)
	res := expect[change.Result](t, rec, http.StatusCreated)
	if rec.Header().Get("Location") != "/v2/groups/prod" {
		t.Errorf("Location %q", rec.Header().Get("Location"))
	}
	want := [][]events.DeploymentAction{
		{{Action: "StartApplication", App: "/prod/db"}, {Action: "StartApplication", App: "/prod/front/web"}},
		{{Action: "ScaleApplication", App: "/prod/db"}},
		{{Action: "ScaleApplication", App: "/prod/front/web"}},
	}
	if d := h.deployment(res.DeploymentID); !equalJSON(t, d.Steps, want) {
		t.Errorf("dependency order: %v", d.Steps)
	}
	if ev := h.lastEvent(events.EventGroupChangeSuccess); ev["groupId"] != "/prod" || ev["version"] != res.Version {
		t.Errorf("group_change_success %v", ev)
	}
	e := expect[errorBody](t, h.do(http.MethodPost, "/v2/groups/prod", `{}`), http.StatusConflict)
	if e.Message != "Group /prod is already created. Use PUT to change this group." {
		t.Errorf("message %q", e.Message)
	}

	root := expect[view.Group](t, h.do(http.MethodGet, "/v2/groups", ""), http.StatusOK)
	if root.ID != "/" || len(*root.Groups) != 1 || (*root.Groups)[0].ID != "/prod" || root.Version != res.Version || root.Pods == nil {
		t.Fatalf("root %+v", root)
	}
	prod := expect[object](t, h.do(http.MethodGet, "/v2/groups/prod", ""), http.StatusOK)
	apps := prod["apps"].([]any)
	groups := prod["groups"].([]any)
	if len(apps) != 1 || apps[0].(object)["id"] != "/prod/db" || len(groups) != 1 || groups[0].(object)["id"] != "/prod/front" {
		t.Errorf("prod %v", prod)
	}
	web := groups[0].(object)["apps"].([]any)[0].(object)
	if !equalJSON(t, web["dependencies"], []string{"/prod/db"}) {
		t.Errorf("group dependencies pushed to the app: %v", web["dependencies"])
	}
	only := expect[object](t, h.do(http.MethodGet, "/v2/groups/prod?embed=group.apps", ""), http.StatusOK)
	if _, has := only["groups"]; has || only["apps"] == nil {
		t.Errorf("embed=group.apps: %v", only)
	}
	withTasks := expect[object](t, h.do(http.MethodGet, "/v2/groups/prod?embed=group.apps.tasks", ""), http.StatusOK)
	if _, ok := withTasks["apps"].([]any)[0].(object)["tasks"]; !ok {
		t.Errorf("embed=group.apps.tasks: %v", withTasks)
	}
	e = expect[errorBody](t, h.do(http.MethodGet, "/v2/groups/nope", ""), http.StatusNotFound)
	if e.Message != "Group '/nope' does not exist" {
		t.Errorf("message %q", e.Message)
	}

	// dryRun: the steps, nothing written.
	dry := expect[map[string][]view.Step](t, h.do(http.MethodPut, "/v2/groups/prod?dryRun=true", `{"scaleBy":2}`), http.StatusOK)
	if len(dry["steps"]) != 2 || dry["steps"][0].Actions[0].Action != "ScaleApplication" {
		t.Errorf("dryRun %v", dry)
	}
	// scaleBy, forced past the running deployment.
	expect[errorBody](t, h.do(http.MethodPut, "/v2/groups/prod", `{"scaleBy":2}`), http.StatusConflict)
	expect[change.Result](t, h.do(http.MethodPut, "/v2/groups/prod?force=true", `{"scaleBy":2}`), http.StatusOK)
	if a := h.getApp("/prod/front/web"); a["instances"] != 4.0 {
		t.Errorf("scaled %v", a["instances"])
	}
	if a := h.getApp("/prod/db"); a["instances"] != 2.0 {
		t.Errorf("scaled %v", a["instances"])
	}
	h.finishDeployments()
	versions := expect[[]string](t, h.do(http.MethodGet, "/v2/groups/prod/versions", ""), http.StatusOK)
	if len(versions) != 2 || versions[1] != res.Version {
		t.Errorf("group versions %v", versions)
	}
	// Rollback to the first version.
	expect[change.Result](t, h.do(http.MethodPut, "/v2/groups/prod", `{"version":"`+res.Version+`"}`), http.StatusOK)
	if a := h.getApp("/prod/front/web"); a["instances"] != 2.0 {
		t.Errorf("rolled back %v", a["instances"])
	}
	h.finishDeployments()
	// A PUT with apps replaces the group's apps: db goes, cache comes.
	expect[change.Result](t, h.do(http.MethodPut, "/v2/groups/prod", `{"apps":[{"id":"cache","cmd":"c"}]}`), http.StatusOK)
	prod = expect[object](t, h.do(http.MethodGet, "/v2/groups/prod", ""), http.StatusOK)
	if ids := appIDs(toObjects(prod["apps"])); !equalJSON(t, ids, []string{"/prod/cache"}) {
		t.Errorf("after PUT apps: %v", ids)
	}
	if len(prod["groups"].([]any)) != 1 {
		t.Errorf("groups not in the body stay: %v", prod["groups"])
	}
	e = expect[errorBody](t, h.do(http.MethodPost, "/v2/groups", `{"id":"/bad","apps":[{"id":"x","cpus":-1,"cmd":"x"}]}`), http.StatusUnprocessableEntity)
	if len(e.Details) == 0 || e.Details[0].Path != "/apps(0)/cpus" {
		t.Errorf("group 422 %+v", e)
	}
	// DELETE removes every app under the group.
	h.finishDeployments()
	expect[change.Result](t, h.do(http.MethodDelete, "/v2/groups/prod", ""), http.StatusOK)
	expect[errorBody](t, h.do(http.MethodGet, "/v2/groups/prod", ""), http.StatusNotFound)
	expect[errorBody](t, h.do(http.MethodDelete, "/v2/groups/prod", ""), http.StatusNotFound)
}

func toObjects(v any) []object {
	var out []object
	for _, o := range v.([]any) {
		out = append(out, o.(object))
	}
	return out
}
