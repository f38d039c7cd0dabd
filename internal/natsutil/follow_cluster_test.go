package natsutil_test

import (
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drover/drover/internal/natsutil"
	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestFollowSurvivesTheWatchServersDeath: a KV watch is an ordered consumer
// on one server. When that server dies while the bucket's stream leader
// lives on, FollowKV tells the stall from the bucket's last revision and
// watches again from the next one: every write after the death is applied,
// once and in order, without waiting for the client library's missed
// heartbeats. The time it took is logged. The server here shuts down
// cleanly (its peers hear of it); a SIGKILLed node, which they do not hear
// of, is test/cluster's master crash.
func TestFollowSurvivesTheWatchServersDeath(t *testing.T) {
	servers := testutil.RunNATSCluster(t, 3, nil)
	var urls []string
	for _, s := range servers {
		urls = append(urls, s.ClientURL())
	}
	ctx := t.Context()
	wjs := jetStreamTo(t, urls)
	var kv jetstream.KeyValue
	testutil.Eventually(t, 30*time.Second, 200*time.Millisecond, func() error {
		var err error
		kv, err = wjs.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "b", Replicas: 3})
		return err
	})
	rkv, err := jetStreamTo(t, urls).KeyValue(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var applied []string
	at := map[string]time.Time{}
	logs := &testutil.SyncBuffer{}
	_, err = natsutil.FollowKV(ctx, natsutil.KVFollow{KV: rkv, Logger: slog.New(slog.NewTextHandler(logs, nil)),
		Apply: func(e jetstream.KeyValueEntry) {
			mu.Lock()
			defer mu.Unlock()
			applied = append(applied, e.Key())
			at[e.Key()] = time.Now()
		}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "k0", []byte("x")); err != nil {
		t.Fatal(err)
	}
	waitApplied := func(key string) {
		testutil.Eventually(t, 30*time.Second, 20*time.Millisecond, func() error {
			mu.Lock()
			defer mu.Unlock()
			if _, ok := at[key]; !ok {
				return errors.New(key + " not applied")
			}
			return nil
		})
	}
	waitApplied("k0")

	// The watch's consumer lives on host; the stream's leader must not, so
	// that only the watch dies.
	var host, leader string
	testutil.Eventually(t, 10*time.Second, 100*time.Millisecond, func() error {
		if host, leader = watchAndLeader(t, wjs); host == "" || leader == "" {
			return errors.New("the watch's consumer or the stream's leader not placed yet")
		}
		return nil
	})
	if host == leader {
		for _, s := range servers {
			if s.Name() != host {
				if err := natsutil.Stepdown(ctx, wjs.Conn(), events.StreamLeaderStepdown("KV_b"), s.Name()); err != nil {
					t.Fatal(err)
				}
				break
			}
		}
		testutil.Eventually(t, 10*time.Second, 100*time.Millisecond, func() error {
			if _, l := watchAndLeader(t, wjs); l == host || l == "" {
				return errors.New("the stream's leader has not moved")
			}
			return nil
		})
	}
	victim := servers[slices.IndexFunc(servers, func(s *server.Server) bool { return s.Name() == host })]
	victim.Shutdown()
	var wrote time.Time
	testutil.Eventually(t, 30*time.Second, 50*time.Millisecond, func() error {
		_, err := kv.Put(ctx, "k1", []byte("x"))
		wrote = time.Now()
		return err
	})
	if _, err := kv.Put(ctx, "k2", []byte("x")); err != nil {
		t.Fatal(err)
	}
	waitApplied("k2")
	mu.Lock()
	defer mu.Unlock()
	t.Logf("the watch's server %s shut down; k1 applied %s after it was written", host, at["k1"].Sub(wrote))
	if want := []string{"k0", "k1", "k2"}; !slices.Equal(applied, want) {
		t.Errorf("applied %v, want %v (each once, in order)", applied, want)
	}
	if !strings.Contains(logs.String(), "watch stalled") {
		t.Errorf("the follower did not tell the stall; its log:\n%s", logs)
	}
}

// watchAndLeader names the server of the bucket's one consumer (the watch)
// and its stream's leader.
func watchAndLeader(t *testing.T, js jetstream.JetStream) (host, leader string) {
	t.Helper()
	st, err := js.Stream(t.Context(), "KV_b")
	if err != nil {
		t.Fatal(err)
	}
	for ci := range st.ListConsumers(t.Context()).Info() {
		if ci.Cluster != nil {
			host = ci.Cluster.Leader
		}
	}
	if info := st.CachedInfo(); info.Cluster != nil {
		leader = info.Cluster.Leader
	}
	return host, leader
}

// jetStreamTo connects to the cluster of urls, reconnecting at once when
// its server goes.
func jetStreamTo(t *testing.T, urls []string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(strings.Join(urls, ","), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}
