package decide

import (
	"log/slog"
	"maps"
	"time"

	"github.com/drover/drover/pkg/events"
)

// work is one decision in progress: the input, the leader's state as the
// decision changes it so far (copies: the input is never changed), and what
// was decided.
type work struct {
	in     State
	cfg    Config
	now    time.Time
	logger *slog.Logger
	d      Decisions

	instances   map[string]*events.Instance
	mine        map[string]bool // instances already copied for this decision
	agents      map[string]*Agent
	deployments map[string]Deployment
	queue       map[string]events.QueueEntry
	killOwned   bool // d.KillSent is a copy of in.KillSent
	// heldApps counts, per app, the tasks the silent-majority brake holds
	// in this pass; byApp groups the instances while deployments finish.
	heldApps map[string]int
	byApp    map[string][]*events.Instance
}

func newWork(in State, logger *slog.Logger) *work {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &work{in: in, cfg: in.Config, now: in.Now, logger: logger, instances: in.Instances, mine: map[string]bool{},
		d: Decisions{View: in.View, Brake: in.Brake, Passes: in.Passes}}
}

// Pass is one pass of the leader: judge the agents, settle every instance
// against what its agent reports, kill what must not run, scale and roll
// every app, place what is missing, record the queue, and finish the
// deployments that are done. It reads in and returns what it decided.
func Pass(in State, logger *slog.Logger) Decisions {
	w := newWork(in, logger)
	w.instances = maps.Clone(in.Instances)
	if w.instances == nil {
		w.instances = map[string]*events.Instance{}
	}
	w.queue = maps.Clone(in.Queue)
	if w.queue == nil {
		w.queue = map[string]events.QueueEntry{}
	}
	w.agents = make(map[string]*Agent, len(in.Agents))
	for id, a := range in.Agents {
		c := *a
		w.agents[id] = &c
	}
	w.deployments = map[string]Deployment{}
	for k, d := range in.Deployments {
		if !d.Finishing {
			w.deployments[k] = d
		}
	}
	w.judgeAgents()
	w.settleInstances()
	w.killUnknown()
	w.forgetKills()
	w.place(w.scale())
	w.finishDeployments()
	return w.d
}

// edit returns the instance to change: a copy, made once per decision, that
// replaces the input's in the working state.
func (w *work) edit(inst *events.Instance) *events.Instance {
	if w.mine[inst.TaskID] {
		return inst
	}
	c := *inst
	w.instances[c.TaskID] = &c
	w.mine[c.TaskID] = true
	return &c
}

// app is the app of an id, or nil.
func (w *work) app(id string) *App { return w.in.Apps[id] }

// backoff is an app's launch backoff as decided so far.
func (w *work) backoff(appID string) Backoff {
	if b, ok := w.d.Backoffs[appID]; ok {
		return b
	}
	if a := w.app(appID); a != nil {
		return a.Backoff
	}
	return Backoff{}
}

func (w *work) setBackoff(appID string, b Backoff) {
	if w.d.Backoffs == nil {
		w.d.Backoffs = map[string]Backoff{}
	}
	w.d.Backoffs[appID] = b
}

// killSent is the kill bookkeeping as decided so far; killSentToChange a
// copy of it to change.
func (w *work) killSent() map[string]KillTry {
	if w.killOwned {
		return w.d.KillSent
	}
	return w.in.KillSent
}

func (w *work) killSentToChange() map[string]KillTry {
	if !w.killOwned {
		w.d.KillSent = maps.Clone(w.in.KillSent)
		if w.d.KillSent == nil {
			w.d.KillSent = map[string]KillTry{}
		}
		w.killOwned = true
	}
	return w.d.KillSent
}

func (w *work) write(wr Write) { w.d.Writes = append(w.d.Writes, wr) }
