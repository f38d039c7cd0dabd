package natsbus_test

import (
	"errors"
	"testing"
	"time"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/events/natsbus"
	"github.com/nats-io/nats.go/jetstream"
)

func TestSetupIsIdempotent(t *testing.T) {
	js := testutil.RunJetStream(t)
	jsc, err := jetstream.New(js.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg := events.DefaultConfig()
	for range 2 {
		if _, err := natsbus.Setup(t.Context(), jsc, cfg); err != nil {
			t.Fatal(err)
		}
	}
	// A changed setting is applied to the existing bucket.
	cfg.LeaderTTL = 5 * time.Second
	bus, err := natsbus.Setup(t.Context(), jsc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := bus.Leader.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.TTL() != 5*time.Second {
		t.Errorf("leader TTL = %s, want 5s", st.TTL())
	}
	for _, name := range []string{events.StreamHeartbeats, events.StreamCommands, events.StreamStatus, events.StreamEvents} {
		if _, err := jsc.Stream(t.Context(), name); err != nil {
			t.Errorf("stream %s: %v", name, err)
		}
	}
}

func TestSetupRefusesBadConfig(t *testing.T) {
	js := testutil.RunJetStream(t)
	jsc, err := jetstream.New(js.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg := events.DefaultConfig()
	cfg.Replicas = 0
	if _, err := natsbus.Setup(t.Context(), jsc, cfg); err == nil {
		t.Error("Setup accepted 0 replicas")
	}
}

func TestOpenBindsWhatSetupMade(t *testing.T) {
	js := testutil.RunJetStream(t)
	jsc, err := jetstream.New(js.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := natsbus.Open(t.Context(), jsc); err == nil {
		t.Fatal("Open succeeded before Setup")
	}
	if _, err := natsbus.Setup(t.Context(), jsc, events.DefaultConfig()); err != nil {
		t.Fatal(err)
	}
	bus, err := natsbus.Open(t.Context(), jsc)
	if err != nil {
		t.Fatal(err)
	}
	if bus.Apps == nil || bus.Deployments == nil || bus.Instances == nil || bus.Agents == nil || bus.Leader == nil || bus.Queue == nil ||
		bus.Subscribers == nil || bus.PortClaims == nil {
		t.Fatalf("Open left a bucket unbound: %+v", bus)
	}
	only, err := natsbus.Open(t.Context(), jsc, events.BucketLeader)
	if err != nil {
		t.Fatal(err)
	}
	if only.Leader == nil || only.Apps != nil {
		t.Fatalf("Open(leader) bound %+v", only)
	}
	if _, err := natsbus.Open(t.Context(), jsc, "nope"); err == nil {
		t.Error("Open of an unknown bucket succeeded")
	}
}

// The plan demand notices are core NATS only: no stream keeps them (they
// would pile up a message every 2 s per api replica, read by nobody).
func TestNoStreamKeepsPlanDemand(t *testing.T) {
	js := testutil.RunJetStream(t)
	bus := js.Bus(t)
	name, err := bus.JS.StreamNameBySubject(t.Context(), events.PlanDemand)
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("stream %q captures %s (err %v), want none", name, events.PlanDemand, err)
	}
	// The lookup does answer for a subject a stream keeps.
	if name, err := bus.JS.StreamNameBySubject(t.Context(), events.Event(events.EventDeploymentInfo)); err != nil || name != events.StreamEvents {
		t.Errorf("deployment_info is kept by %q (%v), want %s", name, err, events.StreamEvents)
	}
}
