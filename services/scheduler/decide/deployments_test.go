package decide

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/drover/drover/pkg/deployplan"
	"github.com/drover/drover/pkg/events"
)

// TestDeploymentsFinish: a deployment ends when its apps converge
// (deployment_success), when a later one of the same app supersedes it
// (deployment_failed, cancelled, without a step failure: Marathon's
// cancellation), or when it times out (deployment_failed with the reason);
// its delete checks the revision judged, and the event waits for the delete.
func TestDeploymentsFinish(t *testing.T) {
	for _, tc := range []struct {
		name    string
		running int           // of the app's 2 instances
		age     time.Duration // of the deployment
		later   bool          // a later deployment of the same app exists
		outcome string        // the event; "" for none
		reason  string        // in the failure
		done    bool
	}{
		{"converged", 2, time.Minute, false, events.EventDeploymentSuccess, "", true},
		{"not yet", 1, time.Minute, false, "", "", false},
		{"superseded", 1, time.Minute, true, events.EventDeploymentFailed, events.ReasonCancelled, true},
		{"timed out, unplaceable", 1, 16 * time.Minute, false, events.EventDeploymentFailed, "could not be placed", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.app("/web", 2, `{"cpus":6}`)
			for i := range tc.running {
				h.task("web."+string(rune('a'+i)), "/web", "h1", h.now.Add(-time.Hour))
			}
			h.agent("h1")
			d := events.Deployment{ID: "d1", AffectedApps: []string{"/web"}, CreatedAt: h.now.Add(-tc.age),
				Steps: [][]events.DeploymentAction{{{Action: events.ActionScale, App: "/web"}}}}
			h.st.Deployments["d1"] = Deployment{D: d, Rev: 42}
			if tc.later {
				later := d
				later.ID, later.CreatedAt = "d2", h.now
				h.st.Deployments["d2"] = Deployment{D: later, Rev: 43}
			}
			h.pass()
			var deleted *DeploymentDelete
			var event, step *Event
			for i, w := range h.last.Writes {
				if w.DeleteDeployment != nil && w.DeleteDeployment.Key == "d1" {
					deleted = w.DeleteDeployment
					// The step's event, then the outcome's, each after the write before it.
					for _, after := range h.last.Writes[i+1:] {
						if after.Event == nil {
							break
						}
						if step == nil {
							step = after.Event
						}
						event = after.Event
					}
				}
			}
			if (deleted != nil) != tc.done || !tc.done && h.st.Deployments["d1"].Finishing {
				t.Fatalf("deleted %+v, want done %v", deleted, tc.done)
			}
			if !tc.done {
				return
			}
			if deleted.Rev != 42 || !h.st.Deployments["d1"].Finishing {
				t.Errorf("delete %+v, finishing %v; want at revision 42, and finishing", deleted, h.st.Deployments["d1"].Finishing)
			}
			switch {
			case tc.outcome == "" && event != nil:
				t.Errorf("event %s, want none", event.Type)
			case tc.outcome != "" && (event == nil || event.Type != tc.outcome || !event.AfterPrevious):
				t.Fatalf("event %+v, want %s after the delete", event, tc.outcome)
			case tc.reason != "" && !strings.Contains(event.Payload.(events.DeploymentEvent).Reason, tc.reason):
				t.Errorf("reason %q, want it to say %q", event.Payload.(events.DeploymentEvent).Reason, tc.reason)
			}
			wantStep := map[string]string{events.EventDeploymentSuccess: events.EventDeploymentStepOK,
				events.EventDeploymentFailed: events.EventDeploymentStepFailed}[tc.outcome]
			if tc.later {
				wantStep = tc.outcome // the outcome alone
			}
			if wantStep != "" && (step == nil || step.Type != wantStep || !step.AfterPrevious) {
				t.Errorf("step event %+v, want %s after the delete", step, wantStep)
			}
			// A pass before the bucket says it is gone does not finish it again.
			h.pass()
			for _, w := range h.last.Writes {
				if w.DeleteDeployment != nil && w.DeleteDeployment.Key == "d1" {
					t.Error("finished twice")
				}
			}
		})
	}
}

// TestDependenciesWait: an app in a later step of a deployment waits until
// the apps of the earlier steps converge.
func TestDependenciesWait(t *testing.T) {
	h := newHarness(t)
	h.app("/db", 1, "")
	h.app("/web", 1, "")
	h.agent("h1")
	h.st.Deployments["d1"] = Deployment{Rev: 1, D: events.Deployment{ID: "d1", AffectedApps: []string{"/db", "/web"}, CreatedAt: h.now,
		Steps: [][]events.DeploymentAction{{{Action: events.ActionStart, App: "/db"}}, {{Action: events.ActionStart, App: "/web"}}}}}
	h.pass()
	if h.count("/db") != 1 || h.count("/web") != 0 {
		t.Fatalf("%d db, %d web; want db first", h.count("/db"), h.count("/web"))
	}
	for id := range h.st.Instances {
		h.status(events.TaskStatus{AgentID: "h1", TaskID: id, State: events.TaskRunning})
	}
	h.pass()
	if h.count("/web") != 1 {
		t.Errorf("%d web once db runs, want 1", h.count("/web"))
	}
}

