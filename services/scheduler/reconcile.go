package scheduler

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/services/scheduler/placement"
	"github.com/nats-io/nats.go"
)

// heartbeatSlack is how much later than an instance's last change a heartbeat
// must be before a task it lacks counts as missing.
const heartbeatSlack = 2 * time.Second

// reconcile is one pass of the leader: judge agents, settle every instance
// against what its agent reports, kill what must not run, place what is
// missing, and finish deployments that are done.
func (s *Scheduler) reconcile(ctx context.Context, epoch uint64) {
	s.mu.Lock()
	if ctx.Err() == nil {
		s.pass(ctx, epoch)
	}
	s.mu.Unlock()
	s.flush(ctx)
	s.mu.Lock()
	s.lastPass = s.now() // the next pass measures its lateness from here
	s.mu.Unlock()
}

// pass decides, into the outbox, without a round trip. Callers hold s.mu.
func (s *Scheduler) pass(ctx context.Context, epoch uint64) {
	now := s.now()
	s.takeHeartbeats()
	s.judgeAgents(ctx, now)
	s.settleInstances(ctx, now)
	s.killUnknown(ctx, epoch, now)
	s.forgetKills(now)
	requests := s.scale(ctx, epoch, now)
	s.place(ctx, epoch, requests, now)
	s.finishDeployments(ctx, now)
}

// judgeAgents sets every agent's state and records it in the agents bucket
// when it changes, and every few seconds while it lives.
func (s *Scheduler) judgeAgents(ctx context.Context, now time.Time) {
	s.judgeSelf(now)
	warm := s.warm(now)
	var used map[string]events.Resources // computed once, if any agent is recorded
	for id, a := range s.agents {
		state := events.AgentActive
		switch {
		case now.Sub(a.seen) > s.cfg.UnreachableAfter && warm:
			state = events.AgentUnreachable
		case !a.hb.Docker.Healthy && a.seen.Sub(a.dockerDownSince) >= s.cfg.DockerDownAfter:
			// Down in heartbeats spanning DockerDownAfter: the agent saw
			// its daemon refuse connections, or answer nothing for long.
			state = events.AgentDockerDown
		case a.hb.Docker.Degraded:
			state = events.AgentDockerDegraded
		}
		if state != a.state {
			s.logger.Info("agent state", "agent", id, "from", a.state, "to", state, "docker", a.hb.Docker.Error)
		}
		if state != a.state || now.Sub(a.recorded) >= 5*time.Second {
			a.state, a.recorded = state, now
			if used == nil {
				used = s.usedByAgent()
			}
			s.putAgent(ctx, a, used[id])
		}
	}
	s.judgeSilence(now)
}

// reasonSilentMajority is the queue's reason for replacements held by the
// silent-majority brake (judgeSilence).
const reasonSilentMajority = "SilentMajority"

// judgeSilence is the silent-majority brake: when more than SilentShare of
// the agents heard in the last silentMemory are unreachable together (two
// at least), the scheduler suspects itself or the network rather than all
// those hosts. It holds their tasks' replacements until the share drops or
// SilentHold passes, and says so in the log and the queue.
func (s *Scheduler) judgeSilence(now time.Time) {
	silent, counted := 0, 0
	for _, a := range s.agents {
		if now.Sub(a.seen) > silentMemory {
			continue // long gone: its tasks were dealt with then
		}
		counted++
		if a.state == events.AgentUnreachable {
			silent++
		}
	}
	over := silent >= 2 && float64(silent) > s.cfg.SilentShare*float64(counted)
	switch {
	case !over:
		if s.held != "" {
			s.logger.Info("silent-majority brake released: replacing unreachable agents' tasks again", "silent", silent, "agents", counted)
		}
		s.silentSince, s.held = time.Time{}, ""
	case s.silentSince.IsZero():
		s.silentSince = now
		s.held = fmt.Sprintf("%d of %d agents went silent together; their tasks are not replaced for up to %s, as this scheduler or its network may be at fault", silent, counted, s.cfg.SilentHold)
		s.logger.Warn("silent-majority brake: holding replacements", "silent", silent, "agents", counted, "for", s.cfg.SilentHold)
	case s.held != "" && now.Sub(s.silentSince) >= s.cfg.SilentHold:
		s.held = ""
		s.logger.Warn("silent-majority brake: held for its limit, replacing unreachable agents' tasks now", "silent", silent, "agents", counted)
	}
}

