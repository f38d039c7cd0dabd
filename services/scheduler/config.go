package scheduler

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/drover/drover/services/scheduler/decide"
)

// Config configures a scheduler.
type Config struct {
	// ID names this scheduler in the leader lock; unique per process.
	ID string
	// Hostname is what /v2/leader reports while this scheduler leads.
	Hostname string
	// LeaderTTL must equal the leader bucket's TTL (events.Config.LeaderTTL).
	LeaderTTL time.Duration
	// ReconcileInterval is how often the leader reconciles without a trigger.
	ReconcileInterval time.Duration
	// UnreachableAfter is how long without a heartbeat makes an agent
	// unreachable and its tasks lost (3 missed heartbeats at 1 s).
	UnreachableAfter time.Duration
	// DockerDownAfter is how long an agent's heartbeats must report its
	// Docker daemon down before its tasks are lost and replaced elsewhere.
	DockerDownAfter time.Duration
	// SilentShare: when more than this share of the agents (and two at
	// least) are unreachable together, the scheduler suspects itself or
	// the network and replaces none of their tasks for up to SilentHold.
	SilentShare float64
	SilentHold  time.Duration
	// StagingTimeout is how long a launched task may stay unseen by its agent.
	StagingTimeout time.Duration
	// BackoffResetAfter: a task that ran at least this long before it died is
	// replaced at once, and its app's launch delay starts again from zero.
	BackoffResetAfter time.Duration
	// KillRetry is how long before a kill command for the same task is resent.
	KillRetry time.Duration
	// DeploymentTimeout is how long a deployment may take before it fails
	// with a reason (deployment_failed) instead of hanging.
	DeploymentTimeout time.Duration
}

// DefaultConfig is the configuration of a scheduler on this host.
func DefaultConfig() Config {
	host, _ := os.Hostname()
	return Config{
		ID:                fmt.Sprintf("%s-%d", host, os.Getpid()),
		Hostname:          host,
		LeaderTTL:         2 * time.Second,
		ReconcileInterval: 500 * time.Millisecond,
		UnreachableAfter:  3 * time.Second,
		DockerDownAfter:   time.Second,
		SilentShare:       0.5,
		SilentHold:        2 * time.Minute,
		StagingTimeout:    2 * time.Minute,
		BackoffResetAfter: 5 * time.Second,
		KillRetry:         5 * time.Second,
		DeploymentTimeout: 15 * time.Minute,
	}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.ID == "" {
		errs = append(errs, errors.New("scheduler id is required"))
	}
	if c.LeaderTTL < 500*time.Millisecond {
		errs = append(errs, fmt.Errorf("leader TTL must be at least 500ms, got %s", c.LeaderTTL))
	}
	for name, d := range map[string]time.Duration{
		"reconcile interval": c.ReconcileInterval, "unreachable after": c.UnreachableAfter,
		"staging timeout": c.StagingTimeout, "kill retry": c.KillRetry,
		"deployment timeout": c.DeploymentTimeout,
	} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, got %s", name, d))
		}
	}
	if c.SilentShare <= 0 || c.SilentShare > 1 {
		errs = append(errs, fmt.Errorf("silent share must be in (0, 1], got %g", c.SilentShare))
	}
	if c.SilentHold < 0 {
		errs = append(errs, errors.New("silent hold must not be negative"))
	}
	if c.DockerDownAfter < 0 {
		errs = append(errs, errors.New("docker down after must not be negative"))
	}
	if c.BackoffResetAfter < 0 {
		errs = append(errs, errors.New("backoff reset must not be negative"))
	}
	return errors.Join(errs...)
}

// decide is the part of the configuration the decisions read.
func (c Config) decide() decide.Config {
	return decide.Config{
		ReconcileInterval: c.ReconcileInterval, UnreachableAfter: c.UnreachableAfter,
		DockerDownAfter: c.DockerDownAfter, SilentShare: c.SilentShare, SilentHold: c.SilentHold,
		StagingTimeout: c.StagingTimeout, BackoffResetAfter: c.BackoffResetAfter, KillRetry: c.KillRetry,
		DeploymentTimeout: c.DeploymentTimeout,
	}
}
