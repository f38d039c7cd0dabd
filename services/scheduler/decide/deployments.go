package decide

import (
	"fmt"
	"maps"
	"slices"

	"github.com/drover/drover/pkg/deployplan"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
)

// finishDeployments removes every deployment whose apps have converged, every
// one a later deployment of the same apps superseded, and fails every one that
// made no end within the deployment timeout. The delete keeps the revision
// check (it lands only if the record is still the one judged), and the
// outcome's events are published only once the delete has landed: a
// deployment_step_success for each step not yet reported (and the
// deployment_info of each step after the first), then deployment_success;
// or deployment_step_failure for the step it was at, then
// deployment_failed. A deployment that goes on but whose first steps are
// done advances (advanceDeployment).
func (w *work) finishDeployments() {
	if len(w.deployments) == 0 {
		return
	}
	w.indexByApp()
	defer func() { w.byApp = nil }()
	for _, key := range slices.Sorted(maps.Keys(w.deployments)) {
		ds := w.deployments[key]
		var outcome, reason string
		superseded := w.superseded(ds.D)
		switch {
		case superseded:
			// Its record outlived the forced change that cancels it (the api
			// deletes it, and reports it, unless this delete lands first).
			outcome, reason = events.EventDeploymentFailed, events.ReasonCancelled
		case w.converged(ds.D):
			outcome = events.EventDeploymentSuccess
		case w.now.Sub(ds.D.CreatedAt) > w.cfg.DeploymentTimeout:
			outcome, reason = events.EventDeploymentFailed, w.stuckReason(ds.D)
		default:
			w.advanceDeployment(key, ds)
			continue
		}
		w.write(Write{DeleteDeployment: &DeploymentDelete{Key: key, Rev: ds.Rev}})
		delete(w.deployments, key)
		w.d.Finished = append(w.d.Finished, key)
		w.logger.Info("deployment finished", "deployment", key, "apps", ds.D.AffectedApps, "outcome", outcome, "reason", reason)
		if outcome == "" {
			continue
		}
		plan := w.plan(ds.D)
		cur := currentStep(ds.D)
		if outcome == events.EventDeploymentSuccess {
			w.stepEvents(ds.D, plan, cur, len(ds.D.Steps))
		} else if cur < len(ds.D.Steps) && !superseded {
			w.stepEvent(events.EventDeploymentStepFailed, plan, ds.D.Steps[cur])
		}
		w.write(Write{Event: &Event{Type: outcome, AfterPrevious: true, Payload: events.DeploymentEvent{
			EventType: outcome, Timestamp: w.timestamp(),
			ID: ds.D.ID, Plan: plan, Reason: reason,
		}}})
	}
}

// advanceDeployment moves a deployment that goes on past the steps it has
// done: its record is written again with the step it is now at (checked
// against the revision judged, so that only one pass, of one leader,
// reports a step), then, once that write has landed, a
// deployment_step_success for each step done and the deployment_info of
// the step it is now at, as Marathon publishes them.
func (w *work) advanceDeployment(key string, ds Deployment) {
	cur := currentStep(ds.D)
	next := cur
	for next < len(ds.D.Steps)-1 && w.stepDone(ds.D, ds.D.Steps[next]) {
		next++
	}
	if next == cur {
		return
	}
	d := ds.D
	d.CurrentStep = next
	w.write(Write{AdvanceDeployment: &DeploymentAdvance{Key: key, Rev: ds.Rev, D: d}})
	w.logger.Info("deployment step done", "deployment", key, "step", next, "of", len(d.Steps))
	plan := w.plan(d)
	w.stepEvents(d, plan, cur, next)
	w.stepEvent(events.EventDeploymentInfo, plan, d.Steps[next])
}

// currentStep is the index of the step a deployment is at (0 for the first).
func currentStep(d events.Deployment) int { return min(max(d.CurrentStep, 0), len(d.Steps)) }

// stepEvents are the events of steps from to to (exclusive) ending well:
// deployment_step_success for each, and deployment_info for each after the
// first (the step before it published the first's).
func (w *work) stepEvents(d events.Deployment, plan events.DeploymentPlan, from, to int) {
	for i := from; i < to; i++ {
		if i > from {
			w.stepEvent(events.EventDeploymentInfo, plan, d.Steps[i])
		}
		w.stepEvent(events.EventDeploymentStepOK, plan, d.Steps[i])
	}
}

// stepEvent writes one event of a step, after the write before it.
func (w *work) stepEvent(eventType string, plan events.DeploymentPlan, step []events.DeploymentAction) {
	w.write(Write{Event: &Event{Type: eventType, AfterPrevious: true, Payload: events.DeploymentInfoEvent{
		EventType: eventType, Timestamp: w.timestamp(), Plan: plan,
		CurrentStep: events.DeploymentPlanStep{Actions: step},
	}}})
}