// silentAgents counts the unreachable agents.
func (s *Scheduler) silentAgents() int {
	n := 0
	for _, a := range s.agents {
		if a.state == events.AgentUnreachable {
			n++
		}
	}
	return n
}

// silentMemory: agents silent for longer are not counted by the brake.
const silentMemory = 10 * time.Minute

// judgeSelf notes when the scheduler's own view of the agents cannot be
// trusted: its NATS connection is or was down since the last pass, its pass
// ran late (the process starved of CPU), heartbeats wait unread in its
// subscription, or no agent at all was heard for UnreachableAfter (then
// every agent would look dead at once). Agents' silence says nothing until
// heartbeats have flowed again for UnreachableAfter (warm).
func (s *Scheduler) judgeSelf(now time.Time) {
	why := ""
	r := s.nc.Stats().Reconnects
	switch {
	case s.nc.Status() != nats.CONNECTED || r != s.reconnects:
		why = "NATS connection down or reconnected"
	case !s.lastPass.IsZero() && now.Sub(s.lastPass) > s.starvedAfter():
		why = fmt.Sprintf("the leader's pass ran %s after the previous one ended", now.Sub(s.lastPass).Round(time.Millisecond))
	case s.heartbeatBacklog() > max(len(s.agents), 16):
		why = fmt.Sprintf("%d heartbeats wait unread", s.heartbeatBacklog())
	case len(s.agents) > 0 && s.lastHeard.Load() > 0 && now.Sub(time.Unix(0, s.lastHeard.Load())) > s.cfg.UnreachableAfter:
		why = "no agent heard for " + now.Sub(time.Unix(0, s.lastHeard.Load())).Round(time.Millisecond).String()
	}
	s.reconnects = r
	if why == "" {
		return
	}
	if s.warm(now) {
		s.logger.Warn("not judging agents' silence for a while: this scheduler's own view lags", "why", why, "for", s.cfg.UnreachableAfter)
	}
	s.feedBroken = now
}

// starvedAfter: a pass this long after the previous one ended (its
// publishing included, which may take long and starves nothing) means the
// scheduler itself was starved, and heartbeats it has not read may wait.
func (s *Scheduler) starvedAfter() time.Duration {
	return max(4*s.cfg.ReconcileInterval, s.cfg.UnreachableAfter/2)
}

// heartbeatBacklog is how many heartbeats wait in the subscription unread.
func (s *Scheduler) heartbeatBacklog() int {
	sub := s.hbSub.Load()
	if sub == nil {
		return 0
	}
	n, _, err := sub.Pending()
	if err != nil {
		return 0
	}
	return n
}

// usedByAgent sums the resources of the instances on each agent.
func (s *Scheduler) usedByAgent() map[string]events.Resources {
	used := map[string]events.Resources{}
	for _, inst := range s.instances {
		st, ok := s.apps[inst.AppID]
		if !ok {
			continue
		}
		r, u := appResources(st.rec.App), used[inst.AgentID]
		u.Cpus, u.Mem, u.Disk = u.Cpus+r.Cpus, u.Mem+r.Mem, u.Disk+r.Disk
		used[inst.AgentID] = u
	}
	return used
}

// warm: this scheduler has followed heartbeats, over a working connection,
// for longer than UnreachableAfter, so an agent's silence is the agent's.
func (s *Scheduler) warm(now time.Time) bool {
	return now.Sub(s.started) >= s.cfg.UnreachableAfter && now.Sub(s.feedBroken) >= s.cfg.UnreachableAfter
}

