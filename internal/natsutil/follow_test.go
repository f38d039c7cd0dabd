package natsutil_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drover/drover/internal/natsutil"
	"github.com/drover/drover/internal/testutil"
	"github.com/nats-io/nats.go/jetstream"
)

// recorder is what a follower applied.
type recorder struct {
	mu      sync.Mutex
	applied []string // "key=value@revision"
	loaded  []uint64
	resets  int
}

func (r *recorder) follow(kv jetstream.KeyValue, t *testing.T) natsutil.KVFollow {
	return natsutil.KVFollow{
		KV: kv, Logger: testutil.Logger(t),
		Apply: func(e jetstream.KeyValueEntry) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.applied = append(r.applied, fmt.Sprintf("%s=%s@%d", e.Key(), e.Value(), e.Revision()))
		},
		Loaded: func(rev uint64) { r.mu.Lock(); r.loaded = append(r.loaded, rev); r.mu.Unlock() },
		Reset:  func() { r.mu.Lock(); r.applied, r.resets = nil, r.resets+1; r.mu.Unlock() },
	}
}

func (r *recorder) snapshot() (applied []string, loaded []uint64, resets int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.applied), slices.Clone(r.loaded), r.resets
}

// waitApplied waits until the recorder's applied entries are want.
func (r *recorder) waitApplied(t *testing.T, total time.Duration, want []string) {
	t.Helper()
	testutil.Eventually(t, total, 20*time.Millisecond, func() error {
		if got, _, _ := r.snapshot(); !slices.Equal(got, want) {
			return fmt.Errorf("applied %v, want %v", got, want)
		}
		return nil
	})
}

