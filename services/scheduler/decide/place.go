package decide

import (
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/scheduler/placement"
)

// place asks the placement function for the wanted instances and launches
// what it placed. What waits — for backoff, or for an agent that can take
// it — goes to the queue bucket with the reasons.
func (w *work) place(wants []want) {
	var agents []placement.Agent
	for id, a := range w.agents {
		agents = append(agents, toPlacementAgent(id, a))
	}
	var requests []placement.Request
	waiting := map[string]int{}
	specs := map[string]marathon.TaskSpec{} // each app resolved once a pass
	for _, wt := range wants {
		waiting[wt.appID] = wt.count
		if !wt.delayed {
			def := w.app(wt.appID).Def
			specs[wt.appID] = taskSpec(def)
			req := placementRequest(def, specs[wt.appID], wt.count)
			w.d.Passes++
			req.PortSeed = w.d.Passes // a retried launch seeks other ports
			requests = append(requests, req)
		}
	}
	var placed placement.Result
	if len(requests) > 0 {
		var tasks []placement.Task
		for _, inst := range w.instances {
			var res placement.Resources
			if a := w.app(inst.AppID); a != nil {
				res = appResources(a.Def)
			}
			tasks = append(tasks, placement.Task{ID: inst.TaskID, AppID: inst.AppID, AgentID: inst.AgentID, Resources: res, HostPorts: inst.HostPorts})
		}
		placed = placement.Place(agents, tasks, requests)
	}
	for _, l := range placed.Launches {
		w.launch(w.app(l.AppID).Def, specs[l.AppID], w.agents[l.AgentID].Heartbeat, l.HostPorts)
		waiting[l.AppID]--
	}
	rejected := map[string]map[placement.Reason]int{}
	for _, u := range placed.Unplaced {
		rejected[u.AppID] = u.Rejected
	}
	for appID, n := range w.heldApps {
		// Held by the silent-majority brake: waiting, and the queue says why.
		if waiting[appID] <= 0 {
			waiting[appID] = n
			rejected[appID] = map[placement.Reason]int{ReasonSilentMajority: w.silentAgents()}
		}
	}
	w.recordQueue(waiting, rejected, len(agents))
}

// recordQueue keeps the queue bucket equal to the apps still waiting.
func (w *work) recordQueue(waiting map[string]int, rejected map[string]map[placement.Reason]int, agents int) {
	for appID := range w.queue {
		if waiting[appID] > 0 {
			continue
		}
		delete(w.queue, appID)
		w.write(Write{DeleteQueue: appID})
	}
	for appID, count := range waiting {
		if count <= 0 {
			continue
		}
		entry := events.QueueEntry{V: events.Version, AppID: appID, Count: count, Since: w.now, Agents: agents, UpdatedAt: w.now}
		prev, queued := w.queue[appID]
		if queued {
			entry.Since = prev.Since
		}
		if nb := w.backoff(appID).NotBefore; w.app(appID) != nil && w.now.Before(nb) {
			entry.DelayUntil = nb
		}
		if r := rejected[appID]; len(r) > 0 {
			entry.Rejected = map[string]int{}
			for reason, n := range r {
				entry.Rejected[string(reason)] = n
			}
		} else if queued && !entry.DelayUntil.IsZero() {
			entry.Rejected = prev.Rejected // not placed this pass: the last reasons stand
		}
		if queued && sameQueueEntry(prev, entry) && w.now.Sub(prev.UpdatedAt) < 5*time.Second {
			continue
		}
		w.queue[appID] = entry
		w.write(Write{Queue: &entry})
	}
}

func sameQueueEntry(a, b events.QueueEntry) bool {
	if a.Count != b.Count || a.Agents != b.Agents || !a.DelayUntil.Equal(b.DelayUntil) || len(a.Rejected) != len(b.Rejected) {
		return false
	}
	for k, v := range a.Rejected {
		if b.Rejected[k] != v {
			return false
		}
	}
	return true
}

func toPlacementAgent(id string, a *Agent) placement.Agent {
	hb := a.Heartbeat
	pa := placement.Agent{
		ID: id, Hostname: hb.Hostname, Attributes: hb.Attributes,
		Total: placement.Resources{Cpus: hb.Resources.Cpus, Mem: hb.Resources.Mem, Disk: hb.Resources.Disk},
		Policy: placement.Policy{AllowPrivileged: hb.Policy.AllowPrivileged, HostPathPrefixes: hb.Policy.HostPathPrefixes,
			ImagePatterns: hb.Policy.ImagePatterns, AllowHostCommands: hb.Policy.AllowHostCommands},
	}
	for _, r := range hb.Resources.Ports {
		pa.Ports = append(pa.Ports, placement.PortRange{Begin: r.Begin, End: r.End})
	}
	switch {
	case a.State == events.AgentUnreachable:
		pa.Unavailable = placement.ReasonUnreachable
	case a.State == events.AgentDockerDown || !hb.Docker.Healthy:
		// Its Docker tasks are lost only once Docker stays down for
		// DockerDownAfter; no new one goes there meanwhile. Host commands
		// need no Docker: they may.
		pa.DockerDown = true
	case hb.Docker.Degraded:
		pa.Degraded = true
	}
	return pa
}
