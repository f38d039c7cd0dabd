package agent

import (
	"slices"
	"testing"

	"github.com/drover/drover/pkg/events"
)

func TestDirtyTasksCoalesce(t *testing.T) {
	d := newDirtyTasks()
	for _, id := range []string{"b", "a", "b", "b"} {
		d.Mark(id) // never blocks, signalled or not
	}
	select {
	case <-d.signal:
	default:
		t.Fatal("no signal")
	}
	if got := d.take(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("take = %v", got)
	}
	if got := d.take(); len(got) != 0 {
		t.Fatalf("second take = %v", got)
	}
}

func TestHealthSummary(t *testing.T) {
	got := healthSummary([]events.HealthResult{{Alive: true}, {ConsecutiveFailures: 2, LastFailureCause: "HTTP status 500"}, {}})
	if !slices.Equal(got, []string{"alive", "2 failures: HTTP status 500", "unknown"}) {
		t.Fatalf("summary %q", got)
	}
	yes := true
	if readySummary(nil) != "no checks" || readySummary(&yes) != "true" {
		t.Fatal("ready summary")
	}
}
