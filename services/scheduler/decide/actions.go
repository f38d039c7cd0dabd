package decide

import (
	"time"

	"github.com/drover/drover/pkg/deployplan"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
	"github.com/google/uuid"
)

// launch records a new instance and sends its launch command.
func (w *work) launch(app marathon.App, spec marathon.TaskSpec, agent events.Heartbeat, picked []int) {
	taskID := newTaskID(app.ID)
	ports := assignPorts(spec, picked)
	inst := &events.Instance{
		V: events.Version, TaskID: taskID, AppID: app.ID, Version: deployplan.ConfigVersion(&app),
		AgentID: agent.AgentID, Host: agent.Hostname, HostPorts: ports,
		State: events.TaskStaging, StagedAt: w.now, UpdatedAt: w.now,
		Runtime: events.RuntimeDocker,
	}
	if spec.HostCommand() {
		inst.Runtime = events.RuntimeCommand
	}
	w.instances[taskID] = inst
	w.mine[taskID] = true
	w.putInstance(inst)
	w.send(agent.AgentID, LaunchCommand(w.in.Epoch, app, inst))
	w.logger.Info("launch", "app", app.ID, "task", taskID, "agent", agent.AgentID)
}

// LaunchCommand is the command that launches an instance of app.
func LaunchCommand(epoch uint64, app marathon.App, inst *events.Instance) events.Command {
	return events.Command{
		Epoch: epoch, Kind: events.CommandLaunch, TaskID: inst.TaskID, AppID: app.ID,
		Launch: &events.LaunchSpec{App: app, HostPorts: inst.HostPorts},
	}
}

// kill marks an instance as being killed and sends the kill command. The
// mark is a status_update_event of TASK_KILLING, as Mesos reports a kill to
// Marathon: load balancers (marathon-lb) take the task out of rotation on
// it, before the task ends.
func (w *work) kill(inst *events.Instance) {
	if inst.State != events.TaskKilling {
		inst = w.edit(inst)
		inst.State, inst.UpdatedAt = events.TaskKilling, w.now
		w.putInstance(inst)
		w.statusEvent(inst, "")
	}
	w.sendKill(inst.AgentID, inst.TaskID, inst.AppID)
}

// sendKill sends a kill command for a task, and again while the task stays:
// after KillRetry, then twice as long each time, up to killRetryMax, so a
// daemon that is slow or gone is not asked again every few seconds.
func (w *work) sendKill(agentID, taskID, appID string) {
	last, ok := w.killSent()[taskID]
	if ok && w.now.Sub(last.At) < last.Wait {
		return
	}
	next := KillTry{At: w.now, Wait: w.cfg.KillRetry}
	if ok && w.now.Sub(last.At) < 2*max(last.Wait, killRetryMax) {
		next.Wait = min(2*last.Wait, max(killRetryMax, w.cfg.KillRetry))
	}
	w.killSentToChange()[taskID] = next
	w.send(agentID, events.Command{Epoch: w.in.Epoch, Kind: events.CommandKill, TaskID: taskID, AppID: appID})
	w.logger.Info("kill", "app", appID, "task", taskID, "agent", agentID)
}

// killRetryMax is the longest wait between two kill commands for one task.
const killRetryMax = time.Minute

// forgetKills forgets the kill commands of tasks killed long ago.
func (w *work) forgetKills() {
	for id, k := range w.killSent() {
		if w.now.Sub(k.At) > 2*max(k.Wait, killRetryMax) {
			delete(w.killSentToChange(), id)
		}
	}
}

// send queues a command for an agent, with its id and time.
func (w *work) send(agentID string, cmd events.Command) {
	cmd.V, cmd.ID, cmd.IssuedAt = events.Version, uuid.NewString(), w.now.UTC()
	w.write(Write{Command: &Command{AgentID: agentID, Command: cmd}})
}

// finish ends an instance: it is forgotten, its app's launch backoff grows
// if it failed young, and a status_update_event tells the world.
func (w *work) finish(inst *events.Instance, state events.TaskState, msg string) {
	delete(w.instances, inst.TaskID)
	w.write(Write{DeleteInstance: inst.TaskID})
	killedByUs := inst.State == events.TaskKilling
	ended := *inst
	ended.State, ended.Message, ended.UpdatedAt = state, msg, w.now
	w.logger.Info("task ended", "app", inst.AppID, "task", inst.TaskID, "state", state, "message", msg)
	w.statusEvent(&ended, msg)
	// Backoff is for tasks that fail, not for hosts that do: a task lost
	// with its agent or Docker daemon, or killed, is replaced at once.
	if a := w.app(inst.AppID); a != nil && !killedByUs && state != events.TaskKilled && state != events.TaskLost {
		w.setBackoff(inst.AppID, nextBackoff(a.Def, w.backoff(inst.AppID), &ended, w.now, w.cfg.BackoffResetAfter))
	}
}

// nextBackoff applies Marathon's launch delay, after a first replacement at
// once: a task that died young delays its app's next launch by the current
// delay, which starts at backoffSeconds and grows by backoffFactor with each
// young death, up to maxLaunchDelaySeconds; deaths within a delay already
// running count once. A task that ran resetAfter or longer is replaced at
// once and the delay starts over.
func nextBackoff(app marathon.App, b Backoff, inst *events.Instance, now time.Time, resetAfter time.Duration) Backoff {
	if !inst.StartedAt.IsZero() && now.Sub(inst.StartedAt) >= resetAfter {
		b.Delay, b.NotBefore = 0, time.Time{}
		return b
	}
	if now.Before(b.NotBefore) || inst.StagedAt.Before(b.FailedAt) {
		// Tasks dying together count once: this one was launched before
		// the death that last set the delay.
		return b
	}
	b.FailedAt = now
	b.NotBefore = now.Add(b.Delay)
	if b.Delay == 0 {
		b.Delay = seconds(app.BackoffSeconds, 1)
	} else {
		b.Delay = time.Duration(float64(b.Delay) * valueOr(app.BackoffFactor, 1.15))
	}
	if limit := seconds(app.MaxLaunchDelaySeconds, 300); b.Delay > limit {
		b.Delay = limit
	}
	return b
}

func valueOr(f *float64, def float64) float64 {
	if f == nil {
		return def
	}
	return *f
}

func seconds(f *float64, def float64) time.Duration {
	return time.Duration(valueOr(f, def) * float64(time.Second))
}

// putInstance writes an instance's record, stamped with the term.
func (w *work) putInstance(inst *events.Instance) {
	inst.Epoch = w.in.Epoch
	rec := *inst
	w.write(Write{Instance: &rec})
}

func (w *work) statusEvent(inst *events.Instance, msg string) {
	ev := events.StatusUpdateEvent{
		EventType: events.EventStatusUpdate, Timestamp: w.timestamp(),
		SlaveID: inst.AgentID, TaskID: inst.TaskID, TaskStatus: inst.State, Message: msg,
		AppID: inst.AppID, Host: inst.Host, IPAddresses: []events.IPAddress{}, Ports: inst.HostPorts, Version: inst.Version,
	}
	if inst.IPAddress != "" {
		ev.IPAddresses = append(ev.IPAddresses, events.IPAddress{IPAddress: inst.IPAddress, Protocol: "IPv4"})
	}
	if ev.Ports == nil {
		ev.Ports = []int{}
	}
	w.event(events.EventStatusUpdate, ev)
}

// event queues a Marathon event for drover.events.<type>.
func (w *work) event(eventType string, payload any) {
	w.write(Write{Event: &Event{Type: eventType, Payload: payload}})
}

func (w *work) timestamp() string { return w.now.UTC().Format(events.TimeFormat) }
