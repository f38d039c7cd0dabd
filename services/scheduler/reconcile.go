package scheduler

import (
	"context"
	"sort"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/services/scheduler/placement"
)

// heartbeatSlack is how much later than an instance's last change a heartbeat
// must be before a task it lacks counts as missing.
const heartbeatSlack = 2 * time.Second

// reconcile is one pass of the leader: judge agents, settle every instance
// against what its agent reports, kill what must not run, place what is
// missing, and finish deployments that are done.
func (s *Scheduler) reconcile(ctx context.Context, epoch uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ctx.Err() != nil {
		return
	}
	now := s.now()
	s.judgeAgents(ctx, now)
	s.settleInstances(ctx, now)
	s.killUnknown(ctx, epoch, now)
	requests := s.scale(ctx, epoch, now)
	s.place(ctx, epoch, requests, now)
	s.finishDeployments(ctx)
}

// judgeAgents sets every agent's state and records it in the agents bucket
// when it changes, and every few seconds while it lives.
func (s *Scheduler) judgeAgents(ctx context.Context, now time.Time) {
	warm := now.Sub(s.started) >= s.cfg.UnreachableAfter
	for id, a := range s.agents {
		state := events.AgentActive
		switch {
		case now.Sub(a.seen) > s.cfg.UnreachableAfter && warm:
			state = events.AgentUnreachable
		case !a.hb.Docker.Healthy:
			state = events.AgentDockerDown
		}
		if state != a.state {
			s.logger.Info("agent state", "agent", id, "from", a.state, "to", state)
		}
		if state != a.state || now.Sub(a.recorded) >= 5*time.Second {
			a.state, a.recorded = state, now
			s.putAgent(ctx, a)
		}
	}
}

// settleInstances compares each instance with its agent's report: tasks on
// lost agents are lost; a state the status stream missed is taken from the
// heartbeat; a task its agent no longer has is lost.
func (s *Scheduler) settleInstances(ctx context.Context, now time.Time) {
	warm := now.Sub(s.started) >= s.cfg.UnreachableAfter
	for _, inst := range s.instances {
		a := s.agents[inst.AgentID]
		switch {
		case a == nil || a.state == events.AgentUnreachable:
			if warm {
				s.finish(ctx, inst, events.TaskLost, "agent "+inst.AgentID+" is unreachable", now)
			}
			continue
		case a.state == events.AgentDockerDown:
			s.finish(ctx, inst, events.TaskLost, "Docker is unavailable on agent "+inst.AgentID+": "+a.hb.Docker.Error, now)
			continue
		}
		rep, reported := findTask(a.hb.Tasks, inst.TaskID)
		switch {
		case reported && rep.State.Terminal():
			s.finish(ctx, inst, rep.State, rep.Message, now)
		case reported && rep.State == events.TaskRunning && inst.State == events.TaskStaging:
			s.applyStatus(ctx, events.TaskStatus{V: events.Version, AgentID: inst.AgentID, TaskID: inst.TaskID,
				State: events.TaskRunning, HostPorts: rep.HostPorts, IPAddress: rep.IPAddress, At: rep.StartedAt})
		case !reported && inst.State == events.TaskStaging:
			if now.Sub(inst.StagedAt) > s.cfg.StagingTimeout {
				s.finish(ctx, inst, events.TaskLost, "not started within "+s.cfg.StagingTimeout.String(), now)
			}
		case !reported && a.seen.After(inst.UpdatedAt.Add(heartbeatSlack)):
			if inst.State == events.TaskKilling {
				s.finish(ctx, inst, events.TaskKilled, "", now)
			} else {
				s.finish(ctx, inst, events.TaskLost, "task is gone from agent "+inst.AgentID, now)
			}
		}
	}
}

func findTask(tasks []events.TaskReport, id string) (events.TaskReport, bool) {
	for _, t := range tasks {
		if t.TaskID == id {
			return t, true
		}
	}
	return events.TaskReport{}, false
}

