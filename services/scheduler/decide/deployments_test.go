package decide

import (
	"strings"
	"testing"
	"time"

	"github.com/drover/drover/pkg/events"
)

// TestDeploymentsFinish: a deployment ends when its apps converge
// (deployment_success), when a later one of the same app supersedes it (no
// event), or when it times out (deployment_failed with the reason); its
// delete checks the revision judged, and the event waits for the delete.
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
		{"superseded", 1, time.Minute, true, "", "", true},
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
			var event *Event
			for i, w := range h.last.Writes {
				if w.DeleteDeployment != nil && w.DeleteDeployment.Key == "d1" {
					deleted = w.DeleteDeployment
					if i+1 < len(h.last.Writes) && h.last.Writes[i+1].Event != nil {
						event = h.last.Writes[i+1].Event
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
