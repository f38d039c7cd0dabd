package view

import (
	"strings"

	"github.com/drover/drover/services/api/readmodel"
)

// epochVersion is the version of a root group no app ever changed.
const epochVersion = "1970-01-01T00:00:00.000Z"

// Group is a group as /v2/groups shows it.
type Group struct {
	ID           string   `json:"id"`
	Apps         *[]any   `json:"apps,omitempty"`
	Groups       *[]Group `json:"groups,omitempty"`
	Pods         *[]any   `json:"pods,omitempty"`
	Dependencies []string `json:"dependencies"`
	Version      string   `json:"version"`
}

// GroupEmbeds says what a group response carries.
type GroupEmbeds struct {
	Groups, Apps, Pods bool
	AppInfo            bool // apps with counts, deployments (and emb)
	Embeds             Embeds
}

func ParseGroupEmbeds(values []string) GroupEmbeds {
	if len(values) == 0 {
		return GroupEmbeds{Groups: true, Apps: true, Pods: true}
	}
	var g GroupEmbeds
	for _, v := range values {
		for item := range strings.SplitSeq(v, ",") {
			switch item = strings.TrimSpace(item); item {
			case "group.groups":
				g.Groups = true
			case "group.apps":
				g.Apps = true
			case "group.pods":
				g.Pods = true
			case "group.apps.tasks", "group.apps.counts", "group.apps.deployments", "group.apps.lastTaskFailure",
				"group.apps.failures", "group.apps.taskStats", "group.apps.readiness":
				g.Apps, g.AppInfo = true, true
			}
		}
	}
	g.Embeds = ParseEmbeds(values)
	return g
}

// GroupTree renders the group id from the apps under it. Called with the
// read lock held; ok is false when no app lies under a group other than root.
func GroupTree(st *readmodel.State, id string, emb GroupEmbeds) (Group, bool) {
	apps := st.AppsUnder(id)
	if len(apps) == 0 && id != "/" {
		return Group{}, false
	}
	return BuildGroup(st, id, apps, emb), true
}

// BuildGroup renders a group from the apps under it, sorted by id.
func BuildGroup(st *readmodel.State, id string, apps []readmodel.AppEntry, emb GroupEmbeds) Group {
	g := Group{ID: id, Dependencies: []string{}, Version: epochVersion}
	if id == "/" && st.ChangedAt != "" {
		g.Version = st.ChangedAt
	}
	var direct []any
	var subs []Group
	prefix := strings.TrimSuffix(id, "/") + "/"
	for i := 0; i < len(apps); {
		a := apps[i].Rec.App
		g.Version = max(g.Version, a.Version)
		rest := strings.TrimPrefix(a.ID, prefix)
		seg, _, nested := strings.Cut(rest, "/")
		if !nested {
			if emb.AppInfo {
				direct = append(direct, NewAppResponse(st, apps[i], emb.Embeds))
			} else {
				direct = append(direct, a)
			}
			i++
			continue
		}
		sub := prefix + seg
		j := i
		for j < len(apps) && strings.HasPrefix(apps[j].Rec.App.ID, sub+"/") {
			j++
		}
		sg := BuildGroup(st, sub, apps[i:j], emb)
		g.Version = max(g.Version, sg.Version)
		subs = append(subs, sg)
		i = j
	}
	if emb.Apps {
		if direct == nil {
			direct = []any{}
		}
		g.Apps = &direct
	}
	if emb.Groups {
		if subs == nil {
			subs = []Group{}
		}
		g.Groups = &subs
	}
	if emb.Pods {
		g.Pods = &[]any{}
	}
	return g
}
