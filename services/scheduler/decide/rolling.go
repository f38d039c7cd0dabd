package decide

import (
	"encoding/json"
	"math"
	"sort"
	"time"

	"github.com/drover/drover/pkg/deployplan"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
)

// step is what one reconciliation pass does for one app: which instances to
// kill and how many to launch.
type step struct {
	kill   []*events.Instance
	launch int
}

// nextStep decides one app's next step from its instances, as a pure function.
// Without older-version instances it scales to the app's instances. With
// them it is a rolling upgrade (Marathon's TaskReplaceActor): at most
// floor(n × (1 + maximumOverCapacity)) instances at once, and never fewer
// than ceil(n × minimumHealthCapacity) serving ones — an instance serves when
// it runs and, where the app has health or readiness checks, passes them.
func nextStep(app marathon.App, insts []*events.Instance, now time.Time, groupOf func(*events.Instance) string) step {
	version := deployplan.ConfigVersion(&app)
	n := intValue(app.Instances)
	var old, cur []*events.Instance
	killing := 0
	for _, inst := range insts {
		switch {
		case inst.State == events.TaskKilling:
			killing++
		case !activeUnreachable(app, inst, now):
		case inst.Version != version:
			old = append(old, inst)
		default:
			cur = append(cur, inst)
		}
	}
	minServing, maxTotal := capacity(app, n)
	if len(old) == 0 {
		if len(cur) > n {
			return step{kill: pickVictims(app, cur, len(cur)-n, groupOf)}
		}
		// Tasks being killed run until their agent says otherwise: at the
		// end of a rolling upgrade, or an unhealthy task's replacement,
		// they count against the ceiling too.
		return step{launch: max(0, min(n-len(cur), maxTotal-len(cur)-killing))}
	}

	var st step
	servingCur := 0
	for _, inst := range cur {
		if serves(app, inst, true) {
			servingCur++
		}
	}
	var idle, servingOld []*events.Instance
	for _, inst := range old {
		if serves(app, inst, false) {
			servingOld = append(servingOld, inst)
		} else {
			idle = append(idle, inst)
		}
	}
	st.kill = idle // old instances that serve no one can always go
	spare := servingCur + len(servingOld) - minServing
	if servingCur >= n {
		spare = len(servingOld)
	}
	if spare > 0 {
		st.kill = append(st.kill, pickVictims(app, servingOld, min(spare, len(servingOld)), groupOf)...)
	}
	// With no room over capacity and no spare health (minimumHealthCapacity 1,
	// maximumOverCapacity 0) the only way forward is to replace one at a time.
	if minServing >= maxTotal && len(st.kill) == 0 && killing == 0 && len(cur) < n && len(old)+len(cur) >= maxTotal {
		st.kill = pickVictims(app, servingOld, 1, groupOf)
	}
	// Tasks being killed still run until their agent says otherwise, so
	// they count against the ceiling.
	st.launch = max(0, min(n-len(cur), maxTotal-len(old)-len(cur)-killing))
	return st
}

// capacity is the rolling upgrade's floor of serving instances and ceiling of
// all instances.
func capacity(app marathon.App, n int) (minServing, maxTotal int) {
	minHealth, maxOver := 1.0, 1.0
	if us := app.UpgradeStrategy; us != nil {
		minHealth, maxOver = us.MinimumHealthCapacity, us.MaximumOverCapacity
	}
	return int(math.Ceil(float64(n)*minHealth - 1e-9)), int(math.Floor(float64(n)*(1+maxOver) + 1e-9))
}

