package deployplan

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
)

// apps is a fixed set of current apps.
type apps map[string]*marathon.App

func (a apps) App(id string) *marathon.App { return a[id] }

func (a apps) Under(group string) []string {
	var ids []string
	for _, id := range []string{"/g/a", "/g/b", "/x"} {
		if a[id] != nil && InGroup(id, group) {
			ids = append(ids, id)
		}
	}
	return ids
}

func TestStepsFollowDependencies(t *testing.T) {
	cur := apps{"/g/a": {ID: "/g/a"}, "/g/b": {ID: "/g/b"}, "/x": {ID: "/x"}}
	changes := []Change{
		{ID: "/web", Next: &marathon.App{Dependencies: []string{"/g"}}, Action: events.ActionStart},
		{ID: "/g/a", Next: &marathon.App{}, Action: events.ActionRestart},
		{ID: "/x", Action: events.ActionStop},
	}
	got := Steps(cur, changes)
	want := [][]events.DeploymentAction{
		{{Action: events.ActionStop, App: "/x"}},
		{{Action: events.ActionStart, App: "/web"}},
		{{Action: events.ActionRestart, App: "/g/a"}},
		{{Action: events.ActionScale, App: "/web"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Steps = %v, want %v", got, want)
	}
	if Cyclic(cur, changes) {
		t.Fatal("no cycle, but Cyclic says so")
	}
	cyc := append(changes, Change{ID: "/g/b", Next: &marathon.App{Dependencies: []string{"/web"}}, Action: events.ActionRestart})
	if !Cyclic(cur, cyc) {
		t.Fatal("/web -> /g -> /g/b -> /web is a cycle")
	}
}

func TestPlanStepsAreNeverNull(t *testing.T) {
	data, _ := json.Marshal(Plan(events.Deployment{ID: "d", Version: "v"}))
	if string(data) != `{"id":"d","steps":[],"version":"v"}` { // Marathon's order; light: no original, target
		t.Fatalf("Plan = %s", data)
	}
}

func TestConfigVersion(t *testing.T) {
	a := marathon.App{Version: "2"}
	if ConfigVersion(&a) != "2" {
		t.Fatal("no versionInfo: the version")
	}
	a.VersionInfo = &marathon.VersionInfo{LastConfigChangeAt: "1", LastScalingAt: "2"}
	if ConfigVersion(&a) != "1" {
		t.Fatal("the last config change")
	}
}