// stepDone: every action of a step is done. A start is done once the app
// exists at the deployment's version (Marathon starts it at 0 instances and
// scales it in a later step); a stop once the app is gone and runs
// nothing; a scale or restart once the app has converged at the
// deployment's version.
func (w *work) stepDone(d events.Deployment, step []events.DeploymentAction) bool {
	for _, a := range step {
		st := w.app(a.App)
		switch a.Action {
		case events.ActionStop:
			if !w.appConverged(a.App, true) {
				return false
			}
		case events.ActionStart:
			if st == nil || st.Def.Version < d.Version {
				return false
			}
		default:
			if st == nil || st.Def.Version < d.Version || !w.appConverged(a.App, false) {
				return false
			}
		}
	}
	return true
}

// plan is a deployment as its events carry it: with the root group before
// it and after it, from the apps as the leader follows them, when someone
// receives full plans (State.FullPlans, or the api that wrote the
// deployment knew of someone: Deployment.FullPlans); light otherwise. The
// target is the apps as they are now; the original has each app the
// deployment changed as it was before (App.Prev: known when the leader saw
// the change happen; else the app as it is), without the apps it started,
// and with those it stopped (State.Removed).
func (w *work) plan(d events.Deployment) events.DeploymentPlan {
	if !deployplan.Full(d, w.in.FullPlans, len(w.in.Apps)) {
		return deployplan.Plan(d)
	}
	actions := map[string]string{}
	for _, step := range d.Steps {
		for _, a := range step {
			if a.Action == events.ActionStart || a.Action == events.ActionStop || actions[a.App] == "" {
				actions[a.App] = a.Action
			}
		}
	}
	var original, target []marathon.App
	for id, st := range w.in.Apps {
		target = append(target, st.Def)
		switch {
		case actions[id] == events.ActionStart:
		case actions[id] != "" && st.DeploymentID == d.ID && st.Prev != nil:
			original = append(original, *st.Prev)
		default:
			original = append(original, st.Def)
		}
	}
	for id, action := range actions {
		if prev, ok := w.in.Removed[id]; ok && action == events.ActionStop && w.app(id) == nil {
			original = append(original, prev)
		}
	}
	return deployplan.FullPlan(d, original, target)
}

// stuckReason says why a deployment could not finish.
func (w *work) stuckReason(d events.Deployment) string {
	for _, appID := range d.AffectedApps {
		if q, ok := w.queue[appID]; ok {
			if len(q.Rejected) > 0 {
				return fmt.Sprintf("%s: %d instance(s) could not be placed on any of %d agents (rejected: %v)", appID, q.Count, q.Agents, q.Rejected)
			}
			if !q.DelayUntil.IsZero() {
				return fmt.Sprintf("%s: launches delayed by backoff after repeated task failures", appID)
			}
		}
		if !w.appConverged(appID, false) {
			return fmt.Sprintf("%s: new instances did not become healthy and ready within %s", appID, w.cfg.DeploymentTimeout)
		}
	}
	return fmt.Sprintf("not finished within %s", w.cfg.DeploymentTimeout)
}

// superseded: a later deployment affects one of the same apps.
func (w *work) superseded(d events.Deployment) bool {
	for _, other := range w.deployments {
		if other.D.ID == d.ID || !other.D.CreatedAt.After(d.CreatedAt) {
			continue
		}
		for _, a := range other.D.AffectedApps {
			if slices.Contains(d.AffectedApps, a) {
				return true
			}
		}
	}
	return false
}

// converged: every affected app has converged; apps the deployment stops
// must be gone.
func (w *work) converged(d events.Deployment) bool {
	stops := map[string]bool{}
	for _, step := range d.Steps {
		for _, a := range step {
			if a.Action == events.ActionStop {
				stops[a.App] = true
			}
		}
	}
	for _, appID := range d.AffectedApps {
		if !w.appConverged(appID, stops[appID]) {
			return false
		}
		// The app as this scheduler sees it must be the version the
		// deployment wrote (its watcher may not have delivered it yet).
		if st := w.app(appID); st != nil && !stops[appID] && d.Version != "" && st.Def.Version < d.Version {
			return false
		}
	}
	return true
}

// indexByApp groups the instances by app while deployments finish (w.byApp).
func (w *work) indexByApp() {
	w.byApp = make(map[string][]*events.Instance, len(w.in.Apps))
	for _, inst := range w.instances {
		w.byApp[inst.AppID] = append(w.byApp[inst.AppID], inst)
	}
}

// appConverged: the app runs exactly its instances at its version, each
// serving (healthy and ready where it has checks), and nothing else; or, when
// stopped, it is gone and runs nothing.
func (w *work) appConverged(appID string, stopped bool) bool {
	st := w.app(appID)
	exists := st != nil
	if exists == stopped {
		return false // not yet written, or not yet deleted, as this watcher sees it
	}
	serving, other := 0, 0
	insts := w.byApp[appID]
	if w.byApp == nil {
		for _, inst := range w.instances {
			if inst.AppID == appID {
				insts = append(insts, inst)
			}
		}
	}
	for _, inst := range insts {
		if exists && inst.Version == deployplan.ConfigVersion(&st.Def) && serves(st.Def, inst, true) {
			serving++
		} else {
			other++
		}
	}
	return other == 0 && (!exists || serving == intValue(st.Def.Instances))
}
