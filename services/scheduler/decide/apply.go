package decide

// Apply takes decisions into the state they were made from, for the next
// decision: records put and deleted, verdicts, backoffs, kill bookkeeping,
// deployments finishing, the view, the brake. It changes st's maps and the
// apps and agents they point to: the caller's, once it has decided.
func (d Decisions) Apply(st *State) {
	for _, w := range d.Writes {
		switch {
		case w.Instance != nil:
			inst := *w.Instance
			st.Instances[inst.TaskID] = &inst
		case w.DeleteInstance != "":
			delete(st.Instances, w.DeleteInstance)
		case w.Queue != nil:
			st.Queue[w.Queue.AppID] = *w.Queue
		case w.DeleteQueue != "":
			delete(st.Queue, w.DeleteQueue)
		case w.AdvanceDeployment != nil:
			// Its step moves at once (no pass reports it again); its
			// revision when the bucket delivers the write.
			if ds, ok := st.Deployments[w.AdvanceDeployment.Key]; ok && ds.Rev == w.AdvanceDeployment.Rev {
				ds.D = w.AdvanceDeployment.D
				st.Deployments[w.AdvanceDeployment.Key] = ds
			}
		}
	}
	for id, v := range d.Agents {
		if a := st.Agents[id]; a != nil {
			a.State, a.Recorded = v.State, v.Recorded
		}
	}
	for id, b := range d.Backoffs {
		if a := st.Apps[id]; a != nil {
			a.Backoff = b
		}
	}
	if d.KillSent != nil {
		st.KillSent = d.KillSent
	}
	for _, key := range d.Finished {
		if ds, ok := st.Deployments[key]; ok {
			ds.Finishing = true
			st.Deployments[key] = ds
		}
	}
	st.View, st.Brake, st.Passes = d.View, d.Brake, d.Passes
}
