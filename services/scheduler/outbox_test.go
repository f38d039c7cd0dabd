package scheduler

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/events/natsbus"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/scheduler/decide"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestOutboxFinishesADeploymentAtItsRevision: a deployment's delete goes
// through the outbox with the revision it was judged at; its event is
// published only once the delete landed; a delete whose revision no longer
// holds is refused, not retried, and takes its event with it.
func TestOutboxFinishesADeploymentAtItsRevision(t *testing.T) {
	s, bus, nc := newIdleScheduler(t)
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

// TestOutboxEncodesWhenItFlushes: launches of one app hold one copy of the
// app's JSON until they are flushed, and each agent gets the command
// decide made, its app whole; a write that cannot be encoded is dropped,
// not retried, and the writes after it still go out.
func TestOutboxEncodesWhenItFlushes(t *testing.T) {
	s, _, nc := newIdleScheduler(t)
	got := make(chan *nats.Msg, 8)
	sub, err := nc.ChanSubscribe(events.AgentCommand("a1"), got)
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil { // subscribed before the bus's connection publishes
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	web := marathon.App{ID: "/web", Cmd: new("httpd -f -p $PORT0"), Instances: new(3), Env: map[string]marathon.EnvValue{"A": {Value: "1"}},
		Labels: map[string]string{"HAPROXY_GROUP": "external"}, Version: "2026-12-03T10:00:00.000Z"}
	// launch is the i-th launch of web, on agent a1, as decide sends it.
	launch := func(i int) decide.Write {
		cmd := decide.LaunchCommand(3, web, &events.Instance{TaskID: fmt.Sprintf("web.%d", i), HostPorts: []int{31000 + i}})
		cmd.V, cmd.ID, cmd.IssuedAt = events.Version, fmt.Sprintf("c%d", i), time.Unix(int64(i), 0).UTC()
		return decide.Write{Command: &decide.Command{AgentID: "a1", Command: cmd}}
	}
	var sent []events.Command
	var writes []decide.Write
	for i := range 3 {
		w := launch(i)
		sent = append(sent, w.Command.Command)
		writes = append(writes, w)
		if i == 0 {
			writes = append(writes, decide.Write{Event: &decide.Event{Type: events.EventStatusUpdate, Payload: make(chan int)}})
		}
	}
	s.mu.Lock()
	s.epoch = 3
	s.apply(decide.Decisions{Writes: writes})
	if len(s.launchApps) != 1 {
		t.Errorf("%d copies of the app's JSON queued for 3 launches of it, want 1", len(s.launchApps))
	}
	s.mu.Unlock()
	s.flush(t.Context())

	for _, want := range sent {
		select {
		case m := <-got:
			cmd, err := events.Decode[events.Command](m.Data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cmd, want) {
				t.Errorf("agent got\n%+v\nwant\n%+v", cmd, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("command %s never sent", want.ID)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.outbox) != 0 || s.launchApps != nil {
		t.Errorf("after the flush: %d writes queued, %d apps held; want none", len(s.outbox), len(s.launchApps))
	}

	// 1,000 launches of an app of 10 kB wait in less than 3 MB, not 12.
	for i := range 200 {
		web.Labels[fmt.Sprintf("LABEL_%03d", i)] = strings.Repeat("x", 50)
	}
	writes = writes[:0]
	for i := range 1000 {
		writes = append(writes, launch(i))
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, w := range writes {
		s.enqueue(w)
	}
	writes = nil
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 3<<20 {
		t.Errorf("1,000 launches of a 10 kB app hold %d kB queued, want < 3 MB", grew>>10)
	}
	runtime.KeepAlive(s.outbox)
}

// TestOutboxKeepsEveryLaunchField: a queued launch keeps its spec's fields
// but the app (commandEncoder); a field added to events.LaunchSpec must be
// kept there too, or agents never see it.
func TestOutboxKeepsEveryLaunchField(t *testing.T) {
	var fields []string
	for f := range reflect.TypeFor[events.LaunchSpec]().Fields() {
		fields = append(fields, f.Name)
	}
	if want := []string{"App", "HostPorts", "Env"}; !slices.Equal(fields, want) {
		t.Errorf("events.LaunchSpec has fields %v; commandEncoder keeps %v: keep the new ones", fields, want)
	}
}

// newIdleScheduler is a scheduler on a JetStream of its own, not started:
// a test drives its outbox by hand.
func newIdleScheduler(t *testing.T) (*Scheduler, *natsbus.Bus, *nats.Conn) {
	js := testutil.RunJetStream(t)
	bus, nc := js.Bus(t), js.Connect(t)
	s, err := New(DefaultConfig(), bus, nc, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	return s, bus, nc
}
