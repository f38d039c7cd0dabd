package scheduler

import (
	"context"
	"encoding/json"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
)

func lastRevision(rev uint64) jetstream.KVDeleteOpt { return jetstream.LastRevision(rev) }

// launch records a new instance and sends its launch command. Callers hold s.mu.
func (s *Scheduler) launch(ctx context.Context, epoch uint64, app marathon.App, agent events.Heartbeat, picked []int, now time.Time) {
	taskID := newTaskID(app.ID)
	ports := assignPorts(app, picked)
	inst := &events.Instance{
		V: events.Version, TaskID: taskID, AppID: app.ID, Version: appVersion(app),
		AgentID: agent.AgentID, Host: agent.Hostname, HostPorts: ports,
		State: events.TaskStaging, StagedAt: now, UpdatedAt: now,
	}
	s.instances[taskID] = inst
	s.putInstance(ctx, inst)
	s.send(ctx, agent.AgentID, events.Command{
		Epoch: epoch, Kind: events.CommandLaunch, TaskID: taskID, AppID: app.ID,
		Launch: &events.LaunchSpec{App: app, HostPorts: ports, Env: taskEnv(app, taskID, agent.Hostname, ports)},
	})
	s.logger.Info("launch", "app", app.ID, "task", taskID, "agent", agent.AgentID)
}

// kill marks an instance as being killed and sends the kill command.
func (s *Scheduler) kill(ctx context.Context, epoch uint64, inst *events.Instance, now time.Time) {
	if inst.State != events.TaskKilling {
		inst.State, inst.UpdatedAt = events.TaskKilling, now
		s.putInstance(ctx, inst)
	}
	s.sendKill(ctx, epoch, inst.AgentID, inst.TaskID, inst.AppID, now)
}

// sendKill sends a kill command for a task, and again while the task stays:
// after KillRetry, then twice as long each time, up to killRetryMax, so a
// daemon that is slow or gone is not asked again every few seconds.
func (s *Scheduler) sendKill(ctx context.Context, epoch uint64, agentID, taskID, appID string, now time.Time) {
	last, ok := s.killSent[taskID]
	if ok && now.Sub(last.at) < last.wait {
		return
	}
	next := killTry{at: now, wait: s.cfg.KillRetry}
	if ok && now.Sub(last.at) < 2*max(last.wait, killRetryMax) {
		next.wait = min(2*last.wait, max(killRetryMax, s.cfg.KillRetry))
	}
	s.killSent[taskID] = next
	s.send(ctx, agentID, events.Command{Epoch: epoch, Kind: events.CommandKill, TaskID: taskID, AppID: appID})
	s.logger.Info("kill", "app", appID, "task", taskID, "agent", agentID)
}

// killRetryMax is the longest wait between two kill commands for one task.
const killRetryMax = time.Minute

// killTry is when a task's last kill command was sent, and how long to wait
// before the next.
type killTry struct {
	at   time.Time
	wait time.Duration
}

// forgetKills forgets the kill commands of tasks killed long ago.
func (s *Scheduler) forgetKills(now time.Time) {
	for id, k := range s.killSent {
		if now.Sub(k.at) > 2*max(k.wait, killRetryMax) {
			delete(s.killSent, id)
		}
	}
}

// send queues a command for the agent. Callers hold s.mu.
func (s *Scheduler) send(_ context.Context, agentID string, cmd events.Command) {
	cmd.V, cmd.ID, cmd.IssuedAt = events.Version, uuid.NewString(), s.now().UTC()
	data, err := events.Encode(cmd)
	if err != nil {
		s.logger.Error("cannot encode command", "task", cmd.TaskID, "error", err)
		return
	}
	s.outbox = append(s.outbox, write{subject: events.AgentCommand(agentID), data: data, msgID: cmd.ID, epoch: s.epoch})
}

