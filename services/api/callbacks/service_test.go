package callbacks

import (
	"testing"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
)

// TestConsumerExistsOnceNewReturns: the shared consumer delivers only what
// is published after it exists, so it is set up before New returns (before
// the api serves): a subscription's subscribe_event and the writes right
// after it were missed when it came up later, under load
// (TestCallbacksWorkUnderTheAPIPermissions failed once in CI so).
func TestConsumerExistsOnceNewReturns(t *testing.T) {
	bus := testutil.RunJetStream(t).Bus(t)
	s, err := New(DefaultConfig(), bus.JS, bus.Subscribers, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := bus.JS.Consumer(t.Context(), events.StreamEvents, events.CallbackConsumer); err != nil {
		t.Fatalf("the callback consumer after New: %v", err)
	}
}
