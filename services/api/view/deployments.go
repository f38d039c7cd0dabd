package view

import (
	"encoding/json"

	"github.com/drover/drover/pkg/deployplan"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/services/api/readmodel"
)

// Deployment is a running deployment as GET /v2/deployments shows it.
type Deployment struct {
	ID             string          `json:"id"`
	Version        string          `json:"version"`
	AffectedApps   []string        `json:"affectedApps"`
	AffectedPods   []string        `json:"affectedPods"`
	Steps          []Step          `json:"steps"`
	CurrentActions []currentAction `json:"currentActions"`
	CurrentStep    int             `json:"currentStep"`
	TotalSteps     int             `json:"totalSteps"`
}

type Step struct {
	Actions []events.DeploymentAction `json:"actions"`
}

type currentAction struct {
	Action                string           `json:"action"`
	App                   string           `json:"app"`
	ReadinessCheckResults []readinessCheck `json:"readinessCheckResults"`
}

// readinessCheck is Marathon's readiness check result of one task. Drover's
// agents report a verdict only, so lastResponse is null.
type readinessCheck struct {
	Name         string `json:"name"`
	TaskID       string `json:"taskId"`
	Ready        bool   `json:"ready"`
	LastResponse any    `json:"lastResponse"`
}

func NewDeployment(st *readmodel.State, d events.Deployment) Deployment {
	j := Deployment{
		ID: d.ID, Version: d.Version, AffectedApps: append([]string{}, d.AffectedApps...), AffectedPods: []string{},
		Steps: []Step{}, CurrentActions: []currentAction{}, TotalSteps: len(d.Steps),
	}
	for _, step := range d.Steps {
		j.Steps = append(j.Steps, Step{Actions: append([]events.DeploymentAction{}, step...)})
	}
	if len(d.Steps) == 0 {
		return j
	}
	cur := min(max(d.CurrentStep, 0), len(d.Steps)-1)
	j.CurrentStep = cur + 1 // Marathon counts steps from 1
	for _, a := range d.Steps[cur] {
		j.CurrentActions = append(j.CurrentActions, currentAction{
			Action: a.Action, App: a.App, ReadinessCheckResults: readinessResults(st, a.App),
		})
	}
	return j
}

// readinessResults are the readiness verdicts of an app's current tasks.
func readinessResults(st *readmodel.State, appID string) []readinessCheck {
	out := []readinessCheck{}
	e, ok := st.Apps[appID]
	if !ok || len(e.Rec.App.ReadinessChecks) == 0 {
		return out
	}
	var first struct {
		Name string `json:"name"`
	}
	_ = json.Unmarshal(e.Rec.App.ReadinessChecks[0], &first)
	if first.Name == "" {
		first.Name = "readinessCheck"
	}
	version := deployplan.ConfigVersion(&e.Rec.App)
	for _, in := range st.AppInstances(appID) {
		if in.Ready == nil || in.Version != version || in.State.Terminal() {
			continue
		}
		out = append(out, readinessCheck{Name: first.Name, TaskID: in.TaskID, Ready: *in.Ready})
	}
	return out
}
