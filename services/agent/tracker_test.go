package agent

import (
	"testing"
	"time"

	"github.com/drover/drover/pkg/events"
)

func TestTracker(t *testing.T) {
	now := time.Unix(1000, 0)
	tr := newTracker(time.Minute)
	steps := []struct {
		state events.TaskState
		want  bool
	}{
		{events.TaskRunning, true},
		{events.TaskRunning, false}, // seen twice: once
		{events.TaskKilling, true},
		{events.TaskKilled, true},
		{events.TaskFailed, false}, // nothing after terminal
		{events.TaskRunning, false},
	}
	for i, s := range steps {
		got := tr.ShouldPublish("t1", s.state)
		if got != s.want {
			t.Fatalf("step %d: ShouldPublish(%s) = %v, want %v", i, s.state, got, s.want)
		}
		if got {
			tr.Record(events.TaskStatus{TaskID: "t1", State: s.state}, now)
		}
	}
	if st, ok := tr.Last("t1"); !ok || st.State != events.TaskKilled {
		t.Fatalf("Last = %v, %v", st, ok)
	}
	tr.Record(events.TaskStatus{TaskID: "t2", State: events.TaskRunning}, now)
	tr.Prune(now.Add(30 * time.Second))
	if _, ok := tr.Last("t1"); !ok {
		t.Fatal("pruned a terminal task before retain")
	}
	tr.Prune(now.Add(2 * time.Minute))
	if _, ok := tr.Last("t1"); ok {
		t.Fatal("kept a terminal task past retain")
	}
	if _, ok := tr.Last("t2"); !ok {
		t.Fatal("pruned a running task")
	}
}
