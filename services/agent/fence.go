package agent

import "sync"

// fence holds the highest scheduler epoch the agent has seen, and the
// lineage of that epoch's leader (events.LeaderRecord.Lineage): commands of
// an epoch below the lineage come from a deposed leader and are refused.
// Epochs from the lineage up are one scheduler process's unbroken run of
// terms (it reclaimed its own lock after a late renewal, and no other
// scheduler held it in between), so what its earlier terms sent still runs.
type fence struct {
	mu      sync.Mutex
	highest uint64
	floor   uint64 // the lowest epoch admitted: the current lineage's first
}

// Observe takes in a leader record: a higher epoch raises the fence to its
// lineage (its epoch for records without one); the highest epoch's own
// record may lower the floor a command of that epoch set.
func (f *fence) Observe(epoch, lineage uint64) {
	if lineage == 0 || lineage > epoch {
		lineage = epoch
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case epoch > f.highest:
		f.highest, f.floor = epoch, lineage
	case epoch == f.highest && lineage < f.floor:
		f.floor = lineage
	}
}

// Admit reports whether a command of this epoch may run; when refused it
// also returns the epoch that refused it. A command of an epoch above any
// seen raises the fence to it (its lineage is not known yet, so only that
// epoch is admitted until its leader record comes).
func (f *fence) Admit(epoch uint64) (bool, uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if epoch < f.floor {
		return false, f.highest
	}
	if epoch > f.highest {
		f.highest, f.floor = epoch, epoch
	}
	return true, epoch
}

// Highest is the highest epoch seen.
func (f *fence) Highest() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.highest
}
