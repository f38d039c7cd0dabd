package docker

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/services/agent/sandbox"
)

// Config configures the Docker runtime of one agent.
type Config struct {
	// AgentID is the agent whose containers the runtime creates and sees.
	AgentID string
	// Hostname is the HOST the runtime's tasks get: the agent's hostname,
	// as the scheduler and /v2/tasks know the agent.
	Hostname string
	// Host is the daemon's address (unix:///var/run/docker.sock,
	// tcp://host:2375); "" takes DOCKER_HOST and the other DOCKER_* variables.
	Host string
	// PublishIP is the host address ports are published on when the task
	// names none, so agents sharing a daemon (127.0.0.11, .12, ...) can each
	// publish the same port; "" publishes on every address.
	PublishIP string
	// PullTimeout bounds an image pull.
	PullTimeout time.Duration
	// RemoveDelay is how long an ended container stays (listed, ended)
	// before the runtime removes it.
	RemoveDelay time.Duration
	// Privileged is how privileged tasks run: PrivilegedAuto (the default),
	// PrivilegedFull ("" too) or PrivilegedCaps.
	Privileged string
	// EventsBackoffMax bounds the wait between reconnections to the daemon's events.
	EventsBackoffMax time.Duration
	// MaxConcurrentCalls bounds the runtime's Docker calls in flight
	// (pings and the events stream aside).
	MaxConcurrentCalls int
	// SandboxRoot holds a directory per agent, and in it each task's
	// sandbox, <SandboxRoot>/<AgentID>/<taskId>: what the app's fetch (or
	// uris) downloaded, bind-mounted read-write at /mnt/mesos/sandbox
	// (MESOS_SANDBOX), as Mesos' Docker containerizer mounts its sandbox.
	// It must be an absolute path on this host that the daemon sees at the
	// same path (DefaultSandboxRoot is the agent's). "" mounts no sandbox,
	// and a launch with URIs to fetch fails.
	SandboxRoot string
	// SandboxRootOptional: SandboxRoot is the agent's default, not one its
	// operator named. One that cannot be made or used (an agent that is
	// not root, in the docker group, cannot make DefaultSandboxRoot) then
	// leaves the runtime without sandboxes, saying so at Warn, rather than
	// failing New; a root the operator named that cannot be used fails it.
	SandboxRootOptional bool
	// Fetch bounds each task's fetch.
	Fetch sandbox.FetchLimits
	// FetchAllowLocal lets a task's fetch reach the host's loopback and
	// link-local addresses. The fetch runs in the agent, as its user (root),
	// in the host's network namespace, and the app reads what it fetched:
	// without it such URIs, and redirects to them, fail the launch
	// (sandbox.RefuseLocalClient), so that an app cannot read the host's
	// own services (the Docker API on a TCP port, NATS monitoring, a cloud
	// metadata service) through its sandbox.
	FetchAllowLocal bool
}

// DefaultSandboxRoot is where an agent keeps its Docker tasks' sandboxes:
// beside the command runtime's (command.DefaultSandboxRoot), state that
// must outlive the agent's restarts as the containers do.
const DefaultSandboxRoot = "/var/lib/drover/docker-sandboxes"

// DefaultConfig is a runtime on the daemon DOCKER_HOST names (or the
// local one), without sandboxes: the agent's command line gives it
// DefaultSandboxRoot, tests a directory of their own.
func DefaultConfig() Config {
	host, _ := os.Hostname()
	return Config{
		Hostname:           host,
		Privileged:         PrivilegedAuto,
		PullTimeout:        5 * time.Minute,
		RemoveDelay:        15 * time.Minute,
		EventsBackoffMax:   5 * time.Second,
		MaxConcurrentCalls: 8,
		Fetch:              sandbox.DefaultFetchLimits(),
	}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	var errs []error
	if !events.ValidAgentID(c.AgentID) {
		errs = append(errs, fmt.Errorf("agent id %q is not valid", c.AgentID))
	}
	if c.Hostname == "" {
		errs = append(errs, errors.New("hostname is required"))
	}
	if c.PublishIP != "" && net.ParseIP(c.PublishIP) == nil {
		errs = append(errs, fmt.Errorf("publish IP %q is not an IP address", c.PublishIP))
	}
	switch c.Privileged {
	case "", PrivilegedFull, PrivilegedCaps, PrivilegedAuto:
	default:
		errs = append(errs, fmt.Errorf("privileged mode %q: want full, caps or auto", c.Privileged))
	}
	if c.PullTimeout <= 0 {
		errs = append(errs, errors.New("pull timeout must be positive"))
	}
	if c.RemoveDelay <= 0 {
		errs = append(errs, errors.New("remove delay must be positive"))
	}
	if c.MaxConcurrentCalls < 1 {
		errs = append(errs, errors.New("max concurrent calls must be at least 1"))
	}
	if c.EventsBackoffMax <= 0 {
		errs = append(errs, errors.New("events backoff must be positive"))
	}
	if c.SandboxRoot != "" && !filepath.IsAbs(c.SandboxRoot) {
		errs = append(errs, fmt.Errorf("sandbox root %q is not an absolute path", c.SandboxRoot))
	}
	if c.Fetch.Timeout <= 0 || c.Fetch.MaxBytes <= 0 || c.Fetch.MaxExtractedBytes <= 0 || c.Fetch.MaxEntries <= 0 {
		errs = append(errs, errors.New("fetch limits must be positive"))
	}
	return errors.Join(errs...)
}
