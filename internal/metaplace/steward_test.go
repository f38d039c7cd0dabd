package metaplace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/drover/drover/internal/natsutil"
	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// node is one server of a test cluster and the users drover nats gives it.
type node struct {
	ns    *server.Server
	users *natsutil.InProcessUsers
}

// runCluster starts a 3-node JetStream cluster (n1, n2, n3) on loopback as
// drover nats runs its nodes (with in-process users), stopped at cleanup.
func runCluster(t *testing.T) []node {
	t.Helper()
	users := make([]*natsutil.InProcessUsers, 3)
	servers := testutil.RunNATSCluster(t, 3, func(i int, c *natsutil.ServerConfig) {
		u, err := natsutil.NewInProcessUsers(events.LeaderKeySubject)
		if err != nil {
			t.Fatal(err)
		}
		users[i], c.InProcess = u, u
	})
	nodes := make([]node, 0, len(servers))
	for i, ns := range servers {
		nodes = append(nodes, node{ns: ns, users: users[i]})
	}
	return nodes
}

// metaLeader names the node leading the meta group, once its followers are
// current (a leader with none fit to take over would rightly stay).
func metaLeader(nodes []node) (string, error) {
	for _, n := range nodes {
		if !n.ns.JetStreamIsLeader() {
			continue
		}
		jsz, err := n.ns.Jsz(nil)
		if err != nil || jsz.Meta == nil {
			return "", fmt.Errorf("meta group of %s: %v", n.ns.Name(), err)
		}
		for _, r := range jsz.Meta.Replicas {
			if !r.Current {
				return "", fmt.Errorf("%s is not current yet", r.Name)
			}
		}
		return n.ns.Name(), nil
	}
	return "", errors.New("no meta leader yet")
}

// On a real 3-node cluster, the steward of the node leading the meta group
// hands the leadership over once the leader record names that node; an
// unauthenticated client (the node had no users) still gets in, and the
// in-process users do not log in over TCP.
func TestStewardMovesTheMetaLeaderOffTheNamedNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node NATS cluster")
	}
	nodes := runCluster(t)
	nc, err := natsutil.Connect(natsutil.ClientConfig{URL: nodes[0].ns.ClientURL(), Name: t.Name()}, testutil.Logger(t))
	if err != nil {
		t.Fatalf("an unauthenticated client: %v", err)
	}
	t.Cleanup(nc.Close)
	if tcp, err := nats.Connect(nodes[0].ns.ClientURL(), nats.UserInfo(nodes[0].users.System.User, nodes[0].users.System.Password),
		nats.MaxReconnects(0)); err == nil {
		tcp.Close()
		t.Fatal("the in-process system user logged in over TCP")
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	var kv jetstream.KeyValue
	testutil.Eventually(t, 60*time.Second, 500*time.Millisecond, func() error {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: events.BucketLeader, Replicas: 3})
		return err
	})
	var avoid string
	testutil.Eventually(t, 30*time.Second, 200*time.Millisecond, func() error {
		avoid, err = metaLeader(nodes)
		return err
	})
	var stewards []*Steward
	for _, n := range nodes {
		w := NewSteward(n.ns, n.users, testutil.Logger(t))
		w.Every = 100 * time.Millisecond
		stewards = append(stewards, w)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- w.Run(ctx) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("steward of %s: %v", n.ns.Name(), err)
			}
		})
	}
	rec, err := json.Marshal(events.LeaderRecord{V: events.Version, SchedulerID: "s1", Hostname: "m1", NATSServer: avoid, Epoch: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Written again and again, as a leading scheduler renews it: a steward
	// starting after a write hears the next.
	testutil.Eventually(t, 60*time.Second, 200*time.Millisecond, func() error {
		if _, err := kv.Put(t.Context(), events.LeaderKey, rec); err != nil {
			return err
		}
		for _, n := range nodes {
			if n.ns.JetStreamIsLeader() {
				if n.ns.Name() == avoid {
					return fmt.Errorf("%s still leads the meta group", avoid)
				}
				return nil
			}
		}
		return errors.New("no meta leader")
	})
	moves := uint64(0)
	for i, w := range stewards {
		if nodes[i].ns.Name() != avoid && w.Moves() != 0 {
			t.Errorf("the steward of %s, not the named node, moved the meta leader", nodes[i].ns.Name())
		}
		moves += w.Moves()
	}
	if moves == 0 {
		t.Error("the meta leader moved, but no steward says it moved it")
	}
}
