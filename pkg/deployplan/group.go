package deployplan

import (
	"slices"
	"strings"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
)

// MaxPlanApps bounds the apps a plan's original and target carry: past it
// a deployment's events are light (Marathon's own heavy events made
// /v2/events unusable in large clusters, and NATS refuses large messages;
// see events.MaxEventBytes for the other bound).
const MaxPlanApps = 500

// Full reports whether the events of deployment d carry full plans, with
// demand saying whether someone receives them now (package plandemand):
// when someone does, or the api that wrote d knew of someone
// (d.FullPlans), and the cluster's apps are few enough (MaxPlanApps).
func Full(d events.Deployment, demand bool, apps int) bool {
	return (demand || d.FullPlans) && apps <= MaxPlanApps
}

// epochVersion is the version of a group no app ever changed.
const epochVersion = "1970-01-01T00:00:00.000Z"

// FullPlan is Plan with the root group before the deployment (original)
// and after it (target), built from the apps of the whole cluster as they
// were and as the deployment leaves them. Past MaxPlanApps in either, the
// plan is light (Plan).
func FullPlan(d events.Deployment, original, target []marathon.App) events.DeploymentPlan {
	p := Plan(d)
	if len(original) > MaxPlanApps || len(target) > MaxPlanApps {
		return p
	}
	p.Original = RootGroup(original, "")
	p.Target = RootGroup(target, d.Version)
	return p
}

// RootGroup is the root group of apps as /v2/groups renders it: apps by
// id in nested groups, each group's version the latest of its apps' (and
// the root's at least version).
func RootGroup(apps []marathon.App, version string) *events.Group {
	sorted := slices.Clone(apps)
	slices.SortFunc(sorted, func(a, b marathon.App) int { return strings.Compare(a.ID, b.ID) })
	g := buildGroup("/", sorted)
	g.Version = max(g.Version, version)
	return &g
}

// buildGroup renders group id from the apps under it, sorted by id.
func buildGroup(id string, apps []marathon.App) events.Group {
	g := events.Group{ID: id, Apps: []marathon.App{}, Groups: []events.Group{}, Pods: []any{},
		Dependencies: []string{}, Version: epochVersion}
	prefix := strings.TrimSuffix(id, "/") + "/"
	for i := 0; i < len(apps); {
		a := apps[i]
		g.Version = max(g.Version, a.Version)
		seg, _, nested := strings.Cut(strings.TrimPrefix(a.ID, prefix), "/")
		if !nested {
			g.Apps = append(g.Apps, a)
			i++
			continue
		}
		sub := prefix + seg
		j := i
		for j < len(apps) && strings.HasPrefix(apps[j].ID, sub+"/") {
			j++
		}
		sg := buildGroup(sub, apps[i:j])
		g.Version = max(g.Version, sg.Version)
		g.Groups = append(g.Groups, sg)
		i = j
	}
	return g
}
