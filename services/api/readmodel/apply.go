package readmodel

import (
	"slices"

	"github.com/drover/drover/pkg/events"
	"github.com/nats-io/nats.go/jetstream"
)

// The reset and apply functions below run with the lock held.

func (rm *Model) resetApps() {
	rm.s.Apps, rm.s.IDs, rm.s.Versions, rm.s.ChangedAt = map[string]AppEntry{}, nil, map[string]*AppVersions{}, ""
}

func (rm *Model) applyApp(e jetstream.KeyValueEntry) {
	id := events.AppIDFromKey(e.Key())
	vs := rm.s.Versions[id]
	if e.Operation() != jetstream.KeyValuePut {
		rm.removeApp(id)
		if vs != nil {
			vs.Gone = true
		}
		rm.s.ChangedAt = max(rm.s.ChangedAt, e.Created().UTC().Format(events.TimeFormat))
		return
	}
	rec, err := events.Decode[events.AppRecord](e.Value())
	if err != nil {
		rm.logger.Warn("skipping app record", "key", e.Key(), "revision", e.Revision(), "error", err)
		rm.removeApp(id)
		return
	}
	rec.App.ID = id
	if _, ok := rm.s.Apps[id]; !ok {
		i, _ := slices.BinarySearch(rm.s.IDs, id)
		rm.s.IDs = slices.Insert(rm.s.IDs, i, id)
	}
	rm.s.Apps[id] = AppEntry{Rec: rec, Rev: e.Revision()}
	if vs == nil || vs.Gone {
		vs = &AppVersions{}
		rm.s.Versions[id] = vs
	}
	refs := append(slices.Clip(vs.Refs), VersionRef{Version: rec.App.Version, Rev: e.Revision(), DeploymentID: rec.DeploymentID})
	if len(refs) > rm.history {
		refs = refs[len(refs)-rm.history:]
	}
	vs.Refs = refs
	rm.s.ChangedAt = max(rm.s.ChangedAt, rec.App.Version)
}

func (rm *Model) removeApp(id string) {
	if _, ok := rm.s.Apps[id]; !ok {
		return
	}
	delete(rm.s.Apps, id)
	if i, found := slices.BinarySearch(rm.s.IDs, id); found {
		rm.s.IDs = slices.Delete(slices.Clip(rm.s.IDs), i, i+1)
	}
}

func (rm *Model) resetInstances() {
	rm.s.Instances = map[string]events.Instance{}
	rm.s.ByApp = map[string]map[string]struct{}{}
}

func (rm *Model) applyInstance(e jetstream.KeyValueEntry) {
	key := e.Key()
	if old, ok := rm.s.Instances[key]; ok {
		delete(rm.s.ByApp[old.AppID], key)
		if len(rm.s.ByApp[old.AppID]) == 0 {
			delete(rm.s.ByApp, old.AppID)
		}
		delete(rm.s.Instances, key)
	}
	if e.Operation() != jetstream.KeyValuePut {
		return
	}
	in, err := events.Decode[events.Instance](e.Value())
	if err != nil {
		rm.logger.Warn("skipping instance record", "key", key, "revision", e.Revision(), "error", err)
		return
	}
	rm.s.Instances[key] = in
	if rm.s.ByApp[in.AppID] == nil {
		rm.s.ByApp[in.AppID] = map[string]struct{}{}
	}
	rm.s.ByApp[in.AppID][key] = struct{}{}
	if failed(in.State) {
		if last, ok := rm.s.Failures[in.AppID]; !ok || !in.UpdatedAt.Before(last.UpdatedAt) {
			rm.s.Failures[in.AppID] = in
		}
	}
}

// failed reports whether a task in this state failed (rather than being
// killed or finishing), which makes it its app's lastTaskFailure.
func failed(s events.TaskState) bool {
	switch s {
	case events.TaskFailed, events.TaskError, events.TaskLost, events.TaskDropped, events.TaskGone, events.TaskUnknown:
		return true
	}
	return false
}

func (rm *Model) resetDeployments() {
	rm.s.Deployments, rm.s.DepsByApp = map[string]events.Deployment{}, map[string]map[string]struct{}{}
}

func (rm *Model) applyDeployment(e jetstream.KeyValueEntry) {
	key := e.Key()
	if old, ok := rm.s.Deployments[key]; ok {
		for _, app := range old.AffectedApps {
			delete(rm.s.DepsByApp[app], key)
			if len(rm.s.DepsByApp[app]) == 0 {
				delete(rm.s.DepsByApp, app)
			}
		}
		delete(rm.s.Deployments, key)
	}
	if e.Operation() != jetstream.KeyValuePut {
		return
	}
	d, err := events.Decode[events.Deployment](e.Value())
	if err != nil {
		rm.logger.Warn("skipping deployment record", "key", key, "revision", e.Revision(), "error", err)
		return
	}
	rm.s.Deployments[key] = d
	for _, app := range d.AffectedApps {
		if rm.s.DepsByApp[app] == nil {
			rm.s.DepsByApp[app] = map[string]struct{}{}
		}
		rm.s.DepsByApp[app][key] = struct{}{}
	}
}

func (rm *Model) resetQueue() { rm.s.Queue = map[string]events.QueueEntry{} }

func (rm *Model) applyQueue(e jetstream.KeyValueEntry) {
	id := events.AppIDFromKey(e.Key())
	if e.Operation() != jetstream.KeyValuePut {
		delete(rm.s.Queue, id)
		return
	}
	q, err := events.Decode[events.QueueEntry](e.Value())
	if err != nil {
		rm.logger.Warn("skipping queue entry", "key", e.Key(), "revision", e.Revision(), "error", err)
		delete(rm.s.Queue, id)
		return
	}
	rm.s.Queue[id] = q
}

func (rm *Model) resetAgents() { rm.s.Agents = map[string]events.AgentRecord{} }

func (rm *Model) applyAgent(e jetstream.KeyValueEntry) {
	key := e.Key()
	if e.Operation() != jetstream.KeyValuePut {
		delete(rm.s.Agents, key)
		return
	}
	rec, err := events.Decode[events.AgentRecord](e.Value())
	if err != nil {
		rm.logger.Warn("skipping agent record", "key", key, "revision", e.Revision(), "error", err)
		delete(rm.s.Agents, key)
		return
	}
	rm.s.Agents[key] = rec
}

func (rm *Model) resetLeader() { rm.s.Leader = nil }

func (rm *Model) applyLeader(e jetstream.KeyValueEntry) {
	if e.Key() != events.LeaderKey {
		return
	}
	if e.Operation() != jetstream.KeyValuePut {
		rm.s.Leader = nil
		return
	}
	rec, err := events.Decode[events.LeaderRecord](e.Value())
	if err != nil {
		rm.logger.Warn("skipping leader record", "revision", e.Revision(), "error", err)
		rm.s.Leader = nil
		return
	}
	rm.s.Leader, rm.s.LeaderSeen = &rec, rm.now()
}
