package agent

import (
	"sync"
	"time"

	"github.com/drover/drover/pkg/events"
)

// tracker remembers the last status published for each task, so that the
// same state observed twice (by a command's result and by the runtime's event
// stream) is reported once, and nothing follows a terminal state. Terminal
// entries are kept for retain, then forgotten.
type tracker struct {
	mu     sync.Mutex
	last   map[string]trackedStatus
	retain time.Duration
}

type trackedStatus struct {
	status events.TaskStatus
	at     time.Time // when it was recorded
}

func newTracker(retain time.Duration) *tracker {
	return &tracker{last: map[string]trackedStatus{}, retain: retain}
}

// ShouldPublish reports whether a task moving to state is news.
func (t *tracker) ShouldPublish(taskID string, state events.TaskState) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	prev, ok := t.last[taskID]
	return !ok || (!prev.status.State.Terminal() && prev.status.State != state)
}

// Record remembers st as the task's last published status.
func (t *tracker) Record(st events.TaskStatus, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.last[st.TaskID] = trackedStatus{status: st, at: now}
}

// Last is the task's last published status.
func (t *tracker) Last(taskID string) (events.TaskStatus, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	prev, ok := t.last[taskID]
	return prev.status, ok
}

// Prune forgets terminal tasks recorded more than retain before now.
func (t *tracker) Prune(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, tr := range t.last {
		if tr.status.State.Terminal() && now.Sub(tr.at) > t.retain {
			delete(t.last, id)
		}
	}
}