// settleInstances compares each instance with its agent's report: tasks on
// unreachable agents follow their app's unreachableStrategy; tasks on an
// agent whose Docker daemon is down are lost; a state the status stream
// missed is taken from the heartbeat; a task missing from a list its agent
// took after the task's last change is lost. A stale list, or a degraded
// daemon, makes nothing lost.
func (s *Scheduler) settleInstances(ctx context.Context, now time.Time) {
	warm := s.warm(now)
	s.heldApps = map[string]int{}
	for _, inst := range s.instances {
		a := s.agents[inst.AgentID]
		switch {
		case a == nil || a.state == events.AgentUnreachable:
			switch {
			case !warm:
			case s.held != "":
				s.heldApps[inst.AppID]++
			default:
				s.unreachable(ctx, inst, now)
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
		case reported && rep.State == events.TaskRunning && inst.State == events.TaskUnreachable:
			inst.State, inst.UnreachableSince, inst.UpdatedAt = events.TaskRunning, time.Time{}, now
			s.putInstance(ctx, inst)
			s.statusEvent(inst, "agent "+inst.AgentID+" is reachable again")
		case reported && rep.State == events.TaskRunning && inst.State == events.TaskRunning && healthChanged(inst, rep):
			// A health report the status stream did not bring (a previous
			// leader took it): the heartbeat carries the latest results.
			s.applyHealth(ctx, inst, events.TaskStatus{Health: rep.Health, Ready: rep.Ready}, now)
		case reported && rep.State == events.TaskRunning && inst.State == events.TaskStaging:
			s.applyStatus(ctx, events.TaskStatus{V: events.Version, AgentID: inst.AgentID, TaskID: inst.TaskID,
				State: events.TaskRunning, HostPorts: rep.HostPorts, IPAddress: rep.IPAddress, At: rep.StartedAt})
		case !reported && inst.State == events.TaskStaging:
			if now.Sub(inst.StagedAt) > s.cfg.StagingTimeout {
				s.finish(ctx, inst, events.TaskLost, "not started within "+s.cfg.StagingTimeout.String(), now)
			}
		case !reported && !a.listedAt.IsZero() && a.listedAt.After(inst.UpdatedAt.Add(heartbeatSlack)):
			if inst.State == events.TaskKilling {
				s.finish(ctx, inst, events.TaskKilled, "", now)
			} else {
				s.finish(ctx, inst, events.TaskLost, "task is gone from agent "+inst.AgentID, now)
			}
		}
	}
}

// unreachable handles an instance whose agent went silent, as Marathon
// does: it is TASK_UNREACHABLE at once; its app's unreachableStrategy says
// when it stops counting (inactiveAfterSeconds: then it is replaced, see
// activeUnreachable) and when it is forgotten (expungeAfterSeconds), or
// ("disabled") that it never is. With Marathon's default of 0 and 0 it is
// replaced in this pass and forgotten in the next. A task still staging or
// being killed is lost at once.
func (s *Scheduler) unreachable(ctx context.Context, inst *events.Instance, now time.Time) {
	msg := "agent " + inst.AgentID + " is unreachable"
	if inst.State == events.TaskStaging || inst.State == events.TaskKilling {
		s.finish(ctx, inst, events.TaskLost, msg, now)
		return
	}
	if inst.State != events.TaskUnreachable {
		inst.State, inst.UnreachableSince, inst.UpdatedAt = events.TaskUnreachable, now, now
		s.putInstance(ctx, inst)
		s.statusEvent(inst, msg)
		return
	}
	var us unreachable
	if st, ok := s.apps[inst.AppID]; ok {
		us = unreachableStrategy(st.rec.App)
	}
	if !us.disabled && now.Sub(inst.UnreachableSince) >= max(us.expungeAfter, us.inactiveAfter) {
		s.finish(ctx, inst, events.TaskLost, msg+" for longer than expungeAfterSeconds", now)
	}
}

// healthChanged: the agent reports health or readiness the instance lacks.
func healthChanged(inst *events.Instance, rep events.TaskReport) bool {
	if (rep.Ready == nil) != (inst.Ready == nil) || rep.Ready != nil && *rep.Ready != *inst.Ready {
		return rep.Ready != nil
	}
	if len(rep.Health) == 0 {
		return false
	}
	if len(rep.Health) != len(inst.Health) {
		return true
	}
	for i, h := range rep.Health {
		if h.Alive != inst.Health[i].Alive || h.ConsecutiveFailures != inst.Health[i].ConsecutiveFailures {
			return true
		}
	}
	return false
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
		if a.state == events.AgentUnreachable || a.state == events.AgentDockerDown || a.listedAt.IsZero() {
			continue // nothing to kill, or no kill to send, on a stale list
		}
		for _, t := range a.hb.Tasks {
			if inst, ok := s.instances[t.TaskID]; ok && inst.AgentID == id {
				continue
			}
			s.sendKill(ctx, epoch, id, t.TaskID, t.AppID, now)
		}
	}
}

