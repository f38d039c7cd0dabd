package change

// portTail remembers this replica's last writes of changes that took free
// service ports, so that the next such change can be staged before the read
// model shows them: the port lock is released as soon as a change's apps
// are written, not once the read model has caught up. Used only under the
// Writer's port lock.
type portTail struct {
	// from and to bound the run of revisions (from, to] that are all this
	// replica's writes, each expecting the one before it.
	from, to uint64
	writes   []tailWrite
}

// tailWrite is one app write of the run.
type tailWrite struct {
	rev   uint64
	id    string
	ports []int // the app's service ports after the write; none for a delete
}

// portBase is what a change taking free ports is staged on besides the
// read model's state at revision rm.
type portBase struct {
	rm    uint64          // the revision of the apps bucket the state shows
	seq   uint64          // the bucket's last revision, as the change expects it
	extra []int           // service ports written after rm
	ids   map[string]bool // the apps written after rm
}

// base is the staging base at the read model's revision rm: the run's end
// when the read model has reached the run's start (every revision after rm
// is then the run's), else rm itself.
func (t *portTail) base(rm uint64) portBase {
	b := portBase{rm: rm, seq: rm}
	if t.to <= rm {
		t.writes = nil // all shown
		return b
	}
	if rm < t.from {
		return b // others' writes may lie between
	}
	kept := t.writes[:0]
	for _, w := range t.writes {
		if w.rev > rm {
			kept = append(kept, w)
		}
	}
	t.writes = kept
	b.seq, b.ids = t.to, map[string]bool{}
	for _, w := range t.writes {
		b.extra = append(b.extra, w.ports...)
		b.ids[w.id] = true
	}
	return b
}

// touches reports whether a change's ops name an app the read model does
// not show as written: the change is then staged on the read model alone
// (it will wait for it), since its view of that app is stale.
func (b portBase) touches(ops []Op) bool {
	for _, op := range ops {
		if b.ids[op.ID] {
			return true
		}
	}
	return false
}

// wrote records a change's writes, staged on revision seq.
func (t *portTail) wrote(seq uint64, writes []tailWrite) {
	if len(writes) == 0 {
		return
	}
	if seq != t.to {
		t.from, t.writes = seq, nil
	}
	t.writes = append(t.writes, writes...)
	t.to = writes[len(writes)-1].rev
}
