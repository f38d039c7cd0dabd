package scheduler

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/services/agent/memruntime"
	"github.com/nats-io/nats.go"
)

// Deployment events are light while nobody receives full plans; a standby
// follows the api replicas' notices from its start, so after a failover
// the new leader's events are full on a single notice it heard as a
// standby.
func TestStandbyKnowsThePlanDemand(t *testing.T) {
	js := testutil.RunJetStream(t)
	a := startScheduler(t, js, "a")
	b := startScheduler(t, js, "b")
	startHost(t, js, "h1", memruntime.New())
	bus := js.Bus(t)
	nc := js.Connect(t)
	var (
		mu   sync.Mutex
		done = map[string]events.DeploymentPlan{} // deployment_success's plan, by deployment id
	)
	sub, err := nc.Subscribe(events.Event(events.EventDeploymentSuccess), func(m *nats.Msg) {
		var ev events.DeploymentEvent
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			t.Errorf("deployment_success %s: %v", m.Data, err)
			return
		}
		mu.Lock()
		done[ev.ID] = ev.Plan
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	succeeded := func(id string) events.DeploymentPlan {
		t.Helper()
		var plan events.DeploymentPlan
		testutil.Eventually(t, 15*time.Second, 20*time.Millisecond, func() error {
			mu.Lock()
			defer mu.Unlock()
			p, ok := done[id]
			if !ok {
				return fmt.Errorf("no deployment_success for %s", id)
			}
			plan = p
			return nil
		})
		return plan
	}
	var leader *runningScheduler
	testutil.Eventually(t, 5*time.Second, 20*time.Millisecond, func() (err error) {
		leader, err = leaderOf(a, b)
		return err
	})
	standby := a
	if leader == a {
		standby = b
	}

	if p := succeeded(putApp(t, bus, uniqueApp("/light", 1)).ID); p.Original != nil || p.Target != nil {
		t.Errorf("without demand: plan with original %v, target %v; want light", p.Original != nil, p.Target != nil)
	}

	// One notice, never renewed: the standby must have heard it itself.
	data, err := events.Encode(events.PlanDemandNotice{V: events.Version, API: "api1", Instance: "p1", Streams: 1, At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish(events.PlanDemand, data); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	leader.cancel() // a clean stop: the standby takes over at once
	<-leader.done
	testutil.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
		if standby.Epoch() == 0 {
			return errors.New("the standby does not lead yet")
		}
		return nil
	})
	p := succeeded(putApp(t, bus, uniqueApp("/full", 1)).ID)
	if p.Original == nil || p.Target == nil {
		t.Fatalf("with demand, after the failover: plan with original %v, target %v; want full", p.Original != nil, p.Target != nil)
	}
	if len(p.Target.Apps) != 2 {
		t.Errorf("target has %d apps, want /light and /full", len(p.Target.Apps))
	}
}