// TestDeploymentStepsPublishSuccess: every step of a two-step deployment
// (start an app, then scale it) publishes deployment_step_success, once,
// after the write that records the step done; the next step's
// deployment_info follows the first, and deployment_success the last.
func TestDeploymentStepsPublishSuccess(t *testing.T) {
	h := newHarness(t)
	a := h.app("/web", 2, "")
	a.DeploymentID, a.DeploymentSeen = "d1", true
	h.agent("h1")
	start := []events.DeploymentAction{{Action: events.ActionStart, App: "/web"}}
	scale := []events.DeploymentAction{{Action: events.ActionScale, App: "/web"}}
	d := events.Deployment{V: events.Version, ID: "d1", Version: a.Def.Version, AffectedApps: []string{"/web"},
		CreatedAt: h.now, Steps: [][]events.DeploymentAction{start, scale}}
	h.st.Deployments["d1"] = Deployment{D: d, Rev: 42}
	h.st.FullPlans = true // someone receives full plans

	// The app exists: the start is done, the scale is not (nothing runs).
	h.pass()
	var advanced *DeploymentAdvance
	var after []*Event
	for _, w := range h.last.Writes {
		switch {
		case w.AdvanceDeployment != nil:
			advanced = w.AdvanceDeployment
		case w.Event != nil && advanced != nil:
			after = append(after, w.Event)
		}
	}
	if advanced == nil || advanced.Rev != 42 || advanced.D.CurrentStep != 1 {
		t.Fatalf("advance %+v, want step 1 at revision 42", advanced)
	}
	wantStepEvents(t, after, []string{events.EventDeploymentStepOK, events.EventDeploymentInfo}, [][]events.DeploymentAction{start, scale})
	if h.st.Deployments["d1"].D.CurrentStep != 1 {
		t.Errorf("the leader's deployment is at step %d, want 1", h.st.Deployments["d1"].D.CurrentStep)
	}
	plan := after[0].Payload.(events.DeploymentInfoEvent).Plan
	if plan.Original == nil || len(plan.Original.Apps) != 0 || plan.Target == nil || len(plan.Target.Apps) != 1 || plan.Target.Apps[0].ID != "/web" {
		t.Errorf("plan %+v: want /web in the target only", plan)
	}

	// Another pass before the bucket delivers the write reports nothing again.
	h.pass()
	for _, w := range h.last.Writes {
		if w.AdvanceDeployment != nil || w.Event != nil && w.Event.Type == events.EventDeploymentStepOK {
			t.Fatalf("reported again: %+v", w)
		}
	}

	// The write lands (a new revision); both tasks run: the scale is done.
	ds := h.st.Deployments["d1"]
	ds.Rev = 43
	h.st.Deployments["d1"] = ds
	h.st.Instances = map[string]*events.Instance{}
	h.task("web.a", "/web", "h1", h.now.Add(-time.Minute))
	h.task("web.b", "/web", "h1", h.now.Add(-time.Minute))
	h.agent("h1")
	h.pass()
	var deleted *DeploymentDelete
	after = nil
	for _, w := range h.last.Writes {
		switch {
		case w.DeleteDeployment != nil:
			deleted = w.DeleteDeployment
		case w.Event != nil && deleted != nil:
			after = append(after, w.Event)
		}
	}
	if deleted == nil || deleted.Rev != 43 {
		t.Fatalf("delete %+v, want at revision 43", deleted)
	}
	wantStepEvents(t, after, []string{events.EventDeploymentStepOK, events.EventDeploymentSuccess}, [][]events.DeploymentAction{scale, nil})
}

