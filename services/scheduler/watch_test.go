package scheduler

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drover/drover/internal/testutil"
	"github.com/nats-io/nats.go/jetstream"
)

// TestWatchBucketSaysWhenLoaded checks the promise Run relies on before it
// campaigns: the loaded channel closes only after every entry stored when
// the watch began has been applied, however slowly they are applied.
func TestWatchBucketSaysWhenLoaded(t *testing.T) {
	js := testutil.RunJetStream(t)
	bus := js.Bus(t)
	const stored = 50
	for i := range stored {
		if _, err := bus.Apps.Put(t.Context(), fmt.Sprintf("app-%02d", i), []byte("{}")); err != nil {
			t.Fatal(err)
		}
	}
	var applied atomic.Int64
	loaded, err := watchBucket(t.Context(), bus.Apps, testutil.Logger(t), func(jetstream.KeyValueEntry) {
		time.Sleep(2 * time.Millisecond) // a slow consumer: the marker must still come last
		applied.Add(1)
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-loaded:
	case <-time.After(10 * time.Second):
		t.Fatal("the watch never said it had loaded the bucket")
	}
	if n := applied.Load(); n != stored {
		t.Fatalf("loaded after %d entries were applied, want all %d", n, stored)
	}

	// Later changes still arrive, and loading is said only once.
	if _, err := bus.Apps.Put(t.Context(), "app-new", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, 10*time.Millisecond, func() error {
		if n := applied.Load(); n != stored+1 {
			return fmt.Errorf("%d entries applied, want %d", n, stored+1)
		}
		return nil
	})
}

// TestWatchBucketOfEmptyBucketIsLoaded checks that an empty bucket counts as
// loaded at once, so a fresh cluster's scheduler campaigns.
func TestWatchBucketOfEmptyBucketIsLoaded(t *testing.T) {
	js := testutil.RunJetStream(t)
	loaded, err := watchBucket(t.Context(), js.Bus(t).Deployments, testutil.Logger(t), func(jetstream.KeyValueEntry) {})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-loaded:
	case <-time.After(10 * time.Second):
		t.Fatal("an empty bucket's watch never said it had loaded")
	}
}
