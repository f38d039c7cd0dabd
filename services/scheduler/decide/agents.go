package decide

import (
	"fmt"
	"time"

	"github.com/drover/drover/pkg/events"
)

// judgeAgents sets every agent's state and records it in the agents bucket
// when it changes, and every few seconds while it lives.
func (w *work) judgeAgents() {
	w.judgeSelf()
	warm := w.warm()
	var used map[string]events.Resources // computed once, if any agent is recorded
	for id, a := range w.agents {
		state := events.AgentActive
		switch {
		case w.now.Sub(a.Seen) > w.cfg.UnreachableAfter && warm:
			state = events.AgentUnreachable
		case !a.Heartbeat.Docker.Healthy && a.Seen.Sub(a.DockerDownSince) >= w.cfg.DockerDownAfter:
			// Down in heartbeats spanning DockerDownAfter: the agent saw
			// its daemon refuse connections, or answer nothing for long.
			state = events.AgentDockerDown
		case a.Heartbeat.Docker.Degraded:
			state = events.AgentDockerDegraded
		}
		if state != a.State {
			w.logger.Info("agent state", "agent", id, "from", a.State, "to", state, "docker", a.Heartbeat.Docker.Error)
		}
		if state != a.State || w.now.Sub(a.Recorded) >= 5*time.Second {
			a.State, a.Recorded = state, w.now
			if w.d.Agents == nil {
				w.d.Agents = map[string]Verdict{}
			}
			w.d.Agents[id] = Verdict{State: state, Recorded: w.now}
			if used == nil {
				used = w.usedByAgent()
			}
			w.putAgent(a, used[id])
		}
	}
	w.judgeSilence()
}

// ReasonSilentMajority is the queue's reason for replacements held by the
// silent-majority brake (judgeSilence).
const ReasonSilentMajority = "SilentMajority"

// silentMemory: agents silent for longer are not counted by the brake.
const silentMemory = 10 * time.Minute

// judgeSilence is the silent-majority brake: when more than SilentShare of
// the agents heard in the last silentMemory are unreachable together (two
// at least), the scheduler suspects itself or the network rather than all
// those hosts. It holds their tasks' replacements until the share drops or
// SilentHold passes, and says so in the log and the queue.
func (w *work) judgeSilence() {
	silent, counted := 0, 0
	for _, a := range w.agents {
		if w.now.Sub(a.Seen) > silentMemory {
			continue // long gone: its tasks were dealt with then
		}
		counted++
		if a.State == events.AgentUnreachable {
			silent++
		}
	}
	b := &w.d.Brake
	over := silent >= 2 && float64(silent) > w.cfg.SilentShare*float64(counted)
	switch {
	case !over:
		if b.Held != "" {
			w.logger.Info("silent-majority brake released: replacing unreachable agents' tasks again", "silent", silent, "agents", counted)
		}
		*b = Brake{}
	case b.Since.IsZero():
		b.Since = w.now
		b.Held = fmt.Sprintf("%d of %d agents went silent together; their tasks are not replaced for up to %s, as this scheduler or its network may be at fault", silent, counted, w.cfg.SilentHold)
		w.logger.Warn("silent-majority brake: holding replacements", "silent", silent, "agents", counted, "for", w.cfg.SilentHold)
	case b.Held != "" && w.now.Sub(b.Since) >= w.cfg.SilentHold:
		b.Held = ""
		w.logger.Warn("silent-majority brake: held for its limit, replacing unreachable agents' tasks now", "silent", silent, "agents", counted)
	}
}

// silentAgents counts the unreachable agents.
func (w *work) silentAgents() int {
	n := 0
	for _, a := range w.agents {
		if a.State == events.AgentUnreachable {
			n++
		}
	}
	return n
}

// judgeSelf notes when the scheduler's own view of the agents cannot be
// trusted: its NATS connection is or was down since the last pass, its pass
// ran late (the process starved of CPU), heartbeats wait unread in its
// subscription, or no agent at all was heard for UnreachableAfter (then
// every agent would look dead at once). Agents' silence says nothing until
// heartbeats have flowed again for UnreachableAfter (warm).
func (w *work) judgeSelf() {
	why := ""
	v, self := &w.d.View, w.in.Self
	switch {
	case self.Reconnected:
		why = "NATS connection down or reconnected"
	case !v.LastPass.IsZero() && w.now.Sub(v.LastPass) > w.starvedAfter():
		why = fmt.Sprintf("the leader's pass ran %s after the previous one ended", w.now.Sub(v.LastPass).Round(time.Millisecond))
	case self.Backlog > max(len(w.agents), 16):
		why = fmt.Sprintf("%d heartbeats wait unread", self.Backlog)
	case len(w.agents) > 0 && !self.LastHeard.IsZero() && w.now.Sub(self.LastHeard) > w.cfg.UnreachableAfter:
		why = "no agent heard for " + w.now.Sub(self.LastHeard).Round(time.Millisecond).String()
	}
	if why == "" {
		return
	}
	if w.warm() {
		w.logger.Warn("not judging agents' silence for a while: this scheduler's own view lags", "why", why, "for", w.cfg.UnreachableAfter)
	}
	v.FeedBroken = w.now
}

// starvedAfter: a pass this long after the previous one ended (View.LastPass,
// which the scheduler sets once a pass is published: publishing may take
// long and starves nothing) means the scheduler itself was starved, and
// heartbeats it has not read may be waiting.
func (w *work) starvedAfter() time.Duration {
	return max(4*w.cfg.ReconcileInterval, w.cfg.UnreachableAfter/2)
}

// warm: this scheduler has followed heartbeats, over a working connection,
// for longer than UnreachableAfter, so an agent's silence is the agent's.
func (w *work) warm() bool {
	v := w.d.View
	return w.now.Sub(v.Started) >= w.cfg.UnreachableAfter && w.now.Sub(v.FeedBroken) >= w.cfg.UnreachableAfter
}

// usedByAgent sums the resources of the instances on each agent.
func (w *work) usedByAgent() map[string]events.Resources {
	used := map[string]events.Resources{}
	for _, inst := range w.instances {
		a := w.app(inst.AppID)
		if a == nil {
			continue
		}
		r, u := appResources(a.Def), used[inst.AgentID]
		u.Cpus, u.Mem, u.Disk = u.Cpus+r.Cpus, u.Mem+r.Mem, u.Disk+r.Disk
		used[inst.AgentID] = u
	}
	return used
}

func (w *work) putAgent(a *Agent, used events.Resources) {
	hb := a.Heartbeat
	w.write(Write{Agent: &events.AgentRecord{
		V: events.Version, AgentID: hb.AgentID, Hostname: hb.Hostname, Address: hb.Address,
		Attributes: hb.Attributes, Total: hb.Resources, Used: used, Policy: hb.Policy, Docker: hb.Docker,
		State: a.State, LastSeen: a.Seen.UTC(),
	}})
}
