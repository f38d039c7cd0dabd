package scheduler

import (
	"fmt"
	"testing"
	"time"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/services/agent/memruntime"
)

// Garbage on every subject the scheduler reads is counted and dropped, and
// the scheduler keeps scheduling.
func TestMalformedMessagesAreCountedAndDropped(t *testing.T) {
	js := testutil.RunJetStream(t)
	s := startScheduler(t, js, "s")
	host := startHost(t, js, "h1", memruntime.New())
	bus := js.Bus(t)
	nc := js.Connect(t)
	testutil.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
		if s.Epoch() == 0 {
			return fmt.Errorf("not leading")
		}
		return nil
	})
	for _, subject := range []string{events.AgentStatus("h1"), events.AgentHeartbeat("h1"), events.SchedulerRequests} {
		for _, payload := range []string{"not json", `{"v":99}`, `{"v":1,"agentId":"someone-else"}`} {
			if _, err := bus.JS.Publish(t.Context(), subject, []byte(payload)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Plan demand notices come by plain subscription.
	for _, payload := range []string{"not json", `{"v":99}`, `{"v":1,"streams":1}`} {
		if err := nc.Publish(events.PlanDemand, []byte(payload)); err != nil {
			t.Fatal(err)
		}
	}
	_ = nc.Flush()
	testutil.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
		if n := s.Malformed(); n < 12 {
			return fmt.Errorf("%d malformed messages counted, want 12", n)
		}
		return nil
	})
	putApp(t, bus, uniqueApp("/web", 1))
	runningOn(t, []*fakeHost{host}, 1)
}