// serves: the instance runs and passes its checks. The current version's
// instances must have passed health and readiness checks if the app has
// them. An older version's count when not known to fail, and while they
// start, as in Marathon, which counts every active instance: the leader's
// view of a launch lags its agent (on a loaded machine a task runs well
// before its report is taken in), and taking starting instances for idle
// ones killed all of an app's running tasks at once. Victims are picked
// not running first, so the floor rests on the running ones where there
// are enough of them.
func serves(app marathon.App, inst *events.Instance, current bool) bool {
	if !current && (inst.State == events.TaskStaging || inst.State == events.TaskStarting) {
		return true
	}
	if inst.State != events.TaskRunning {
		return false
	}
	h := inst.Healthy()
	if !current {
		return h == nil || *h
	}
	if len(app.HealthChecks) > 0 && (h == nil || !*h) {
		return false
	}
	if len(app.ReadinessChecks) > 0 && (inst.Ready == nil || !*inst.Ready) {
		return false
	}
	return true
}

// pickVictims chooses k instances to kill: those not running first, then by
// the app's killSelection (YOUNGEST_FIRST by default), taking from the most
// crowded GROUP_BY value first so the spread stays balanced.
func pickVictims(app marathon.App, insts []*events.Instance, k int, groupOf func(*events.Instance) string) []*events.Instance {
	sorted := append([]*events.Instance(nil), insts...)
	oldestFirst := app.KillSelection == "OLDEST_FIRST"
	sort.SliceStable(sorted, func(i, j int) bool {
		ri, rj := sorted[i].State == events.TaskRunning, sorted[j].State == events.TaskRunning
		if ri != rj {
			return !ri
		}
		if oldestFirst {
			return sorted[i].StagedAt.Before(sorted[j].StagedAt)
		}
		return sorted[i].StagedAt.After(sorted[j].StagedAt)
	})
	if groupOf == nil || !hasGroupBy(app) {
		return sorted[:min(k, len(sorted))]
	}
	counts := map[string]int{}
	for _, inst := range sorted {
		counts[groupOf(inst)]++
	}
	var victims []*events.Instance
	taken := map[*events.Instance]bool{}
	for len(victims) < k && len(victims) < len(sorted) {
		var pick *events.Instance
		for _, inst := range sorted {
			if !taken[inst] && (pick == nil || counts[groupOf(inst)] > counts[groupOf(pick)]) {
				pick = inst
			}
		}
		taken[pick] = true
		counts[groupOf(pick)]--
		victims = append(victims, pick)
	}
	return victims
}

func hasGroupBy(app marathon.App) bool {
	for _, c := range app.Constraints {
		if c.Operator() == "GROUP_BY" {
			return true
		}
	}
	return false
}

// groupByField is the field of the app's first GROUP_BY constraint.
func groupByField(app marathon.App) string {
	for _, c := range app.Constraints {
		if c.Operator() == "GROUP_BY" {
			return c.Field()
		}
	}
	return ""
}

// unreachable is an app's unreachableStrategy.
type unreachable struct {
	disabled      bool
	inactiveAfter time.Duration
	expungeAfter  time.Duration
}

func unreachableStrategy(app marathon.App) unreachable {
	raw := app.UnreachableStrategy
	if len(raw) == 0 {
		return unreachable{}
	}
	var word string
	if json.Unmarshal(raw, &word) == nil {
		return unreachable{disabled: word == "disabled"}
	}
	var v struct {
		InactiveAfterSeconds float64 `json:"inactiveAfterSeconds"`
		ExpungeAfterSeconds  float64 `json:"expungeAfterSeconds"`
	}
	_ = json.Unmarshal(raw, &v)
	return unreachable{
		inactiveAfter: time.Duration(v.InactiveAfterSeconds * float64(time.Second)),
		expungeAfter:  time.Duration(v.ExpungeAfterSeconds * float64(time.Second)),
	}
}

// activeUnreachable: an instance counts toward its app unless it has been
// unreachable for longer than the app's inactiveAfterSeconds.
func activeUnreachable(app marathon.App, inst *events.Instance, now time.Time) bool {
	if inst.State != events.TaskUnreachable {
		return true
	}
	us := unreachableStrategy(app)
	return us.disabled || now.Sub(inst.UnreachableSince) < us.inactiveAfter
}

func intValue(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}
