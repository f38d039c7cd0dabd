package decide

import (
	"fmt"
	"slices"

	"github.com/drover/drover/pkg/deployplan"
	"github.com/drover/drover/pkg/events"
)

// finishDeployments removes every deployment whose apps have converged, every
// one a later deployment of the same apps superseded, and fails every one that
// made no end within the deployment timeout. The delete keeps the revision
// check (it lands only if the record is still the one judged), and the
// outcome's event is published only once the delete has landed.
func (w *work) finishDeployments() {
	if len(w.deployments) == 0 {
		return
	}
	w.indexByApp()
	defer func() { w.byApp = nil }()
	for key, ds := range w.deployments {
		var outcome, reason string
		switch {
		case w.superseded(ds.D):
		case w.converged(ds.D):
			outcome = events.EventDeploymentSuccess
		case w.now.Sub(ds.D.CreatedAt) > w.cfg.DeploymentTimeout:
			outcome, reason = events.EventDeploymentFailed, w.stuckReason(ds.D)
		default:
			continue
		}
		w.write(Write{DeleteDeployment: &DeploymentDelete{Key: key, Rev: ds.Rev}})
		delete(w.deployments, key)
		w.d.Finished = append(w.d.Finished, key)
		w.logger.Info("deployment finished", "deployment", key, "apps", ds.D.AffectedApps, "outcome", outcome, "reason", reason)
		if outcome != "" {
			w.write(Write{Event: &Event{Type: outcome, AfterPrevious: true, Payload: events.DeploymentEvent{
				EventType: outcome, Timestamp: w.timestamp(),
				ID: ds.D.ID, Plan: deployplan.Plan(ds.D), Reason: reason,
			}}})
		}
	}
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
