package decide

import (
	"slices"
	"sort"
	"time"

	"github.com/drover/drover/pkg/events"
)

// killUnknown kills every task an agent runs that the scheduler has no live
// instance of there: superseded tasks of an agent that came back, tasks of
// deleted apps, dead containers of finished tasks.
func (w *work) killUnknown() {
	for id, a := range w.agents {
		if a.State == events.AgentUnreachable || a.State == events.AgentDockerDown || a.ListedAt.IsZero() {
			continue // nothing to kill, or no kill to send, on a stale list
		}
		for _, t := range a.Heartbeat.Tasks {
			if inst, ok := w.instances[t.TaskID]; ok && inst.AgentID == id {
				continue
			}
			w.sendKill(id, t.TaskID, t.AppID)
		}
	}
}

// want is how many instances an app lacks and may launch now.
type want struct {
	appID   string
	count   int
	delayed bool // held back by the app's launch backoff
}

// scale kills what no app wants any more, takes each app one step toward
// its definition (nextStep: scaling, or a rolling upgrade), and returns how
// many instances each app still lacks and may launch now.
func (w *work) scale() []want {
	byApp := map[string][]*events.Instance{}
	for _, inst := range w.instances {
		byApp[inst.AppID] = append(byApp[inst.AppID], inst)
	}
	for appID, insts := range byApp {
		if w.app(appID) == nil {
			for _, inst := range insts {
				w.kill(inst)
			}
		}
	}
	var wants []want
	for appID, st := range w.in.Apps {
		field := groupByField(st.Def)
		groupOf := func(inst *events.Instance) string {
			if a := w.agents[inst.AgentID]; a != nil {
				if v, ok := fieldOf(a.Heartbeat, field); ok {
					return v
				}
			}
			return ""
		}
		w.killSentenced(st, byApp[appID])
		next := nextStep(st.Def, w.current(byApp[appID]), w.now, groupOf)
		for _, inst := range next.kill {
			w.kill(inst)
		}
		if next.launch <= 0 || w.waitsForDeployment(st) || w.waitsForDependencies(appID) {
			continue
		}
		wants = append(wants, want{appID: appID, count: next.launch, delayed: w.now.Before(w.backoff(appID).NotBefore)})
	}
	sort.Slice(wants, func(i, j int) bool { return wants[i].appID < wants[j].appID })
	return wants
}

// killSentenced kills the app's tasks its last write lowered the
// instances for (kill-and-scale), as Marathon's ScaleApplication kills the
// instances sentenced to death before it picks any: killed first, they
// count as killing in nextStep, which then has no excess left to pick
// from the healthy ones. A sentenced task already gone is nothing to do.
func (w *work) killSentenced(st *App, insts []*events.Instance) {
	for _, inst := range w.current(insts) {
		if inst.State != events.TaskKilling && slices.Contains(st.Sentenced, inst.TaskID) {
			w.kill(inst)
		}
	}
}

// current are the instances as they stand now: those of a kill above may
// have been copied since byApp was made.
func (w *work) current(insts []*events.Instance) []*events.Instance {
	out := make([]*events.Instance, 0, len(insts))
	for _, inst := range insts {
		if c, ok := w.instances[inst.TaskID]; ok {
			out = append(out, c)
		}
	}
	return out
}

func fieldOf(hb events.Heartbeat, field string) (string, bool) {
	if field == "hostname" || field == "@hostname" {
		return hb.Hostname, true
	}
	v, ok := hb.Attributes[field]
	return v, ok
}

// deploymentGrace is how long an app's new record waits for the deployment
// record written with it: the two buckets' watchers may deliver them in
// either order, and the deployment's steps may hold the app back.
const deploymentGrace = time.Second

func (w *work) waitsForDeployment(st *App) bool {
	return st.DeploymentID != "" && !st.DeploymentSeen && w.now.Sub(st.Changed) < deploymentGrace
}

// waitsForDependencies: a deployment puts the app in a later step than an app
// that has not converged yet (group dependencies deploy in order).
func (w *work) waitsForDependencies(appID string) bool {
	for _, ds := range w.deployments {
		for i, stepActions := range ds.D.Steps {
			if !stepHas(stepActions, appID) {
				continue
			}
			for _, earlier := range ds.D.Steps[:i] {
				for _, a := range earlier {
					if a.App != appID && !w.appConverged(a.App, a.Action == events.ActionStop) {
						return true
					}
				}
			}
		}
	}
	return false
}

func stepHas(actions []events.DeploymentAction, appID string) bool {
	for _, a := range actions {
		if a.App == appID {
			return true
		}
	}
	return false
}
