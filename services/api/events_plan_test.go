package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/drover/drover/pkg/deployplan"
	"github.com/drover/drover/pkg/marathon"
)

// TestEventStreamPlanFormat: deployment_info carries the plan with original
// and target (the root group before and after, as /v2/groups renders
// it) and currentStep; ?plan-format=light leaves original and target out.
func TestEventStreamPlanFormat(t *testing.T) {
	h := newHarness(t)
	ts := httptest.NewServer(h.srv.Handler())
	t.Cleanup(ts.Close)
	t.Cleanup(h.srv.stop)
	h.createApp(`{"id":"/before","cmd":"sleep 1"}`)
	h.finishDeployments()

	// Each stream's consumer exists once its headers came.
	full := openEvents(t, ts.URL, "?event_type=deployment_info")
	light := openEvents(t, ts.URL, "?event_type=deployment_info&plan-format=light")
	h.createApp(`{"id":"/g/after","cmd":"sleep 1"}`)

	f := nextFrame(t, full, "deployment_info")
	plan, _ := f.data["plan"].(map[string]any)
	for _, k := range []string{"id", "original", "target", "steps", "version"} {
		if _, ok := plan[k]; !ok {
			t.Errorf("full plan lacks %s: %v", k, plan)
		}
	}
	step, _ := f.data["currentStep"].(map[string]any)
	if actions, _ := step["actions"].([]any); len(actions) != 1 {
		t.Errorf("currentStep %v, want the first step's one action", f.data["currentStep"])
	}
	original, _ := plan["original"].(map[string]any)
	target, _ := plan["target"].(map[string]any)
	if ids := planAppIDs(original); len(ids) != 1 || ids[0] != "/before" {
		t.Errorf("original's apps %v, want /before", ids)
	}
	if ids := planAppIDs(target); len(ids) != 2 || ids[0] != "/before" || ids[1] != "/g/after" {
		t.Errorf("target's apps %v, want /before and /g/after", ids)
	}
	for _, g := range []map[string]any{original, target} {
		for _, k := range []string{"id", "apps", "groups", "pods", "dependencies", "version"} {
			if _, ok := g[k]; !ok || len(g) != 6 {
				t.Errorf("group %v: want exactly id, apps, groups, pods, dependencies, version", g)
			}
		}
	}

	f = nextFrame(t, light, "deployment_info")
	plan, _ = f.data["plan"].(map[string]any)
	if _, ok := plan["original"]; ok || plan["target"] != nil || plan["id"] == nil || plan["steps"] == nil || plan["version"] == nil {
		t.Errorf("light plan %v: want id, steps and version only", plan)
	}
	if f.data["currentStep"] == nil {
		t.Errorf("light deployment_info without currentStep: %v", f.data)
	}
}

// planAppIDs are the ids of a rendered group's apps, depth first.
func planAppIDs(g map[string]any) []string {
	var ids []string
	apps, _ := g["apps"].([]any)
	for _, a := range apps {
		ids = append(ids, a.(map[string]any)["id"].(string))
	}
	groups, _ := g["groups"].([]any)
	for _, sub := range groups {
		ids = append(ids, planAppIDs(sub.(map[string]any))...)
	}
	return ids
}

// TestRootGroupIsGroupsView: the root group a plan carries is what GET
// /v2/groups answers for the same apps.
func TestRootGroupIsGroupsView(t *testing.T) {
	h := newHarness(t)
	h.createApp(`{"id":"/a","cmd":"sleep 1"}`)
	h.createApp(`{"id":"/g/b","cmd":"sleep 1"}`)
	h.createApp(`{"id":"/g/h/c","cmd":"sleep 1","instances":2}`)
	served := h.do(http.MethodGet, "/v2/groups", "")
	var want any
	if err := json.Unmarshal(served.Body.Bytes(), &want); err != nil {
		t.Fatal(err)
	}
	var apps []marathon.App
	for _, id := range []string{"a", "g/b", "g/h/c"} {
		var body struct {
			App marathon.App `json:"app"`
		}
		if err := json.Unmarshal(h.do(http.MethodGet, "/v2/apps/"+id, "").Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		apps = append(apps, body.App)
	}
	data, err := json.Marshal(deployplan.RootGroup(apps, ""))
	if err != nil {
		t.Fatal(err)
	}
	var got any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	wantJSON, _ := json.Marshal(want)
	gotJSON, _ := json.Marshal(got)
	if string(wantJSON) != string(gotJSON) {
		t.Errorf("root group\n%s\nGET /v2/groups\n%s", gotJSON, wantJSON)
	}
}