// scale kills what no app wants any more, takes each app one step toward
// its definition (planApp: scaling, or a rolling upgrade), and returns how
// many instances each app still lacks and may launch now.
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
		field := groupByField(app)
		groupOf := func(inst *events.Instance) string {
			if a := s.agents[inst.AgentID]; a != nil {
				if v, ok := fieldOf(a.hb, field); ok {
					return v
				}
			}
			return ""
		}
		next := planApp(app, byApp[appID], now, groupOf)
		for _, inst := range next.kill {
			s.kill(ctx, epoch, inst, now)
		}
		if next.launch <= 0 || s.waitsForDeployment(st, now) || s.waitsForDependencies(appID) {
			continue
		}
		wants = append(wants, want{appID: appID, count: next.launch, delayed: now.Before(st.notBefore)})
	}
	sort.Slice(wants, func(i, j int) bool { return wants[i].appID < wants[j].appID })
	return wants
}

func fieldOf(hb events.Heartbeat, field string) (string, bool) {
	if field == "hostname" || field == "@hostname" {
		return hb.Hostname, true
	}
	v, ok := hb.Attributes[field]
	return v, ok
}

// deploymentGrace is how long an app's new record waits for the deployment
// record written with it: the two buckets' watchers may deliver them in
// either order, and the deployment's steps may hold the app back.
const deploymentGrace = time.Second

func (s *Scheduler) waitsForDeployment(st *appState, now time.Time) bool {
	return st.rec.DeploymentID != "" && !st.deploymentSeen && now.Sub(st.changed) < deploymentGrace
}

// waitsForDependencies: a deployment puts the app in a later step than an app
// that has not converged yet (group dependencies deploy in order).
func (s *Scheduler) waitsForDependencies(appID string) bool {
	for _, ds := range s.deployments {
		for i, stepActions := range ds.d.Steps {
			if !stepHas(stepActions, appID) {
				continue
			}
			for _, earlier := range ds.d.Steps[:i] {
				for _, a := range earlier {
					if a.App != appID && !s.appConverged(a.App, a.Action == events.ActionStop) {
						return true
					}
				}
			}
		}
	}
	return false
}

func stepHas(actions []events.DeploymentAction, appID string) bool {
	for _, a := range actions {
		if a.App == appID {
			return true
		}
	}
	return false
}

type want struct {
	appID   string
	count   int
	delayed bool // held back by the app's launch backoff
}

// place asks the placement function for the wanted instances and launches
// what it placed. What waits — for backoff, or for an agent that can take
// it — goes to the queue bucket with the reasons.
func (s *Scheduler) place(ctx context.Context, epoch uint64, wants []want, now time.Time) {
	var agents []placement.Agent
	for id, a := range s.agents {
		agents = append(agents, toPlacementAgent(id, a))
	}
	var requests []placement.Request
	waiting := map[string]int{}
	for _, w := range wants {
		waiting[w.appID] = w.count
		if !w.delayed {
			req := placementRequest(s.apps[w.appID].rec.App, w.count)
			s.passes++
			req.PortSeed = s.passes // a retried launch seeks other ports
			requests = append(requests, req)
		}
	}
	var plan placement.Plan
	if len(requests) > 0 {
		var tasks []placement.Task
		for _, inst := range s.instances {
			var res placement.Resources
			if st, ok := s.apps[inst.AppID]; ok {
				res = appResources(st.rec.App)
			}
			tasks = append(tasks, placement.Task{ID: inst.TaskID, AppID: inst.AppID, AgentID: inst.AgentID, Resources: res, HostPorts: inst.HostPorts})
		}
		plan = placement.Place(agents, tasks, requests)
	}
	for _, l := range plan.Launches {
		s.launch(ctx, epoch, s.apps[l.AppID].rec.App, s.agents[l.AgentID].hb, l.HostPorts, now)
		waiting[l.AppID]--
	}
	rejected := map[string]map[placement.Reason]int{}
	for _, u := range plan.Unplaced {
		rejected[u.AppID] = u.Rejected
	}
	for appID, n := range s.heldApps {
		// Held by the silent-majority brake: waiting, and the queue says why.
		if waiting[appID] <= 0 {
			waiting[appID] = n
			rejected[appID] = map[placement.Reason]int{reasonSilentMajority: s.silentAgents()}
		}
	}
	s.recordQueue(ctx, waiting, rejected, len(agents), now)
}

