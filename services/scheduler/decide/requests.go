package decide

import (
	"log/slog"

	"github.com/drover/drover/pkg/deployplan"
	"github.com/drover/drover/pkg/events"
)

// KillTasks decides on the api's request to kill tasks: each known one is
// killed (and replaced by the next pass, as its app still wants it).
func KillTasks(in State, taskIDs []string, logger *slog.Logger) Decisions {
	w := newWork(in, logger)
	w.instances = map[string]*events.Instance{}
	for _, id := range taskIDs {
		if inst, ok := in.Instances[id]; ok {
			w.instances[id] = inst
			w.kill(inst)
		}
	}
	w.d.Poke = true
	return w.d
}

// Relaunch decides, at the start of a term, to send again the launch of
// every task a previous term recorded as staging: that leader may have died
// between recording the task and sending its command, and the agent would
// never start it (the task would wait out the staging timeout). A launch is
// idempotent on the agent: a task id runs once, and a task already there is
// reported as it is.
func Relaunch(in State, logger *slog.Logger) Decisions {
	w := newWork(in, logger)
	for _, inst := range in.Instances {
		st := w.app(inst.AppID)
		if inst.State != events.TaskStaging || st == nil || deployplan.ConfigVersion(&st.Def) != inst.Version {
			continue
		}
		w.send(inst.AgentID, LaunchCommand(in.Epoch, st.Def, inst))
		w.logger.Info("launch sent again", "app", st.Def.ID, "task", inst.TaskID, "agent", inst.AgentID)
	}
	return w.d
}

// Stray decides on an instance record written after this term read the
// instances bucket, under key, by another term (a deposed leader, whose
// write was in flight as it stopped): this term's record of the task
// replaces it, or, for a task it does not know (a launch decided as the
// old leader went down), it is deleted, and the pass kills the task should
// it run. Records this term wrote itself are not strays.
func Stray(in State, key string, rec events.Instance, logger *slog.Logger) Decisions {
	w := newWork(in, logger)
	if rec.Epoch == in.Epoch {
		return w.d
	}
	if known, ok := in.Instances[rec.TaskID]; ok {
		w.logger.Info("restoring an instance record a previous leader overwrote", "task", rec.TaskID, "epoch", rec.Epoch)
		w.instances = map[string]*events.Instance{known.TaskID: known}
		w.putInstance(w.edit(known))
	} else {
		w.logger.Warn("removing an instance record a previous leader wrote late", "task", rec.TaskID, "app", rec.AppID, "state", rec.State, "epoch", rec.Epoch)
		w.write(Write{DeleteInstance: key})
	}
	w.d.Poke = true
	return w.d
}