// newJetStream runs a JetStream node for the test and connects to it.
func newJetStream(t *testing.T) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(testutil.RunJetStream(t).Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func kvBucket(t *testing.T, js jetstream.JetStream, name string) jetstream.KeyValue {
	t.Helper()
	kv, err := js.CreateKeyValue(t.Context(), jetstream.KeyValueConfig{Bucket: name, History: 5})
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

func put(t *testing.T, kv jetstream.KeyValue, key, value string) string {
	t.Helper()
	rev, err := kv.PutString(t.Context(), key, value)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s=%s@%d", key, value, rev)
}

func TestFollowKVLoadsThenFollows(t *testing.T) {
	js := newJetStream(t)
	kv := kvBucket(t, js, "follow")
	put(t, kv, "a", "1") // superseded before the watch: a full load gives the latest only
	b1 := put(t, kv, "b", "1")
	put(t, kv, "a", "2")
	a3 := put(t, kv, "a", "3")

	var r recorder
	done, err := natsutil.FollowKV(t.Context(), r.follow(kv, t))
	if err != nil {
		t.Fatal(err)
	}
	r.waitApplied(t, 5*time.Second, []string{b1, a3})
	if _, loaded, _ := r.snapshot(); !slices.Equal(loaded, []uint64{4}) {
		t.Errorf("loaded at %v, want once at revision 4", loaded)
	}
	b2 := put(t, kv, "b", "2")
	if err := kv.Delete(t.Context(), "a"); err != nil {
		t.Fatal(err)
	}
	r.waitApplied(t, 5*time.Second, []string{b1, a3, b2, "a=@6"})
	select {
	case <-done:
		t.Fatal("following stopped while its context lives")
	default:
	}
}

// TestFollowKVResumesAStalledWatch deletes the watch's consumer on the
// server, as a dead server takes the consumers it held: the follower must
// notice that the bucket moves on without it and watch again from where it
// stopped, each change applied once and in order, long before the client
// library's own recovery from missed heartbeats (about 10 s).
func TestFollowKVResumesAStalledWatch(t *testing.T) {
	js := newJetStream(t)
	kv := kvBucket(t, js, "stall")
	x1 := put(t, kv, "x", "1")
	var r recorder
	if _, err := natsutil.FollowKV(t.Context(), r.follow(kv, t)); err != nil {
		t.Fatal(err)
	}
	r.waitApplied(t, 5*time.Second, []string{x1})

	deleteConsumers(t, js, "KV_stall")
	var want []string
	want = append(want, x1)
	for i := 2; i <= 4; i++ {
		want = append(want, put(t, kv, "x", fmt.Sprint(i)))
	}
	want = append(want, put(t, kv, "y", "1"))
	r.waitApplied(t, 5*time.Second, want)
	if _, _, resets := r.snapshot(); resets != 0 {
		t.Errorf("%d full reloads, want a resumed watch", resets)
	}
}

// TestFollowKVResumesAStalledWatchOfABusyBucket is the same on a bucket
// that never stops taking writes, so the follower is always a little behind:
// the stall must still be noticed once nothing is delivered.
func TestFollowKVResumesAStalledWatchOfABusyBucket(t *testing.T) {
	js := newJetStream(t)
	kv := kvBucket(t, js, "busy")
	var r recorder
	if _, err := natsutil.FollowKV(t.Context(), r.follow(kv, t)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var written sync.WaitGroup
	for w := range 5 { // writing without pause: the follower is never caught up at a check
		written.Add(1)
		go func() {
			defer written.Done()
			for i := 0; ctx.Err() == nil; i++ {
				_, _ = kv.PutString(ctx, fmt.Sprintf("w%d-k%d", w, i%10), fmt.Sprint(i))
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond) // busy, and followed, for a few checks
	deleteConsumers(t, js, "KV_busy")
	time.Sleep(200 * time.Millisecond)
	target, err := natsutil.LastRevision(t.Context(), kv)
	if err != nil {
		t.Fatal(err)
	}
	// nats.go's own recovery, from missed idle heartbeats, takes 10 s or more.
	testutil.Eventually(t, 6*time.Second, 20*time.Millisecond, func() error {
		got, _, _ := r.snapshot()
		if len(got) == 0 {
			return errors.New("nothing applied")
		}
		var rev uint64
		_, _ = fmt.Sscanf(got[len(got)-1][strings.LastIndex(got[len(got)-1], "@")+1:], "%d", &rev)
		if rev < target {
			return fmt.Errorf("applied up to revision %d, the bucket was at %d after the stall began", rev, target)
		}
		return nil
	})
	cancel()
	written.Wait()
}

// TestFollowKVReloadsARecreatedBucket deletes and recreates the bucket: its
// revisions start over, so the follower resets and loads it again; the new
// bucket soon holds more revisions than were applied from the old one, so
// only its creation time tells them apart.
func TestFollowKVReloadsARecreatedBucket(t *testing.T) {
	js := newJetStream(t)
	kv := kvBucket(t, js, "again")
	for i := range 5 {
		put(t, kv, fmt.Sprintf("k%d", i), "old")
	}
	var r recorder
	if _, err := natsutil.FollowKV(t.Context(), r.follow(kv, t)); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
		if got, _, _ := r.snapshot(); len(got) != 5 {
			return fmt.Errorf("applied %v, want 5 entries", got)
		}
		return nil
	})
	if err := js.DeleteKeyValue(t.Context(), "again"); err != nil {
		t.Fatal(err)
	}
	kv = kvBucket(t, js, "again")
	var want []string
	for i := range 8 {
		want = append(want, put(t, kv, fmt.Sprintf("new%d", i), "1"))
	}
	r.waitApplied(t, 10*time.Second, want)
	if _, _, resets := r.snapshot(); resets != 1 {
		t.Errorf("%d resets, want 1", resets)
	}
}

func TestFollowKVStopsWithItsContext(t *testing.T) {
	js := newJetStream(t)
	ctx, cancel := context.WithCancel(t.Context())
	var r recorder
	done, err := natsutil.FollowKV(ctx, r.follow(kvBucket(t, js, "stop"), t))
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("following did not stop with its context")
	}
}

func deleteConsumers(t *testing.T, js jetstream.JetStream, stream string) {
	t.Helper()
	st, err := js.Stream(t.Context(), stream)
	if err != nil {
		t.Fatal(err)
	}
	names := st.ConsumerNames(t.Context())
	n := 0
	for name := range names.Name() {
		if err := st.DeleteConsumer(t.Context(), name); err != nil && !strings.Contains(err.Error(), "not found") {
			t.Fatal(err)
		}
		n++
	}
	if n == 0 {
		t.Fatalf("stream %s has no consumer to delete", stream)
	}
}

// TestFollowKVFirstWatchWaitsForJetStream: a first watch refused at once
// (here: the bucket's stream is gone until it is created again, as watches
// are refused while JetStream elects its meta leader) is tried again, paced,
// for FirstWithin; without FirstWithin, FollowKV gives up after one round.
func TestFollowKVFirstWatchWaitsForJetStream(t *testing.T) {
	js := newJetStream(t)
	kv := kvBucket(t, js, "late")
	if err := js.DeleteKeyValue(t.Context(), "late"); err != nil {
		t.Fatal(err)
	}
	var r recorder
	f := r.follow(kv, t)
	f.SetupTimeout = 200 * time.Millisecond
	if _, err := natsutil.FollowKV(t.Context(), f); err == nil {
		t.Fatal("a watch of a missing bucket was set up without FirstWithin")
	}

	go func() {
		time.Sleep(500 * time.Millisecond)
		// Not kvBucket: t.Fatal belongs to the test's goroutine.
		if kv, err := js.CreateKeyValue(context.Background(), jetstream.KeyValueConfig{Bucket: "late"}); err == nil {
			_, _ = kv.PutString(context.Background(), "a", "1")
		}
	}()
	f.FirstWithin = 20 * time.Second
	if _, err := natsutil.FollowKV(t.Context(), f); err != nil {
		t.Fatalf("the first watch gave up within FirstWithin: %v", err)
	}
	testutil.Eventually(t, 10*time.Second, 20*time.Millisecond, func() error {
		if _, loaded, _ := r.snapshot(); len(loaded) == 0 {
			return errors.New("not loaded")
		}
		return nil
	})
}
