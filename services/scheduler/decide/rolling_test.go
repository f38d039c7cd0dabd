package decide

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func rollingApp(n int, minHealth, maxOver float64, health bool) marathon.App {
	app := marathon.App{ID: "/web", Instances: &n, Version: "v2",
		VersionInfo:     &marathon.VersionInfo{LastConfigChangeAt: "v2"},
		UpgradeStrategy: &marathon.UpgradeStrategy{MinimumHealthCapacity: minHealth, MaximumOverCapacity: maxOver}}
	if health {
		app.HealthChecks = []marathon.HealthCheck{{Protocol: "HTTP", MaxConsecutiveFailures: 3}}
	}
	return app
}

// instances makes tasks: each spec is version/state/health, e.g. "v1 R +" is
// a running v1 task that passes its checks, "v2 S" a staging v2 task.
func instances(specs ...string) []*events.Instance {
	var out []*events.Instance
	for i, spec := range specs {
		var version, state, health string
		fmt.Sscan(spec, &version, &state, &health)
		inst := &events.Instance{TaskID: fmt.Sprintf("t%d", i), Version: version, StagedAt: t0.Add(time.Duration(i) * time.Second)}
		switch state {
		case "R":
			inst.State = events.TaskRunning
		case "S":
			inst.State = events.TaskStaging
		case "K":
			inst.State = events.TaskKilling
		}
		switch health {
		case "+":
			inst.Health = []events.HealthResult{{Alive: true}}
		case "-":
			inst.Health = []events.HealthResult{{Alive: false, ConsecutiveFailures: 1}}
		}
		out = append(out, inst)
	}
	return out
}

func TestPlanApp(t *testing.T) {
	tests := []struct {
		name   string
		app    marathon.App
		insts  []*events.Instance
		launch int
		kill   []string
	}{
		{"scale up from nothing", rollingApp(3, 1, 1, false), nil, 3, nil},
		{"steady", rollingApp(2, 1, 1, false), instances("v2 R", "v2 R"), 0, nil},
		{"scale down kills the youngest", rollingApp(1, 1, 1, false), instances("v2 R", "v2 R", "v2 R"), 0, []string{"t2", "t1"}},
		{"scale down kills a staging task before running ones", rollingApp(1, 1, 1, false), instances("v2 S", "v2 R"), 0, []string{"t0"}},
		{"killing tasks do not count", rollingApp(2, 1, 1, false), instances("v2 R", "v2 K"), 1, nil},
		{"upgrade (1, 1): start all new, keep all old", rollingApp(3, 1, 1, true), instances("v1 R +", "v1 R +", "v1 R +"), 3, nil},
		{"upgrade (1, 1): a healthy new one lets one old go", rollingApp(3, 1, 1, true),
			instances("v1 R +", "v1 R +", "v1 R +", "v2 R +", "v2 R", "v2 R -"), 0, []string{"t2"}},
		{"upgrade (1, 1): all new healthy, all old go", rollingApp(2, 1, 1, true),
			instances("v1 R +", "v1 R +", "v2 R +", "v2 R +"), 0, []string{"t1", "t0"}},
		{"upgrade (0.5, 0): kill down to the floor, then start", rollingApp(4, 0.5, 0, false),
			instances("v1 R", "v1 R", "v1 R", "v1 R"), 0, []string{"t3", "t2"}},
		{"upgrade (0.5, 0): tasks still being killed hold their room", rollingApp(4, 0.5, 0, false),
			instances("v1 R", "v1 R", "v1 K", "v1 K"), 0, nil},
		{"upgrade (0.5, 0): room made, start new", rollingApp(4, 0.5, 0, false),
			instances("v1 R", "v1 R"), 2, nil},
		{"upgrade (0.5, 0): the last old task, still being killed, holds its room", rollingApp(4, 0.5, 0, false),
			instances("v1 K", "v2 R", "v2 R"), 1, nil},
		{"upgrade (1, 0): no room and no spare health, replace one at a time", rollingApp(2, 1, 0, false),
			instances("v1 R", "v1 R"), 0, []string{"t1"}},
		{"upgrade: old that fail their checks go at once, starting ones count", rollingApp(2, 1, 1, true),
			instances("v1 S", "v1 R -", "v1 R +"), 1, []string{"t1"}},
		// The leader's view lags: the four may run already. Marathon's floor
		// holds on them: two go, two stay until their reports come in.
		{"upgrade: old still starting in the leader's view keep the floor", rollingApp(4, 0.5, 0, false),
			instances("v1 S", "v1 S", "v1 S", "v1 S"), 0, []string{"t3", "t2"}},
		{"upgrade: new never healthy, old keep serving", rollingApp(2, 1, 1, true),
			instances("v1 R +", "v1 R +", "v2 R -", "v2 R -"), 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := nextStep(tt.app, tt.insts, t0, nil)
			var killed []string
			for _, inst := range st.kill {
				killed = append(killed, inst.TaskID)
			}
			if st.launch != tt.launch || fmt.Sprint(killed) != fmt.Sprint(tt.kill) {
				t.Errorf("launch %d, kill %v; want launch %d, kill %v", st.launch, killed, tt.launch, tt.kill)
			}
		})
	}
}

func TestPlanAppKeepsGroupByBalanceOnScaleDown(t *testing.T) {
	app := rollingApp(3, 1, 1, false)
	app.Constraints = []marathon.Constraint{{"rack", "GROUP_BY"}}
	insts := instances("v2 R", "v2 R", "v2 R", "v2 R", "v2 R")
	rack := map[string]string{"t0": "r1", "t1": "r1", "t2": "r1", "t3": "r2", "t4": "r2"}
	st := nextStep(app, insts, t0, func(i *events.Instance) string { return rack[i.TaskID] })
	left := map[string]int{}
	killed := map[string]bool{}
	for _, inst := range st.kill {
		killed[inst.TaskID] = true
	}
	for _, inst := range insts {
		if !killed[inst.TaskID] {
			left[rack[inst.TaskID]]++
		}
	}
	if len(st.kill) != 2 || left["r1"]-left["r2"] > 1 || left["r2"]-left["r1"] > 1 {
		t.Errorf("killed %d, left per rack %v: want 2 killed and racks within one", len(st.kill), left)
	}
}

func TestUnreachableStrategy(t *testing.T) {
	app := rollingApp(1, 1, 1, false)
	inst := &events.Instance{TaskID: "t", Version: "v2", State: events.TaskUnreachable, UnreachableSince: t0}
	for _, tt := range []struct {
		raw    string
		at     time.Duration
		active bool
	}{
		{``, 0, false},
		{`"disabled"`, time.Hour, true},
		{`{"inactiveAfterSeconds": 60, "expungeAfterSeconds": 120}`, 30 * time.Second, true},
		{`{"inactiveAfterSeconds": 60, "expungeAfterSeconds": 120}`, 90 * time.Second, false},
	} {
		app.UnreachableStrategy = json.RawMessage(tt.raw)
		if got := activeUnreachable(app, inst, t0.Add(tt.at)); got != tt.active {
			t.Errorf("strategy %s after %s: active %v, want %v", tt.raw, tt.at, got, tt.active)
		}
		want := 0
		if !tt.active {
			want = 1
		}
		if st := nextStep(app, []*events.Instance{inst}, t0.Add(tt.at), nil); st.launch != want {
			t.Errorf("strategy %s after %s: launch %d, want %d", tt.raw, tt.at, st.launch, want)
		}
	}
}
