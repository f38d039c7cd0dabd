package natsbus

import (
	"context"
	"fmt"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/nats-io/nats.go/jetstream"
)

// Bus is a connection's handles on every bucket, with the JetStream context
// for the streams.
type Bus struct {
	JS          jetstream.JetStream
	Apps        jetstream.KeyValue
	Deployments jetstream.KeyValue
	Instances   jetstream.KeyValue
	Agents      jetstream.KeyValue
	Leader      jetstream.KeyValue
	Queue       jetstream.KeyValue
	Subscribers jetstream.KeyValue
	PortClaims  jetstream.KeyValue
}

// Setup creates or updates every stream and bucket. It is idempotent: every
// service calls it at start, in any order, any number of times.
func Setup(ctx context.Context, js jetstream.JetStream, cfg events.Config) (*Bus, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	r := cfg.Replicas
	streams := []jetstream.StreamConfig{{
		Name:              events.StreamHeartbeats,
		Subjects:          []string{events.AgentHeartbeatAll},
		MaxMsgsPerSubject: 1,
		MaxAge:            time.Minute,
		// File, not memory: a memory stream would vanish with a NATS
		// restart, and the services would publish into nothing.
		Storage:  jetstream.FileStorage,
		Replicas: r,
		Discard:  jetstream.DiscardOld,
	}, {
		Name:       events.StreamCommands,
		Subjects:   []string{events.AgentCommandAll},
		Retention:  jetstream.WorkQueuePolicy,
		MaxAge:     time.Hour,
		Duplicates: 2 * time.Minute,
		Storage:    jetstream.FileStorage,
		Replicas:   r,
		// One durable consumer per agent; NATS allows 1,000 per stream
		// unless the stream says otherwise.
		MaxConsumers: events.MaxAgents,
	}, {
		Name:       events.StreamStatus,
		Subjects:   []string{events.AgentStatusAll},
		Retention:  jetstream.WorkQueuePolicy,
		MaxAge:     time.Hour,
		Duplicates: 2 * time.Minute,
		Storage:    jetstream.FileStorage,
		Replicas:   r,
	}, {
		Name:       events.StreamRequests,
		Subjects:   []string{events.SchedulerRequests},
		Retention:  jetstream.WorkQueuePolicy,
		MaxAge:     10 * time.Minute,
		Duplicates: 2 * time.Minute,
		Storage:    jetstream.FileStorage,
		Replicas:   r,
	}, {
		Name:     events.StreamEvents,
		Subjects: []string{events.EventAll},
		MaxAge:   cfg.EventsMaxAge,
		MaxMsgs:  cfg.EventsMaxMsgs,
		Storage:  jetstream.FileStorage,
		Replicas: r,
		Discard:  jetstream.DiscardOld,
	}}
	for _, sc := range streams {
		if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
			return nil, fmt.Errorf("events: stream %s: %w", sc.Name, err)
		}
	}
	buckets := []jetstream.KeyValueConfig{
		{Bucket: events.BucketApps, History: uint8(cfg.AppHistory), Replicas: r, Description: "app definitions (desired state)"},
		{Bucket: events.BucketDeployments, Replicas: r, Description: "running deployments"},
		{Bucket: events.BucketInstances, Replicas: r, Description: "tasks as the scheduler records them"},
		{Bucket: events.BucketAgents, Replicas: r, Description: "agents as the scheduler records them"},
		{Bucket: events.BucketLeader, Replicas: r, TTL: cfg.LeaderTTL, Description: "the scheduler leader lock"},
		{Bucket: events.BucketQueue, Replicas: r, Description: "apps waiting for placement"},
		{Bucket: events.BucketSubscribers, Replicas: r, Description: "HTTP callback subscriptions of /v2/eventSubscriptions"},
		{Bucket: events.BucketPortClaims, Replicas: r, Description: "dynamic service ports claimed by apps"},
	}
	kvs := make([]jetstream.KeyValue, len(buckets))
	for i, bc := range buckets {
		kv, err := js.CreateOrUpdateKeyValue(ctx, bc)
		if err != nil {
			return nil, fmt.Errorf("events: bucket %s: %w", bc.Bucket, err)
		}
		kvs[i] = kv
	}
	return &Bus{JS: js, Apps: kvs[0], Deployments: kvs[1], Instances: kvs[2], Agents: kvs[3], Leader: kvs[4], Queue: kvs[5], Subscribers: kvs[6],
		PortClaims: kvs[7]}, nil
}

// Open binds to the streams and buckets another process set up (Setup),
// creating and changing nothing: for a role whose NATS permissions do not
// allow it to (see docs/SECURITY.md). It binds the named buckets, or every
// bucket when none is named; the others stay nil. It fails while the
// buckets do not exist yet.
func Open(ctx context.Context, js jetstream.JetStream, buckets ...string) (*Bus, error) {
	if len(buckets) == 0 {
		buckets = []string{events.BucketApps, events.BucketDeployments, events.BucketInstances, events.BucketAgents, events.BucketLeader, events.BucketQueue, events.BucketSubscribers,
			events.BucketPortClaims}
	}
	bus := &Bus{JS: js}
	for _, name := range buckets {
		kv, err := js.KeyValue(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("events: bucket %s: %w", name, err)
		}
		switch name {
		case events.BucketApps:
			bus.Apps = kv
		case events.BucketDeployments:
			bus.Deployments = kv
		case events.BucketInstances:
			bus.Instances = kv
		case events.BucketAgents:
			bus.Agents = kv
		case events.BucketLeader:
			bus.Leader = kv
		case events.BucketQueue:
			bus.Queue = kv
		case events.BucketSubscribers:
			bus.Subscribers = kv
		case events.BucketPortClaims:
			bus.PortClaims = kv
		default:
			return nil, fmt.Errorf("events: no bucket %q", name)
		}
	}
	return bus, nil
}