// killUnknown kills every task an agent runs that the scheduler has no live
// instance of there: superseded tasks of an agent that came back, tasks of
// deleted apps, dead containers of finished tasks.
func (s *Scheduler) killUnknown(ctx context.Context, epoch uint64, now time.Time) {
	for id, a := range s.agents {
		if a.state == events.AgentUnreachable {
			continue
		}
		for _, t := range a.hb.Tasks {
			if inst, ok := s.instances[t.TaskID]; ok && inst.AgentID == id {
				continue
			}
			s.sendKill(ctx, epoch, id, t.TaskID, t.AppID, now)
		}
	}
}

// scale kills what no app wants any more and returns how many instances each
// app still lacks. An instance of an older version is replaced: killed
// first, so a one-per-host app can take its host again.
func (s *Scheduler) scale(ctx context.Context, epoch uint64, now time.Time) []want {
	byApp := map[string][]*events.Instance{}
	for _, inst := range s.instances {
		byApp[inst.AppID] = append(byApp[inst.AppID], inst)
	}
	for appID, insts := range byApp {
		if _, ok := s.apps[appID]; !ok {
			for _, inst := range insts {
				s.kill(ctx, epoch, inst, now)
			}
		}
	}
	var wants []want
	for appID, st := range s.apps {
		app := st.rec.App
		version := appVersion(app)
		var current []*events.Instance
		for _, inst := range byApp[appID] {
			switch {
			case inst.State == events.TaskKilling:
			case inst.Version != version:
				s.kill(ctx, epoch, inst, now)
			default:
				current = append(current, inst)
			}
		}
		desired := 0
		if app.Instances != nil {
			desired = *app.Instances
		}
		if extra := len(current) - desired; extra > 0 {
			// YOUNGEST_FIRST (Marathon's default) unless OLDEST_FIRST.
			sort.Slice(current, func(i, j int) bool { return current[i].StagedAt.After(current[j].StagedAt) })
			if app.KillSelection == "OLDEST_FIRST" {
				sort.Slice(current, func(i, j int) bool { return current[i].StagedAt.Before(current[j].StagedAt) })
			}
			for _, inst := range current[:extra] {
				s.kill(ctx, epoch, inst, now)
			}
			continue
		}
		if missing := desired - len(current); missing > 0 {
			if now.Before(st.notBefore) {
				continue
			}
			wants = append(wants, want{appID: appID, count: missing})
		}
	}
	sort.Slice(wants, func(i, j int) bool { return wants[i].appID < wants[j].appID })
	return wants
}

type want struct {
	appID string
	count int
}

// place asks the placement function for the wanted instances and launches
// what it placed; what it could not place is kept for /v2/queue.
func (s *Scheduler) place(ctx context.Context, epoch uint64, wants []want, now time.Time) {
	s.unplaced = map[string]placement.Unplaced{}
	if len(wants) == 0 {
		return
	}
	var agents []placement.Agent
	for id, a := range s.agents {
		agents = append(agents, toPlacementAgent(id, a))
	}
	var tasks []placement.Task
	for _, inst := range s.instances {
		var res placement.Resources
		if st, ok := s.apps[inst.AppID]; ok {
			res = appResources(st.rec.App)
		}
		tasks = append(tasks, placement.Task{ID: inst.TaskID, AppID: inst.AppID, AgentID: inst.AgentID, Resources: res, HostPorts: inst.HostPorts})
	}
	var requests []placement.Request
	for _, w := range wants {
		requests = append(requests, placementRequest(s.apps[w.appID].rec.App, w.count))
	}
	plan := placement.Place(agents, tasks, requests)
	for _, l := range plan.Launches {
		s.launch(ctx, epoch, s.apps[l.AppID].rec.App, s.agents[l.AgentID].hb, l.HostPorts, now)
	}
	for _, u := range plan.Unplaced {
		s.unplaced[u.AppID] = u
		s.logger.Debug("cannot place", "app", u.AppID, "count", u.Count, "rejected", u.Rejected)
	}
}

