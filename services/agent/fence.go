package agent

import "sync/atomic"

// fence holds the highest scheduler epoch the agent has seen; a command of a
// lower epoch comes from a deposed leader and is refused.
type fence struct{ highest atomic.Uint64 }

// Observe raises the fence to epoch if it is higher.
func (f *fence) Observe(epoch uint64) {
	for {
		cur := f.highest.Load()
		if epoch <= cur || f.highest.CompareAndSwap(cur, epoch) {
			return
		}
	}
}

// Admit reports whether a command of this epoch may run, raising the fence
// to it; when refused it also returns the epoch that refused it.
func (f *fence) Admit(epoch uint64) (bool, uint64) {
	for {
		cur := f.highest.Load()
		if epoch < cur {
			return false, cur
		}
		if epoch == cur || f.highest.CompareAndSwap(cur, epoch) {
			return true, epoch
		}
	}
}

// Highest is the highest epoch seen.
func (f *fence) Highest() uint64 { return f.highest.Load() }
