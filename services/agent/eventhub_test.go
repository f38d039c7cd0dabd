package agent

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/drover/drover/pkg/events"
)

func TestEventHubDeliversInOrderAndCloses(t *testing.T) {
	var h EventHub
	ctx, cancel := context.WithCancel(context.Background())
	a, b := h.Subscribe(ctx), h.Subscribe(ctx)
	for i := range 100 { // more than any channel buffer: Publish must not block
		h.Publish(RuntimeEvent{Task: events.TaskReport{TaskID: fmt.Sprint(i)}})
	}
	for _, ch := range []<-chan RuntimeEvent{a, b} {
		for i := range 100 {
			select {
			case ev := <-ch:
				if ev.Task.TaskID != fmt.Sprint(i) {
					t.Fatalf("event %d is %q", i, ev.Task.TaskID)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("event %d not delivered", i)
			}
		}
	}
	cancel()
	for _, ch := range []<-chan RuntimeEvent{a, b} {
		select {
		case _, ok := <-ch:
			if ok {
				t.Fatal("event after cancel")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("channel not closed after cancel")
		}
	}
}

func TestEventHubLateSubscriberSeesOnlyNewEvents(t *testing.T) {
	var h EventHub
	h.Publish(RuntimeEvent{Task: events.TaskReport{TaskID: "old"}})
	ch := h.Subscribe(t.Context())
	h.Publish(RuntimeEvent{Task: events.TaskReport{TaskID: "new"}})
	select {
	case ev := <-ch:
		if ev.Task.TaskID != "new" {
			t.Fatalf("got %q, want new", ev.Task.TaskID)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
}
