package decide

import (
	"log/slog"
	"time"

	"github.com/drover/drover/pkg/events"
)

// heartbeatSlack is how much later than an instance's last change a heartbeat
// must be before a task it lacks counts as missing.
const heartbeatSlack = 2 * time.Second

// settleInstances compares each instance with its agent's report: tasks on
// unreachable agents follow their app's unreachableStrategy; Docker's tasks
// on an agent whose Docker daemon is down are lost (host commands run on,
// judged by the agent's list of them); a state the status stream
// missed is taken from the heartbeat (observe, as a status report is); a
// task missing from a list its agent took after the task's last change is
// lost. A stale list, or a degraded daemon, makes nothing lost.
func (w *work) settleInstances() {
	warm := w.warm()
	w.heldApps = map[string]int{}
	for _, inst := range w.instances {
		a := w.agents[inst.AgentID]
		switch {
		case a == nil || a.State == events.AgentUnreachable:
			switch {
			case !warm:
			case w.d.Brake.Held != "":
				w.heldApps[inst.AppID]++
			default:
				w.unreachable(inst)
			}
			continue
		case a.State == events.AgentDockerDown && inst.OnDocker():
			w.finish(inst, events.TaskLost, "Docker is unavailable on agent "+inst.AgentID+": "+a.Heartbeat.Docker.Error)
			continue
		}
		rep, reported := findTask(a.Heartbeat.Tasks, inst.TaskID)
		switch {
		case reported:
			w.observe(inst, Report{Status: fromHeartbeat(inst, rep), Heartbeat: true})
		case inst.State == events.TaskStaging:
			if w.now.Sub(inst.StagedAt) > w.cfg.StagingTimeout {
				w.finish(inst, events.TaskLost, "not started within "+w.cfg.StagingTimeout.String())
			}
		case !a.listedAt(inst).IsZero() && a.listedAt(inst).After(inst.UpdatedAt.Add(heartbeatSlack)):
			if inst.State == events.TaskKilling {
				w.finish(inst, events.TaskKilled, "")
			} else {
				w.finish(inst, events.TaskLost, "task is gone from agent "+inst.AgentID)
			}
		}
	}
}

// Report is one piece of evidence about a task: a status report from its
// agent, or (Heartbeat) the task as its agent's last heartbeat lists it.
type Report struct {
	Status    events.TaskStatus
	Heartbeat bool
}

// fromHeartbeat reads a heartbeat's listing of a task as a status report.
func fromHeartbeat(inst *events.Instance, rep events.TaskReport) events.TaskStatus {
	return events.TaskStatus{V: events.Version, AgentID: inst.AgentID, TaskID: inst.TaskID, State: rep.State,
		Message: rep.Message, HostPorts: rep.HostPorts, IPAddress: rep.IPAddress, At: rep.StartedAt,
		Health: rep.Health, Ready: rep.Ready}
}

// observe is the one transition of an instance on evidence of its task,
// from the status stream and from heartbeats alike:
//   - an ended task ends the instance (finish);
//   - a running task on an agent back from silence is running again, as it
//     was (a heartbeat says so; a status report restarts it, below);
//   - a running instance takes new health and readiness results (from a
//     heartbeat, only when they differ: a previous leader may have taken
//     the report that brought them);
//   - an instance not yet running, and not being killed, starts (from a
//     heartbeat, only a staging one, and without the listing's message or
//     health, which the next pass brings).
func (w *work) observe(inst *events.Instance, r Report) {
	st := r.Status
	switch {
	case st.State.Terminal():
		w.finish(inst, st.State, st.Message)
		w.d.Poke = w.d.Poke || !r.Heartbeat
	case st.State != events.TaskRunning:
	case r.Heartbeat && inst.State == events.TaskUnreachable:
		inst = w.edit(inst)
		inst.State, inst.UnreachableSince, inst.UpdatedAt = events.TaskRunning, time.Time{}, w.now
		w.putInstance(inst)
		w.statusEvent(inst, "agent "+inst.AgentID+" is reachable again")
	case inst.State == events.TaskRunning:
		if r.Heartbeat && healthChanged(inst, st) || !r.Heartbeat && (st.Health != nil || st.Ready != nil) {
			w.health(inst, events.TaskStatus{Health: st.Health, Ready: st.Ready})
		}
	case inst.State == events.TaskKilling, r.Heartbeat && inst.State != events.TaskStaging:
	default:
		if r.Heartbeat {
			st.Message, st.Health, st.Ready = "", nil, nil
		}
		w.started(inst, st)
	}
}

// started records that a task runs.
func (w *work) started(inst *events.Instance, st events.TaskStatus) {
	inst = w.edit(inst)
	inst.State = events.TaskRunning
	inst.StartedAt = w.now
	if !st.At.IsZero() && st.At.Before(w.now) {
		inst.StartedAt = st.At
	}
	inst.HostPorts = firstNonEmpty(st.HostPorts, inst.HostPorts)
	inst.IPAddress = st.IPAddress
	inst.Message = st.Message
	inst.UpdatedAt = w.now
	inst.UnreachableSince = time.Time{}
	if st.Health != nil || st.Ready != nil {
		inst.Health, inst.Ready = st.Health, st.Ready
	}
	w.putInstance(inst)
	w.statusEvent(inst, st.Message)
	w.d.Poke = true
}

