package scheduler

import (
	"errors"
	"testing"
	"time"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/services/scheduler/decide"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestOutboxFinishesADeploymentAtItsRevision: a deployment's delete goes
// through the outbox with the revision it was judged at; its event is
// published only once the delete landed; a delete whose revision no longer
// holds is refused, not retried, and takes its event with it.
func TestOutboxFinishesADeploymentAtItsRevision(t *testing.T) {
	js := testutil.RunJetStream(t)
	bus := js.Bus(t)
	nc := js.Connect(t)
	s, err := New(DefaultConfig(), bus, nc, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 4)
	sub, err := nc.Subscribe(events.Event(events.EventDeploymentSuccess), func(m *nats.Msg) { got <- string(m.Data) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	rev, err := bus.Deployments.Create(t.Context(), "d1", []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	finish := func(key string, rev uint64) {
		s.mu.Lock()
		s.epoch = 3
		s.apply(decide.Decisions{Writes: []decide.Write{
			{DeleteDeployment: &decide.DeploymentDelete{Key: key, Rev: rev}},
			{Event: &decide.Event{Type: events.EventDeploymentSuccess, Payload: map[string]string{"id": key}, AfterPrevious: true}},
		}})
		s.mu.Unlock()
		s.flush(t.Context())
	}

	finish("d1", rev+1) // judged at a revision the record is not at
	if _, err := bus.Deployments.Get(t.Context(), "d1"); err != nil {
		t.Fatalf("deleted at the wrong revision: %v", err)
	}
	if len(s.outbox) != 0 {
		t.Errorf("%d writes queued again after a refused revision check, want none", len(s.outbox))
	}
	finish("d1", rev)
	if _, err := bus.Deployments.Get(t.Context(), "d1"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("after the delete at its revision: %v, want it gone", err)
	}
	select {
	case e := <-got:
		if e != `{"id":"d1"}` {
			t.Errorf("event %s", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event after the delete landed")
	}
	select {
	case e := <-got:
		t.Errorf("a second event %s: the refused delete's event was sent", e)
	case <-time.After(200 * time.Millisecond):
	}
}
