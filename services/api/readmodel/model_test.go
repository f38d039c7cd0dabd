package readmodel

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/events/natsbus"
	"github.com/nats-io/nats.go/jetstream"
)

func TestFailedStates(t *testing.T) {
	for state, want := range map[events.TaskState]bool{
		events.TaskFailed: true, events.TaskError: true, events.TaskLost: true, events.TaskGone: true,
		events.TaskKilled: false, events.TaskFinished: false, events.TaskRunning: false,
	} {
		if failed(state) != want {
			t.Errorf("failed(%s) = %v", state, !want)
		}
	}
}

func TestReadModelStopsWhileRewatching(t *testing.T) {
	js := testutil.RunJetStream(t)
	nc := js.Connect(t)
	jsc, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	bus, err := natsbus.Setup(t.Context(), jsc, events.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	rm, err := New(t.Context(), bus, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	nc.Close() // the watchers stop; the read model keeps trying to watch again
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	err = rm.waitFor(ctx, func() bool { return !rm.loaded[events.BucketApps] })
	if err != nil {
		t.Fatalf("the read model still claims to be loaded: %v", err)
	}
	short, cancel2 := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel2()
	if err := rm.Ready(short); !errors.Is(err, ErrNotReady) {
		t.Errorf("ready = %v, want ErrNotReady", err)
	}
	done := make(chan struct{})
	go func() { rm.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("close hung")
	}
}