// TestDeploymentPlansFollowDemand: the deployment events carry the plan's
// original and target only while someone receives them (State.FullPlans),
// or when the api that wrote the deployment knew of someone
// (Deployment.FullPlans); past deployplan.MaxPlanApps, never.
func TestDeploymentPlansFollowDemand(t *testing.T) {
	for _, tc := range []struct {
		name      string
		demand    bool // State.FullPlans
		record    bool // Deployment.FullPlans
		extraApps int
		wantFull  bool
	}{
		{name: "nobody receives them", wantFull: false},
		{name: "someone does", demand: true, wantFull: true},
		{name: "the writing api knew of someone", record: true, wantFull: true},
		{name: "too many apps to carry", demand: true, record: true, extraApps: deployplan.MaxPlanApps, wantFull: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.app("/web", 1, "")
			for i := range tc.extraApps {
				h.app(fmt.Sprintf("/other/a%d", i), 0, "")
			}
			h.task("web.a", "/web", "h1", h.now.Add(-time.Hour))
			h.agent("h1")
			h.st.FullPlans = tc.demand
			h.st.Deployments["d1"] = Deployment{Rev: 42, D: events.Deployment{V: events.Version, ID: "d1", Version: "2026-01-01T00:00:00.000Z",
				AffectedApps: []string{"/web"}, CreatedAt: h.now.Add(-time.Minute), FullPlans: tc.record,
				Steps: [][]events.DeploymentAction{{{Action: events.ActionStart, App: "/web"}}}}}
			h.pass()
			var plans []events.DeploymentPlan
			for _, w := range h.last.Writes {
				switch p := eventPayload(w).(type) {
				case events.DeploymentInfoEvent:
					plans = append(plans, p.Plan)
				case events.DeploymentEvent:
					plans = append(plans, p.Plan)
				}
			}
			if len(plans) != 2 {
				t.Fatalf("%d deployment events, want deployment_step_success and deployment_success", len(plans))
			}
			for _, p := range plans {
				if full := p.Original != nil && p.Target != nil; full != tc.wantFull || p.ID != "d1" || len(p.Steps) != 1 {
					t.Errorf("plan %s: original %v, target %v, steps %d; want full %v", p.ID, p.Original != nil, p.Target != nil, len(p.Steps), tc.wantFull)
				}
			}
		})
	}
}

// eventPayload is a write's event payload, nil for another write.
func eventPayload(w Write) any {
	if w.Event == nil {
		return nil
	}
	return w.Event.Payload
}

// wantStepEvents checks the events after a write: their types, that each
// waits for the one before it, and the step each carries (nil: none).
func wantStepEvents(t *testing.T, got []*Event, types []string, steps [][]events.DeploymentAction) {
	t.Helper()
	if len(got) != len(types) {
		t.Fatalf("%d events after the write, want %v", len(got), types)
	}
	for i, e := range got {
		if e.Type != types[i] || !e.AfterPrevious {
			t.Errorf("event %d: %s (after previous %v), want %s after the write before it", i, e.Type, e.AfterPrevious, types[i])
		}
		if steps[i] == nil {
			continue
		}
		info, ok := e.Payload.(events.DeploymentInfoEvent)
		if !ok || info.EventType != types[i] || !reflect.DeepEqual(info.CurrentStep.Actions, steps[i]) || info.Plan.ID != "d1" {
			t.Errorf("event %d: payload %+v, want currentStep %v of plan d1", i, e.Payload, steps[i])
		}
	}
}

// TestDeploymentWaitsForReadiness: a deployment of an app with readiness
// checks finishes only once every new task is ready, not when they run
// (Traefik routes a task of a running deployment only once it is ready,
// and takes the deployment's end for all of them being so).
func TestDeploymentWaitsForReadiness(t *testing.T) {
	h := newHarness(t)
	h.app("/web", 2, `{"readinessChecks":[{"name":"ready","protocol":"HTTP","path":"/ready","portName":"http"}]}`)
	ready := func(b bool) *bool { return &b }
	h.task("web.a", "/web", "h1", h.now.Add(-time.Minute)).Ready = ready(true)
	h.task("web.b", "/web", "h1", h.now.Add(-time.Minute))
	h.agent("h1")
	d := events.Deployment{ID: "d1", AffectedApps: []string{"/web"}, CreatedAt: h.now.Add(-time.Minute),
		Steps: [][]events.DeploymentAction{{{Action: events.ActionStart, App: "/web"}}}}
	h.st.Deployments["d1"] = Deployment{D: d, Rev: 1}
	outcome := func() string {
		for _, w := range h.last.Writes {
			if w.Event != nil && (w.Event.Type == events.EventDeploymentSuccess || w.Event.Type == events.EventDeploymentFailed) {
				return w.Event.Type
			}
		}
		return ""
	}
	for _, r := range []*bool{nil, ready(false)} {
		h.st.Instances["web.b"].Ready = r
		h.advance(time.Second)
		h.agent("h1")
		if h.pass(); outcome() != "" || h.st.Deployments["d1"].Finishing {
			t.Fatalf("web.b running, ready %v: deployment %s, want it to wait", r, outcome())
		}
	}
	h.st.Instances["web.b"].Ready = ready(true)
	h.advance(time.Second)
	h.agent("h1")
	if h.pass(); outcome() != events.EventDeploymentSuccess {
		t.Errorf("both ready: outcome %q, want deployment_success", outcome())
	}
}