// finish ends an instance: it is forgotten, its app's launch backoff grows
// if it failed young, and a status_update_event tells the world.
func (s *Scheduler) finish(ctx context.Context, inst *events.Instance, state events.TaskState, msg string, now time.Time) {
	delete(s.instances, inst.TaskID)
	s.queueDelete(s.bus.Instances, events.InstanceKey(inst.TaskID))
	killedByUs := inst.State == events.TaskKilling
	inst.State, inst.Message, inst.UpdatedAt = state, msg, now
	s.logger.Info("task ended", "app", inst.AppID, "task", inst.TaskID, "state", state, "message", msg)
	s.statusEvent(inst, msg)
	// Backoff is for tasks that fail, not for hosts that do: a task lost
	// with its agent or Docker daemon, or killed, is replaced at once.
	if st, ok := s.apps[inst.AppID]; ok && !killedByUs && state != events.TaskKilled && state != events.TaskLost {
		s.backoff(st, inst, now)
	}
}

// backoff applies Marathon's launch delay, after a first replacement at
// once: a task that died young delays its app's next launch by the current
// delay, which starts at backoffSeconds and grows by backoffFactor with each
// young death, up to maxLaunchDelaySeconds; deaths within a delay already
// running count once. A task that ran BackoffResetAfter or longer is
// replaced at once and the delay starts over.
func (s *Scheduler) backoff(st *appState, inst *events.Instance, now time.Time) {
	app := st.rec.App
	if !inst.StartedAt.IsZero() && now.Sub(inst.StartedAt) >= s.cfg.BackoffResetAfter {
		st.delay, st.notBefore = 0, time.Time{}
		return
	}
	if now.Before(st.notBefore) || inst.StagedAt.Before(st.failedAt) {
		// Tasks dying together count once: this one was launched before
		// the death that last set the delay.
		return
	}
	st.failedAt = now
	st.notBefore = now.Add(st.delay)
	if st.delay == 0 {
		st.delay = seconds(app.BackoffSeconds, 1)
	} else {
		st.delay = time.Duration(float64(st.delay) * valueOr(app.BackoffFactor, 1.15))
	}
	if limit := seconds(app.MaxLaunchDelaySeconds, 300); st.delay > limit {
		st.delay = limit
	}
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

func (s *Scheduler) putInstance(_ context.Context, inst *events.Instance) {
	inst.Epoch = s.epoch
	data, err := events.Encode(*inst)
	if err != nil {
		s.logger.Error("cannot encode instance", "task", inst.TaskID, "error", err)
		return
	}
	s.queuePut(s.bus.Instances, events.InstanceKey(inst.TaskID), data)
}

func (s *Scheduler) putAgent(_ context.Context, a *agentState, used events.Resources) {
	rec := events.AgentRecord{
		V: events.Version, AgentID: a.hb.AgentID, Hostname: a.hb.Hostname, Address: a.hb.Address,
		Attributes: a.hb.Attributes, Total: a.hb.Resources, Used: used, Policy: a.hb.Policy, Docker: a.hb.Docker,
		State: a.state, LastSeen: a.seen.UTC(),
	}
	data, err := events.Encode(rec)
	if err != nil {
		s.logger.Error("cannot encode agent", "agent", a.hb.AgentID, "error", err)
		return
	}
	s.queuePut(s.bus.Agents, a.hb.AgentID, data)
}

func (s *Scheduler) statusEvent(inst *events.Instance, msg string) {
	ev := events.StatusUpdateEvent{
		EventType: events.EventStatusUpdate, Timestamp: s.now().UTC().Format(events.TimeFormat),
		SlaveID: inst.AgentID, TaskID: inst.TaskID, TaskStatus: inst.State, Message: msg,
		AppID: inst.AppID, Host: inst.Host, IPAddresses: []events.IPAddress{}, Ports: inst.HostPorts, Version: inst.Version,
	}
	if inst.IPAddress != "" {
		ev.IPAddresses = append(ev.IPAddresses, events.IPAddress{IPAddress: inst.IPAddress, Protocol: "IPv4"})
	}
	if ev.Ports == nil {
		ev.Ports = []int{}
	}
	s.publishEvent(events.EventStatusUpdate, ev)
}

// publishEvent puts a Marathon event on drover.events.<type>; the events
// stream stores it. Best effort: an event lost here never blocks scheduling.
func (s *Scheduler) publishEvent(eventType string, payload any) {
	data, err := json.Marshal(payload)
	if err == nil {
		err = s.nc.Publish(events.Event(eventType), data)
	}
	if err != nil {
		s.logger.Warn("cannot publish event", "type", eventType, "error", err)
	}
}
