package deployplan

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
)

// The fixtures in testdata are events as Marathon 1.6 writes them (the
// field names of its Formats: DeploymentPlanWrites, the Light... writes,
// DeploymentStepWrites, Json.writes of its event case classes), written
// for these tests. Drover's must have the same fields, recursively.

func fixtureEvent(t *testing.T, name string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

// sameShape compares the fields of two JSON values, recursively: objects
// must have the same keys, arrays elements like the fixture's first. App
// definitions (under "apps") are Marathon's app JSON, checked elsewhere.
func sameShape(path string, got, want any) error {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: %T, want an object", path, got)
		}
		if gk, wk := keys(g), keys(w); !slices.Equal(gk, wk) {
			return fmt.Errorf("%s: fields %v, want %v", path, gk, wk)
		}
		for k := range w {
			if k == "apps" {
				continue
			}
			if err := sameShape(path+"/"+k, g[k], w[k]); err != nil {
				return err
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			return fmt.Errorf("%s: %T, want an array", path, got)
		}
		if len(w) > 0 {
			for i, e := range g {
				if err := sameShape(fmt.Sprintf("%s/%d", path, i), e, w[0]); err != nil {
					return err
				}
			}
		}
	default:
		if fmt.Sprintf("%T", got) != fmt.Sprintf("%T", want) {
			return fmt.Errorf("%s: %T, want %T", path, got, want)
		}
	}
	return nil
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func asJSON(t *testing.T, v any) any {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDeploymentEventsAsMarathonWritesThem(t *testing.T) {
	n := 2
	web := marathon.App{ID: "/shop/web", Cmd: ptr("sleep 60"), Instances: &n, Version: "2017-01-01T00:00:01.000Z"}
	start := []events.DeploymentAction{{Action: events.ActionStart, App: "/shop/web"}}
	scale := []events.DeploymentAction{{Action: events.ActionScale, App: "/shop/web"}}
	d := events.Deployment{ID: "5a5e2cc8-1f0e-4b5f-9d0c-0e1f2a3b4c5d", Version: web.Version, Steps: [][]events.DeploymentAction{start, scale}}
	plan := FullPlan(d, nil, []marathon.App{web})
	info := events.DeploymentInfoEvent{EventType: events.EventDeploymentInfo, Timestamp: "2017-01-01T00:00:01.010Z",
		Plan: plan, CurrentStep: events.DeploymentPlanStep{Actions: start}}
	step := info
	step.EventType, step.CurrentStep.Actions = events.EventDeploymentStepOK, scale
	success := events.DeploymentEvent{EventType: events.EventDeploymentSuccess, Timestamp: "t", ID: d.ID, Plan: plan}
	failed := success
	failed.EventType, failed.Reason = events.EventDeploymentFailed, "/shop/web: stuck"
	infoData, err := events.MarshalEvent(info.EventType, info)
	if err != nil {
		t.Fatal(err)
	}
	light, ok := events.LightPlan(info.EventType, infoData)
	if !ok {
		t.Fatal("LightPlan left a full deployment_info unchanged")
	}
	var lightEvent any
	if err := json.Unmarshal(light, &lightEvent); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		fixture string
		got     any
	}{
		{"deployment_info.json", asJSON(t, info)},
		{"deployment_info_light.json", lightEvent},
		{"deployment_step_success.json", asJSON(t, step)},
		{"deployment_success.json", asJSON(t, success)},
		{"deployment_failed.json", asJSON(t, failed)},
		{"subscribe_event.json", asJSON(t, events.SubscriptionEvent{EventType: events.EventSubscribe, Timestamp: "t",
			ClientIP: "10.0.0.7", CallbackURL: "http://hooks.example.com/cb"})},
	} {
		if err := sameShape(tc.fixture, tc.got, fixtureEvent(t, tc.fixture)); err != nil {
			t.Errorf("%v", err)
		}
	}
	// The target nests /shop/web in /shop, as /v2/groups does.
	if len(plan.Target.Groups) != 1 || plan.Target.Groups[0].ID != "/shop" || plan.Target.Groups[0].Apps[0].ID != "/shop/web" ||
		len(plan.Original.Apps)+len(plan.Original.Groups) != 0 || plan.Target.Version != web.Version {
		t.Errorf("original %+v, target %+v", plan.Original, plan.Target)
	}
}

// TestPlansLightWhenLarge: past MaxPlanApps, or MaxEventBytes once
// encoded, a deployment event goes out light; other events never change.
func TestPlansLightWhenLarge(t *testing.T) {
	d := events.Deployment{ID: "d", Version: "v"}
	many := make([]marathon.App, MaxPlanApps+1)
	if p := FullPlan(d, nil, many); p.Original != nil || p.Target != nil {
		t.Error("a plan of too many apps carries its groups")
	}
	big := marathon.App{ID: "/big", Labels: map[string]string{}}
	for i := range 2000 {
		big.Labels[fmt.Sprintf("label-%d", i)] = string(make([]byte, 400))
	}
	ev := events.DeploymentEvent{EventType: events.EventDeploymentSuccess, ID: "d", Plan: FullPlan(d, nil, []marathon.App{big})}
	data, err := events.MarshalEvent(ev.EventType, ev)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Plan map[string]any `json:"plan"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	if _, ok := out.Plan["target"]; ok || out.Plan["id"] != "d" || len(data) > events.MaxEventBytes {
		t.Errorf("an event of %d bytes kept its plan's target", len(data))
	}
	if out, ok := events.LightPlan(events.EventAPIPost, []byte(`{"plan":{"original":{}}}`)); ok || string(out) != `{"plan":{"original":{}}}` {
		t.Errorf("LightPlan changed an api_post_event: %s", out)
	}
	if _, ok := events.LightPlan(events.EventDeploymentInfo, []byte(`{"plan":"original"}`)); ok {
		t.Error("LightPlan took a plan that is not an object")
	}
}

func ptr[T any](v T) *T { return &v }

func TestFull(t *testing.T) {
	for _, tc := range []struct {
		name    string
		demand  bool
		written bool // the deployment's FullPlans
		apps    int
		want    bool
	}{
		{"nobody receives them", false, false, 3, false},
		{"someone does now", true, false, 3, true},
		{"the writing api knew of someone", false, true, 3, true},
		{"as many apps as carried", true, false, MaxPlanApps, true},
		{"too many apps to carry", true, true, MaxPlanApps + 1, false},
	} {
		if got := Full(events.Deployment{FullPlans: tc.written}, tc.demand, tc.apps); got != tc.want {
			t.Errorf("%s: Full = %v, want %v", tc.name, got, tc.want)
		}
	}
}