func toPlacementAgent(id string, a *agentState) placement.Agent {
	pa := placement.Agent{
		ID: id, Hostname: a.hb.Hostname, Attributes: a.hb.Attributes,
		Total:  placement.Resources{Cpus: a.hb.Resources.Cpus, Mem: a.hb.Resources.Mem, Disk: a.hb.Resources.Disk},
		Policy: placement.Policy{AllowPrivileged: a.hb.Policy.AllowPrivileged, HostPathPrefixes: a.hb.Policy.HostPathPrefixes},
	}
	for _, r := range a.hb.Resources.Ports {
		pa.Ports = append(pa.Ports, placement.PortRange{Begin: r.Begin, End: r.End})
	}
	switch a.state {
	case events.AgentUnreachable:
		pa.Unavailable = placement.ReasonUnreachable
	case events.AgentDockerDown:
		pa.Unavailable = placement.ReasonDockerDown
	}
	return pa
}

// finishDeployments removes every deployment whose apps have converged, and
// every one a later deployment of the same apps superseded.
func (s *Scheduler) finishDeployments(ctx context.Context) {
	for key, ds := range s.deployments {
		var outcome string
		switch {
		case s.superseded(ds.d):
			outcome = ""
		case s.converged(ds.d):
			outcome = events.EventDeploymentSuccess
		default:
			continue
		}
		if err := s.bus.Deployments.Delete(ctx, key, lastRevision(ds.rev)); err != nil {
			s.logger.Warn("cannot finish deployment", "deployment", key, "error", err)
			continue
		}
		delete(s.deployments, key)
		s.logger.Info("deployment finished", "deployment", key, "apps", ds.d.AffectedApps, "superseded", outcome == "")
		if outcome != "" {
			s.publishEvent(outcome, events.DeploymentEvent{
				EventType: outcome, Timestamp: s.now().UTC().Format(events.TimeFormat),
				ID: ds.d.ID, Plan: planOf(ds.d),
			})
		}
	}
}

// superseded: a later deployment affects one of the same apps.
func (s *Scheduler) superseded(d events.Deployment) bool {
	for _, other := range s.deployments {
		if other.d.ID == d.ID || !other.d.CreatedAt.After(d.CreatedAt) {
			continue
		}
		for _, a := range other.d.AffectedApps {
			for _, b := range d.AffectedApps {
				if a == b {
					return true
				}
			}
		}
	}
	return false
}

// converged: every affected app runs exactly its instances at its version,
// or, where the deployment stops it, is gone and runs nothing.
func (s *Scheduler) converged(d events.Deployment) bool {
	stops := map[string]bool{}
	for _, step := range d.Steps {
		for _, a := range step {
			if a.Action == events.ActionStop {
				stops[a.App] = true
			}
		}
	}
	for _, appID := range d.AffectedApps {
		st, exists := s.apps[appID]
		if exists == stops[appID] {
			return false // not yet written, or not yet deleted, as this watcher sees it
		}
		running, other := 0, 0
		for _, inst := range s.instances {
			if inst.AppID != appID {
				continue
			}
			if exists && inst.State == events.TaskRunning && inst.Version == appVersion(st.rec.App) {
				running++
			} else {
				other++
			}
		}
		if other > 0 {
			return false
		}
		if exists && (st.rec.App.Instances == nil || running != *st.rec.App.Instances) {
			return false
		}
	}
	return true
}

func planOf(d events.Deployment) events.DeploymentPlan {
	p := events.DeploymentPlan{ID: d.ID, Version: d.Version}
	for _, step := range d.Steps {
		p.Steps = append(p.Steps, events.DeploymentPlanStep{Actions: step})
	}
	return p
}
