package change

import (
	"context"
	"testing"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/api/readmodel"
)

// TestConformanceCASRefusesStaleWrite: a write prepared on a stale read
// loses its compare-and-set and is rebuilt, not applied over the other.
func TestConformanceCASRefusesStaleWrite(t *testing.T) {
	bus := testutil.RunJetStream(t).Bus(t)
	ctx := context.Background()
	cmd := "x"
	data, err := events.Encode(events.AppRecord{V: events.Version, App: marathon.App{ID: "/cas", Cmd: &cmd}})
	if err != nil {
		t.Fatal(err)
	}
	rev, err := bus.Apps.Create(ctx, events.AppKey("/cas"), data)
	if err != nil {
		t.Fatal(err)
	}
	stale := readmodel.AppEntry{Rec: events.AppRecord{V: events.Version, App: marathon.App{ID: "/cas", Cmd: &cmd}}, Rev: rev}
	w := &Writer{bus: bus, logger: testutil.Logger(t)}
	next := stale.Rec.App
	n := 5
	next.Instances = &n
	if _, err := w.writeApp(ctx, Op{ID: "/cas", Prev: &stale, Next: &next}, "d1"); err != nil {
		t.Fatal(err)
	}
	_, err = w.writeApp(ctx, Op{ID: "/cas", Prev: &stale, Next: &next}, "d2")
	if _, ok := err.(*errRetry); !ok {
		t.Errorf("a write at a stale revision = %v, want errRetry", err)
	}
	entry, err := bus.Apps.Get(ctx, events.AppKey("/cas"))
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := events.Decode[events.AppRecord](entry.Value())
	if rec.DeploymentID != "d1" {
		t.Errorf("deployment %s, want d1", rec.DeploymentID)
	}
}