// recordQueue keeps the queue bucket equal to the apps still waiting.
func (s *Scheduler) recordQueue(ctx context.Context, waiting map[string]int, rejected map[string]map[placement.Reason]int, agents int, now time.Time) {
	for appID := range s.queue {
		if waiting[appID] > 0 {
			continue
		}
		delete(s.queue, appID)
		s.queueDelete(s.bus.Queue, events.AppKey(appID))
	}
	for appID, count := range waiting {
		if count <= 0 {
			continue
		}
		entry := events.QueueEntry{V: events.Version, AppID: appID, Count: count, Since: now, Agents: agents, UpdatedAt: now}
		if prev, ok := s.queue[appID]; ok {
			entry.Since = prev.Since
		}
		if st := s.apps[appID]; st != nil && now.Before(st.notBefore) {
			entry.DelayUntil = st.notBefore
		}
		if r := rejected[appID]; len(r) > 0 {
			entry.Rejected = map[string]int{}
			for reason, n := range r {
				entry.Rejected[string(reason)] = n
			}
		} else if prev, ok := s.queue[appID]; ok && !entry.DelayUntil.IsZero() {
			entry.Rejected = prev.Rejected // not placed this pass: the last reasons stand
		}
		if prev, ok := s.queue[appID]; ok && sameQueueEntry(prev, entry) && now.Sub(prev.UpdatedAt) < 5*time.Second {
			continue
		}
		s.queue[appID] = entry
		data, err := events.Encode(entry)
		if err != nil {
			s.logger.Error("cannot encode queue entry", "app", appID, "error", err)
			continue
		}
		s.queuePut(s.bus.Queue, events.AppKey(appID), data)
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

func toPlacementAgent(id string, a *agentState) placement.Agent {
	pa := placement.Agent{
		ID: id, Hostname: a.hb.Hostname, Attributes: a.hb.Attributes,
		Total: placement.Resources{Cpus: a.hb.Resources.Cpus, Mem: a.hb.Resources.Mem, Disk: a.hb.Resources.Disk},
		Policy: placement.Policy{AllowPrivileged: a.hb.Policy.AllowPrivileged, HostPathPrefixes: a.hb.Policy.HostPathPrefixes,
			ImagePatterns: a.hb.Policy.ImagePatterns},
	}
	for _, r := range a.hb.Resources.Ports {
		pa.Ports = append(pa.Ports, placement.PortRange{Begin: r.Begin, End: r.End})
	}
	switch {
	case a.state == events.AgentUnreachable:
		pa.Unavailable = placement.ReasonUnreachable
	case a.state == events.AgentDockerDown || !a.hb.Docker.Healthy:
		// Its tasks are lost only once Docker stays down for
		// DockerDownAfter; nothing new goes there meanwhile.
		pa.Unavailable = placement.ReasonDockerDown
	case a.hb.Docker.Degraded:
		pa.Degraded = true
	}
	return pa
}

// finishDeployments removes every deployment whose apps have converged, every
// one a later deployment of the same apps superseded, and fails every one that
// made no end within the deployment timeout.
func (s *Scheduler) finishDeployments(ctx context.Context, now time.Time) {
	if len(s.deployments) == 0 {
		return
	}
	s.indexByApp()
	defer func() { s.byApp = nil }()
	for key, ds := range s.deployments {
		var outcome, reason string
		switch {
		case s.superseded(ds.d):
		case s.converged(ds.d):
			outcome = events.EventDeploymentSuccess
		case now.Sub(ds.d.CreatedAt) > s.cfg.DeploymentTimeout:
			outcome, reason = events.EventDeploymentFailed, s.stuckReason(ds.d)
		default:
			continue
		}
		if err := s.bus.Deployments.Delete(ctx, key, lastRevision(ds.rev)); err != nil {
			s.logger.Warn("cannot finish deployment", "deployment", key, "error", err)
			continue
		}
		delete(s.deployments, key)
		s.logger.Info("deployment finished", "deployment", key, "apps", ds.d.AffectedApps, "outcome", outcome, "reason", reason)
		if outcome != "" {
			s.publishEvent(outcome, events.DeploymentEvent{
				EventType: outcome, Timestamp: now.UTC().Format(events.TimeFormat),
				ID: ds.d.ID, Plan: planOf(ds.d), Reason: reason,
			})
		}
	}
}

// stuckReason says why a deployment could not finish.
func (s *Scheduler) stuckReason(d events.Deployment) string {
	for _, appID := range d.AffectedApps {
		if q, ok := s.queue[appID]; ok {
			if len(q.Rejected) > 0 {
				return fmt.Sprintf("%s: %d instance(s) could not be placed on any of %d agents (rejected: %v)", appID, q.Count, q.Agents, q.Rejected)
			}
			if !q.DelayUntil.IsZero() {
				return fmt.Sprintf("%s: launches delayed by backoff after repeated task failures", appID)
			}
		}
		if !s.appConverged(appID, false) {
			return fmt.Sprintf("%s: new instances did not become healthy and ready within %s", appID, s.cfg.DeploymentTimeout)
		}
	}
	return fmt.Sprintf("not finished within %s", s.cfg.DeploymentTimeout)
}

// superseded: a later deployment affects one of the same apps.
func (s *Scheduler) superseded(d events.Deployment) bool {
	for _, other := range s.deployments {
		if other.d.ID == d.ID || !other.d.CreatedAt.After(d.CreatedAt) {
			continue
		}
		for _, a := range other.d.AffectedApps {
			if slices.Contains(d.AffectedApps, a) {
				return true
			}
		}
	}
	return false
}

// converged: every affected app has converged; apps the deployment stops
// must be gone.
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
		if !s.appConverged(appID, stops[appID]) {
			return false
		}
		// The app as this scheduler sees it must be the version the
		// deployment wrote (its watcher may not have delivered it yet).
		if st, ok := s.apps[appID]; ok && !stops[appID] && d.Version != "" && st.rec.App.Version < d.Version {
			return false
		}
	}
	return true
}

