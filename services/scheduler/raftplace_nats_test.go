package scheduler

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/drover/drover/internal/natsutil"
	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/events/natsbus"
	"github.com/nats-io/nats.go/jetstream"
)

// runCluster starts a 3-node JetStream cluster (n1, n2, n3) on loopback,
// stopped at cleanup, and returns the client URL of each.
func runCluster(t *testing.T) []string {
	t.Helper()
	var urls []string
	for _, ns := range testutil.RunNATSCluster(t, 3, nil) {
		urls = append(urls, ns.ClientURL())
	}
	return urls
}

// On a real 3-node cluster, the placer takes every stream's and durable
// consumer's leadership off the server it is told to avoid.
func TestRaftPlacerMovesLeadersOffItsServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node NATS cluster")
	}
	urls := runCluster(t)
	nc, err := natsutil.Connect(natsutil.ClientConfig{URL: urls[0], Name: t.Name()}, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	cfg := events.DefaultConfig()
	cfg.Replicas = 3
	testutil.Eventually(t, 60*time.Second, 500*time.Millisecond, func() error {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		_, err := natsbus.Setup(ctx, js, cfg)
		return err
	})
	testutil.Eventually(t, 30*time.Second, 200*time.Millisecond, func() error {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		_, err := js.CreateOrUpdateConsumer(ctx, events.StreamCommands, jetstream.ConsumerConfig{
			Durable: events.AgentCommandConsumer("a1"), FilterSubject: events.AgentCommand("a1"), AckPolicy: jetstream.AckExplicitPolicy, Replicas: 3})
		return err
	})
	p := &raftPlacer{JS: js, NC: nc, Logger: testutil.Logger(t), Every: time.Hour, Settle: time.Second,
		Pace: 10 * time.Millisecond, MaxActive: 5 * time.Second}
	// Avoid the node leading the lock's stream once its followers are current.
	testutil.Eventually(t, 30*time.Second, 200*time.Millisecond, func() error {
		g, err := p.group(t.Context(), events.KVStream(events.BucketLeader), "")
		if err != nil {
			return err
		}
		if len(planRaftMoves([]raftGroup{g}, g.Leader, p.MaxActive)) == 0 {
			return fmt.Errorf("the lock's stream has no follower fit to lead yet: %+v", g)
		}
		p.Avoid = g.Leader
		return nil
	})
	testutil.Eventually(t, 60*time.Second, 200*time.Millisecond, func() error {
		p.round(t.Context())
		groups, err := p.survey(t.Context())
		if err != nil {
			return err
		}
		if len(groups) < len(raftStreams)+1 {
			return fmt.Errorf("surveyed %d groups, want every stream and the agent's consumer", len(groups))
		}
		for _, g := range groups {
			if g.Leader == "" || g.Leader == p.Avoid {
				return fmt.Errorf("%s is led by %q", g.name(), g.Leader)
			}
		}
		return nil
	})
}
