package agent_test

import (
	"testing"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/nats-io/nats.go/jetstream"
)

// A JetStream push consumer can deliver any stream's messages to any
// subject, the leader key's included: a forged leader record delivered so
// does not raise the agent's fence (which would make it refuse every real
// command), while a real write of the key does.
func TestPushDeliveryDoesNotMoveTheFence(t *testing.T) {
	h := newHarness(t, func(h *harness) { setLeader(t, h.bus, 5) })
	h.waitHeartbeat("epoch 5", func(hb events.Heartbeat) bool { return hb.Epoch == 5 })

	forged, _ := events.Encode(events.LeaderRecord{V: events.Version, SchedulerID: "evil", Epoch: 1 << 60})
	if _, err := h.bus.JS.Publish(t.Context(), events.Event("forged"), forged); err != nil {
		t.Fatal(err)
	}
	if _, err := h.bus.JS.CreateOrUpdateConsumer(t.Context(), events.StreamEvents, jetstream.ConsumerConfig{
		Durable: "evil", DeliverSubject: events.LeaderKeySubject, AckPolicy: jetstream.AckNonePolicy,
	}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the delivery is immediate: the agent subscribes to that subject
	if e := h.agent.Epoch(); e != 5 {
		t.Fatalf("epoch %d after a forged delivery, want 5", e)
	}
	setLeader(t, h.bus, 7)
	h.waitHeartbeat("epoch 7", func(hb events.Heartbeat) bool { return hb.Epoch == 7 })
}
