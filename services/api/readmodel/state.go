package readmodel

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/drover/drover/pkg/events"
)

// AppEntry is an app record and the apps-bucket revision that wrote it.
type AppEntry struct {
	Rec events.AppRecord
	Rev uint64
}

// State is what the read model holds. Values are replaced, never modified,
// so what a reader copies out stays valid after the lock is released.
type State struct {
	Apps        map[string]AppEntry            // by app id ("/web")
	IDs         []string                       // the keys of apps, sorted
	Instances   map[string]events.Instance     // by task id
	ByApp       map[string]map[string]struct{} // app id -> its task ids
	Deployments map[string]events.Deployment   // by deployment id
	DepsByApp   map[string]map[string]struct{} // app id -> the deployments affecting it
	Failures    map[string]events.Instance     // app id -> its last failed task
	Versions    map[string]*AppVersions        // app id -> its versions, oldest first
	Queue       map[string]events.QueueEntry   // app id -> why it waits
	Agents      map[string]events.AgentRecord  // by agent id
	Leader      *events.LeaderRecord
	LeaderSeen  time.Time // when this replica last saw the leader record written
	// changedAt is the version of the last change to any app, deletes
	// included: the root group's version.
	ChangedAt string
}

// VersionRef is one stored version of an app: enough to list it, and to
// fetch its definition from the apps bucket by revision.
type VersionRef struct {
	Version      string
	Rev          uint64
	DeploymentID string
}

// AppVersions is an app's version index. Once the app is deleted, Gone
// is set and Refs are kept (for a rollback of the deletion) until it is
// created again, when its history starts over, as in Marathon.
type AppVersions struct {
	Refs []VersionRef
	Gone bool
}

// Queries on the state, for handlers inside Read.

// SortedApps is every app, by id.
func (s *State) SortedApps() []AppEntry {
	out := make([]AppEntry, 0, len(s.IDs))
	for _, id := range s.IDs {
		out = append(out, s.Apps[id])
	}
	return out
}

// AppsUnder is every app under a group ("/" for all), by id.
func (s *State) AppsUnder(group string) []AppEntry {
	if group == "/" {
		return s.SortedApps()
	}
	prefix := group + "/"
	i, _ := slices.BinarySearch(s.IDs, prefix)
	var out []AppEntry
	for ; i < len(s.IDs) && strings.HasPrefix(s.IDs[i], prefix); i++ {
		out = append(out, s.Apps[s.IDs[i]])
	}
	return out
}

// AppInstances is every instance record of an app, by task id.
func (s *State) AppInstances(appID string) []events.Instance {
	out := make([]events.Instance, 0, len(s.ByApp[appID]))
	for key := range s.ByApp[appID] {
		out = append(out, s.Instances[key])
	}
	slices.SortFunc(out, func(a, b events.Instance) int { return cmp.Compare(a.TaskID, b.TaskID) })
	return out
}

// AppDeployments is every running deployment that affects an app, oldest first.
func (s *State) AppDeployments(appID string) []events.Deployment {
	var out []events.Deployment
	for key := range s.DepsByApp[appID] {
		out = append(out, s.Deployments[key])
	}
	slices.SortFunc(out, func(a, b events.Deployment) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out
}
