package events

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Config sets how the streams and buckets are created.
type Config struct {
	// Replicas of every stream and bucket: 1 for one node, 3 in a cluster.
	Replicas int
	// LeaderTTL is how long the scheduler lock lives without renewal.
	LeaderTTL time.Duration
	// AppHistory is how many versions of each app the apps bucket keeps.
	AppHistory int
	// EventsMaxAge and EventsMaxMsgs bound the events stream.
	EventsMaxAge  time.Duration
	EventsMaxMsgs int64
}

// DefaultConfig is a single node's configuration.
func DefaultConfig() Config {
	return Config{
		Replicas:      1,
		LeaderTTL:     2 * time.Second,
		AppHistory:    64,
		EventsMaxAge:  24 * time.Hour,
		EventsMaxMsgs: 100_000,
	}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.Replicas < 1 || c.Replicas > 5 {
		errs = append(errs, fmt.Errorf("replicas must be 1 to 5, got %d", c.Replicas))
	}
	if c.LeaderTTL < 500*time.Millisecond {
		errs = append(errs, fmt.Errorf("leader TTL must be at least 500ms, got %s", c.LeaderTTL))
	}
	if c.AppHistory < 1 || c.AppHistory > 64 {
		errs = append(errs, fmt.Errorf("app history must be 1 to 64, got %d", c.AppHistory))
	}
	if c.EventsMaxAge <= 0 || c.EventsMaxMsgs <= 0 {
		errs = append(errs, errors.New("events stream bounds must be positive"))
	}
	return errors.Join(errs...)
}

// MaxAgents is how many agents a cluster may have: each has a durable
// consumer of the commands stream.
const MaxAgents = 100_000

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
}

// Setup creates or updates every stream and bucket. It is idempotent: every
// service calls it at start, in any order, any number of times.
func Setup(ctx context.Context, js jetstream.JetStream, cfg Config) (*Bus, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	r := cfg.Replicas
	streams := []jetstream.StreamConfig{{
		Name:              StreamHeartbeats,
		Subjects:          []string{AgentHeartbeatAll},
		MaxMsgsPerSubject: 1,
		MaxAge:            time.Minute,
		// File, not memory: a memory stream would vanish with a NATS
		// restart, and the services would publish into nothing.
		Storage:  jetstream.FileStorage,
		Replicas: r,
		Discard:  jetstream.DiscardOld,
	}, {
		Name:       StreamCommands,
		Subjects:   []string{AgentCommandAll},
		Retention:  jetstream.WorkQueuePolicy,
		MaxAge:     time.Hour,
		Duplicates: 2 * time.Minute,
		Storage:    jetstream.FileStorage,
		Replicas:   r,
		// One durable consumer per agent; NATS allows 1,000 per stream
		// unless the stream says otherwise.
		MaxConsumers: MaxAgents,
	}, {
		Name:       StreamStatus,
		Subjects:   []string{AgentStatusAll},
		Retention:  jetstream.WorkQueuePolicy,
		MaxAge:     time.Hour,
		Duplicates: 2 * time.Minute,
		Storage:    jetstream.FileStorage,
		Replicas:   r,
	}, {
		Name:       StreamRequests,
		Subjects:   []string{SchedulerRequests},
		Retention:  jetstream.WorkQueuePolicy,
		MaxAge:     10 * time.Minute,
		Duplicates: 2 * time.Minute,
		Storage:    jetstream.FileStorage,
		Replicas:   r,
	}, {
		Name:     StreamEvents,
		Subjects: []string{EventAll},
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
		{Bucket: BucketApps, History: uint8(cfg.AppHistory), Replicas: r, Description: "app definitions (desired state)"},
		{Bucket: BucketDeployments, Replicas: r, Description: "running deployments"},
		{Bucket: BucketInstances, Replicas: r, Description: "tasks as the scheduler records them"},
		{Bucket: BucketAgents, Replicas: r, Description: "agents as the scheduler records them"},
		{Bucket: BucketLeader, Replicas: r, TTL: cfg.LeaderTTL, Description: "the scheduler leader lock"},
		{Bucket: BucketQueue, Replicas: r, Description: "apps waiting for placement"},
	}
	kvs := make([]jetstream.KeyValue, len(buckets))
	for i, bc := range buckets {
		kv, err := js.CreateOrUpdateKeyValue(ctx, bc)
		if err != nil {
			return nil, fmt.Errorf("events: bucket %s: %w", bc.Bucket, err)
		}
		kvs[i] = kv
	}
	return &Bus{JS: js, Apps: kvs[0], Deployments: kvs[1], Instances: kvs[2], Agents: kvs[3], Leader: kvs[4], Queue: kvs[5]}, nil
}

// Open binds to the streams and buckets another process set up (Setup),
// creating and changing nothing: for a role whose NATS permissions do not
// allow it to (see docs/SECURITY.md). It binds the named buckets, or every
// bucket when none is named; the others stay nil. It fails while the
// buckets do not exist yet.
func Open(ctx context.Context, js jetstream.JetStream, buckets ...string) (*Bus, error) {
	if len(buckets) == 0 {
		buckets = []string{BucketApps, BucketDeployments, BucketInstances, BucketAgents, BucketLeader, BucketQueue}
	}
	bus := &Bus{JS: js}
	for _, name := range buckets {
		kv, err := js.KeyValue(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("events: bucket %s: %w", name, err)
		}
		switch name {
		case BucketApps:
			bus.Apps = kv
		case BucketDeployments:
			bus.Deployments = kv
		case BucketInstances:
			bus.Instances = kv
		case BucketAgents:
			bus.Agents = kv
		case BucketLeader:
			bus.Leader = kv
		case BucketQueue:
			bus.Queue = kv
		default:
			return nil, fmt.Errorf("events: no bucket %q", name)
		}
	}
	return bus, nil
}
