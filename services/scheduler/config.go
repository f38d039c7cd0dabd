package scheduler

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/drover/drover/services/scheduler/decide"
)

// Config configures a scheduler.
type Config struct {
	// ID names this scheduler in the leader lock; unique per process.
	ID string
	// Hostname names this scheduler's host in the leader record (and the
	// UI's cluster view).
	Hostname string
	// APIAddress is host:port where clients reach the Marathon API beside
	// this scheduler: what /v2/leader reports while it leads (Marathon
	// reports its leader's HTTP host:port). Default: Hostname:8080, the
	// api replica on the same master on Marathon's port.
	APIAddress string
	// LeaderTTL must equal the leader bucket's TTL (events.Config.LeaderTTL).
	LeaderTTL time.Duration
	// ColocatedNATS names the NATS server on this scheduler's master (its
	// server_name). While leading, the scheduler keeps the leaders of the
	// streams and consumers it needs on the other servers (raftplace.go),
	// so this master's crash loses NATS only followers. Empty: no moves
	// (a single node, or NATS elsewhere).
	ColocatedNATS string
	// Config holds the settings of the leader's rules (reconcile
	// interval, unreachable, Docker down, silent majority, staging,
	// backoff, kill retry, deployment timeout): one list, read by decide.
	decide.Config
}

// DefaultConfig is the configuration of a scheduler on this host.
func DefaultConfig() Config {
	host, _ := os.Hostname()
	return Config{
		ID:        fmt.Sprintf("%s-%d", host, os.Getpid()),
		Hostname:  host,
		LeaderTTL: 2 * time.Second,
		Config: decide.Config{
			ReconcileInterval: 500 * time.Millisecond,
			UnreachableAfter:  3 * time.Second,
			DockerDownAfter:   500 * time.Millisecond,
			SilentShare:       0.5,
			SilentHold:        2 * time.Minute,
			StagingTimeout:    2 * time.Minute,
			BackoffResetAfter: 5 * time.Second,
			KillRetry:         5 * time.Second,
			DeploymentTimeout: 15 * time.Minute,
		},
	}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.ID == "" {
		errs = append(errs, errors.New("scheduler id is required"))
	}
	if c.APIAddress != "" {
		if err := checkHostPort(c.APIAddress); err != nil {
			errs = append(errs, fmt.Errorf("api address: %w", err))
		}
	}
	if c.LeaderTTL < 500*time.Millisecond {
		errs = append(errs, fmt.Errorf("leader TTL must be at least 500ms, got %s", c.LeaderTTL))
	}
	if strings.ContainsAny(c.ColocatedNATS, " \t\n\r") {
		errs = append(errs, fmt.Errorf("colocated NATS server name %q has white space; NATS server names have none", c.ColocatedNATS))
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
func (c Config) decide() decide.Config { return c.Config }

// apiAddress is APIAddress, or its default: Hostname:8080.
func (c Config) apiAddress() string {
	if c.APIAddress != "" {
		return c.APIAddress
	}
	return net.JoinHostPort(c.Hostname, "8080")
}

// checkHostPort checks an address clients are told to reach: host:port,
// both given, the port in 1..65535.
func checkHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %w", addr, err)
	}
	if host == "" {
		return fmt.Errorf("%q has no host", addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("%q: bad port", addr)
	}
	return nil
}
