package deployplan

import (
	"strings"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
)

// Plan is a deployment as Marathon's events carry it (deployment_info,
// deployment_success, deployment_failed). Steps is never null.
func Plan(d events.Deployment) events.DeploymentPlan {
	p := events.DeploymentPlan{ID: d.ID, Version: d.Version, Steps: []events.DeploymentPlanStep{}}
	for _, step := range d.Steps {
		p.Steps = append(p.Steps, events.DeploymentPlanStep{Actions: step})
	}
	return p
}

// ConfigVersion is the version an app's tasks run: its last configuration
// change, so that scaling does not replace running tasks.
func ConfigVersion(app *marathon.App) string {
	if app.VersionInfo != nil && app.VersionInfo.LastConfigChangeAt != "" {
		return app.VersionInfo.LastConfigChangeAt
	}
	return app.Version
}

// InGroup reports whether an app id lies under a group ("/" holds all).
func InGroup(appID, group string) bool {
	return group == "/" || strings.HasPrefix(appID, group+"/")
}
