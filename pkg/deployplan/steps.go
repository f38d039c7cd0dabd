package deployplan

import (
	"cmp"
	"slices"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
)

// Change is one app's part in a change.
type Change struct {
	ID string
	// Next is the definition after the change; nil when it deletes the app.
	Next *marathon.App
	// Action is the deployment action the app needs (events.ActionStart,
	// ActionStop, ActionScale, ActionRestart); "" for none.
	Action string
}

// Apps is the apps as they stand before a change.
type Apps interface {
	// App is an app's definition; nil if there is no such app.
	App(id string) *marathon.App
	// Under is the ids of the apps under a group, sorted.
	Under(group string) []string
}

// Steps orders a change's actions as Marathon does: stop the apps removed,
// start the new ones (at 0 instances), then scale and restart in dependency
// order, one step per layer of the dependency graph.
func Steps(apps Apps, changes []Change) [][]events.DeploymentAction {
	steps := [][]events.DeploymentAction{}
	var stops, starts []events.DeploymentAction
	for _, c := range changes {
		switch c.Action {
		case events.ActionStop:
			stops = append(stops, events.DeploymentAction{Action: events.ActionStop, App: c.ID})
		case events.ActionStart:
			starts = append(starts, events.DeploymentAction{Action: events.ActionStart, App: c.ID})
		}
	}
	for _, s := range [][]events.DeploymentAction{stops, starts} {
		if len(s) > 0 {
			steps = append(steps, s)
		}
	}
	g := FinalGraph(apps, changes)
	layers := map[int][]events.DeploymentAction{}
	top := -1
	for _, c := range changes {
		var a string
		switch c.Action {
		case events.ActionStart, events.ActionScale:
			a = events.ActionScale
		case events.ActionRestart:
			a = events.ActionRestart
		default:
			continue
		}
		l := g.level(c.ID, map[string]bool{})
		layers[l] = append(layers[l], events.DeploymentAction{Action: a, App: c.ID})
		top = max(top, l)
	}
	for l := 0; l <= top; l++ {
		if len(layers[l]) > 0 {
			slices.SortFunc(layers[l], func(a, b events.DeploymentAction) int { return cmp.Compare(a.App, b.App) })
			steps = append(steps, layers[l])
		}
	}
	return steps
}