// Status decides on an agent's report of a task, through the same
// transition as a pass (observe). Reports of tasks the leader does not know
// are left to the pass, which kills such containers.
func Status(in State, st events.TaskStatus, logger *slog.Logger) Decisions {
	w := newWork(in, logger)
	inst, ok := in.Instances[st.TaskID]
	if !ok || inst.AgentID != st.AgentID {
		return w.d
	}
	w.instances = map[string]*events.Instance{inst.TaskID: inst}
	w.observe(inst, Report{Status: st})
	return w.d
}

// health records a running task's health and readiness, tells the world
// when its health changes, and kills it once a check has failed
// maxConsecutiveFailures times in a row (the agent does not count failures
// within the grace period).
func (w *work) health(inst *events.Instance, st events.TaskStatus) {
	inst = w.edit(inst)
	was := inst.Healthy()
	if st.Health != nil {
		inst.Health = st.Health
	}
	if st.Ready != nil {
		inst.Ready = st.Ready
	}
	inst.UpdatedAt = w.now
	w.putInstance(inst)
	if is := inst.Healthy(); is != nil && (was == nil || *was != *is) {
		w.event(events.EventHealthStatusChanged, events.HealthStatusChangedEvent{
			EventType: events.EventHealthStatusChanged, Timestamp: w.timestamp(),
			AppID: inst.AppID, TaskID: inst.TaskID, InstanceID: inst.TaskID, Version: inst.Version, Alive: *is,
		})
	}
	w.d.Poke = true
	app := w.app(inst.AppID)
	if app == nil {
		return
	}
	for _, h := range inst.Health {
		if h.Index < 0 || h.Index >= len(app.Def.HealthChecks) {
			continue
		}
		limit := app.Def.HealthChecks[h.Index].MaxConsecutiveFailures
		if limit > 0 && !h.Alive && h.ConsecutiveFailures >= limit {
			w.logger.Info("killing unhealthy task", "app", inst.AppID, "task", inst.TaskID, "failures", h.ConsecutiveFailures, "cause", h.LastFailureCause)
			w.event(events.EventUnhealthyInstanceKill, events.UnhealthyInstanceKillEvent{
				EventType: events.EventUnhealthyInstanceKill, Timestamp: w.timestamp(),
				AppID: inst.AppID, TaskID: inst.TaskID, InstanceID: inst.TaskID, Version: inst.Version,
				Reason: h.LastFailureCause, Host: inst.Host, SlaveID: inst.AgentID,
			})
			w.kill(inst)
			return
		}
	}
}

// unreachable handles an instance whose agent went silent, as Marathon
// does: it is TASK_UNREACHABLE at once; its app's unreachableStrategy says
// when it stops counting (inactiveAfterSeconds: then it is replaced, see
// activeUnreachable) and when it is forgotten (expungeAfterSeconds), or
// ("disabled") that it never is. With Marathon's default of 0 and 0 it is
// replaced and forgotten in this pass, its TASK_UNREACHABLE said in a
// status event only. A task still staging or being killed is lost at once.
func (w *work) unreachable(inst *events.Instance) {
	msg := "agent " + inst.AgentID + " is unreachable"
	var us unreachable
	if a := w.app(inst.AppID); a != nil {
		us = unreachableStrategy(a.Def)
	}
	if inst.State == events.TaskStaging || inst.State == events.TaskKilling {
		w.finish(inst, events.TaskLost, msg)
		return
	}
	if inst.State != events.TaskUnreachable && !us.disabled && us.expungeAfter == 0 && us.inactiveAfter == 0 {
		// Marathon's default (0 and 0): unreachable, replaced and forgotten
		// at once. One status says so, and one write (the delete) does it:
		// a storm of lost hosts costs no record written only to be deleted.
		u := *inst
		u.State = events.TaskUnreachable
		w.statusEvent(&u, msg)
		w.finish(inst, events.TaskLost, msg)
		return
	}
	if inst.State != events.TaskUnreachable {
		inst = w.edit(inst)
		inst.State, inst.UnreachableSince, inst.UpdatedAt = events.TaskUnreachable, w.now, w.now
		w.putInstance(inst)
		w.statusEvent(inst, msg)
		return
	}
	if !us.disabled && w.now.Sub(inst.UnreachableSince) >= max(us.expungeAfter, us.inactiveAfter) {
		w.finish(inst, events.TaskLost, msg+" for longer than expungeAfterSeconds")
	}
}

// healthChanged: the agent reports health or readiness the instance lacks.
func healthChanged(inst *events.Instance, rep events.TaskStatus) bool {
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

func firstNonEmpty(a, b []int) []int {
	if len(a) > 0 {
		return a
	}
	return b
}