// indexByApp groups the instances by app for one pass (s.byApp).
func (s *Scheduler) indexByApp() {
	s.byApp = make(map[string][]*events.Instance, len(s.apps))
	for _, inst := range s.instances {
		s.byApp[inst.AppID] = append(s.byApp[inst.AppID], inst)
	}
}

// appConverged: the app runs exactly its instances at its version, each
// serving (healthy and ready where it has checks), and nothing else; or, when
// stopped, it is gone and runs nothing.
func (s *Scheduler) appConverged(appID string, stopped bool) bool {
	st, exists := s.apps[appID]
	if exists == stopped {
		return false // not yet written, or not yet deleted, as this watcher sees it
	}
	serving, other := 0, 0
	insts := s.byApp[appID]
	if s.byApp == nil {
		for _, inst := range s.instances {
			if inst.AppID == appID {
				insts = append(insts, inst)
			}
		}
	}
	for _, inst := range insts {
		if exists && inst.Version == appVersion(st.rec.App) && serves(st.rec.App, inst, true) {
			serving++
		} else {
			other++
		}
	}
	return other == 0 && (!exists || serving == intValue(st.rec.App.Instances))
}

func planOf(d events.Deployment) events.DeploymentPlan {
	p := events.DeploymentPlan{ID: d.ID, Version: d.Version}
	for _, step := range d.Steps {
		p.Steps = append(p.Steps, events.DeploymentPlanStep{Actions: step})
	}
	return p
}
