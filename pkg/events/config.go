package events

import (
	"errors"
	"fmt"
	"time"
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
