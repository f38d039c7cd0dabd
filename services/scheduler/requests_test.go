package scheduler

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/events/natsbus"
	"github.com/drover/drover/services/agent/memruntime"
	"github.com/nats-io/nats.go/jetstream"
)

func request(t *testing.T, bus *natsbus.Bus, req events.SchedulerRequest) {
	t.Helper()
	req.V, req.ID, req.At = events.Version, fmt.Sprintf("r-%d", time.Now().UnixNano()), time.Now()
	data, _ := events.Encode(req)
	if _, err := bus.JS.Publish(t.Context(), events.SchedulerRequests, data, jetstream.WithMsgID(req.ID)); err != nil {
		t.Fatal(err)
	}
}

func TestQueueSaysWhyAnAppWaits(t *testing.T) {
	js := testutil.RunJetStream(t)
	startScheduler(t, js, "s")
	hosts := []*fakeHost{startHost(t, js, "h1", memruntime.New()), startHost(t, js, "h2", memruntime.New())}
	bus := js.Bus(t)
	putApp(t, bus, uniqueApp("/web", 3))
	runningOn(t, hosts, 2)
	var q events.QueueEntry
	testutil.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
		e, err := bus.Queue.Get(t.Context(), events.AppKey("/web"))
		if err != nil {
			return err
		}
		q, err = events.Decode[events.QueueEntry](e.Value())
		return err
	})
	if q.Count != 1 || q.Agents != 2 || q.Rejected["UnfulfilledConstraint"] != 2 {
		t.Errorf("queue entry = %+v, want 1 waiting, 2 agents rejected by the constraint", q)
	}
	// A third host: placed, and the entry goes.
	hosts = append(hosts, startHost(t, js, "h3", memruntime.New()))
	runningOn(t, hosts, 3)
	testutil.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
		if _, err := bus.Queue.Get(t.Context(), events.AppKey("/web")); !errors.Is(err, jetstream.ErrKeyNotFound) {
			return fmt.Errorf("queue entry still there: %v", err)
		}
		return nil
	})
}

func TestKillRequestReplacesTheTask(t *testing.T) {
	js := testutil.RunJetStream(t)
	startScheduler(t, js, "s")
	hosts := []*fakeHost{startHost(t, js, "h1", memruntime.New()), startHost(t, js, "h2", memruntime.New())}
	bus := js.Bus(t)
	putApp(t, bus, uniqueApp("/web", 2))
	where := runningOn(t, hosts, 2)
	var victim string
	for id := range where {
		victim = id
		break
	}
	request(t, bus, events.SchedulerRequest{Kind: events.RequestKillTasks, TaskIDs: []string{victim, "no-such-task"}})
	testutil.Eventually(t, 10*time.Second, 20*time.Millisecond, func() error {
		now := runningOn(t, hosts, 2)
		if _, ok := now[victim]; ok {
			return errors.New("the task is still running")
		}
		return nil
	})
}

func TestResetDelayLaunchesAtOnce(t *testing.T) {
	js := testutil.RunJetStream(t)
	startScheduler(t, js, "s")
	host := startHost(t, js, "h1", memruntime.New())
	bus := js.Bus(t)
	app := uniqueApp("/web", 1)
	backoff, factor := 60.0, 1.0
	app.BackoffSeconds, app.BackoffFactor = &backoff, &factor
	putApp(t, bus, app)
	// Two quick deaths: the first is replaced at once, the second waits the
	// 60 s backoff...
	for range 2 {
		for id := range runningOn(t, []*fakeHost{host}, 1) {
			if err := host.rt.Exit(id, 1); err != nil {
				t.Fatal(err)
			}
		}
	}
	testutil.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
		e, err := bus.Queue.Get(t.Context(), events.AppKey("/web"))
		if err != nil {
			return err
		}
		q, err := events.Decode[events.QueueEntry](e.Value())
		if err != nil || q.DelayUntil.IsZero() {
			return fmt.Errorf("no backoff in the queue: %+v %v", q, err)
		}
		return nil
	})
	// ...until the api resets the delay.
	request(t, bus, events.SchedulerRequest{Kind: events.RequestResetDelay, AppID: "/web"})
	runningOn(t, []*fakeHost{host}, 1)
}

func TestAbdicateHandsLeadershipOver(t *testing.T) {
	js := testutil.RunJetStream(t)
	a := startScheduler(t, js, "a")
	b := startScheduler(t, js, "b")
	var first *runningScheduler
	testutil.Eventually(t, 5*time.Second, 20*time.Millisecond, func() (err error) {
		first, err = leaderOf(a, b)
		return err
	})
	request(t, js.Bus(t), events.SchedulerRequest{Kind: events.RequestAbdicate})
	testutil.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
		l, err := leaderOf(a, b)
		if err != nil {
			return err
		}
		if l == first {
			return errors.New("the same scheduler still leads")
		}
		return nil
	})
}
