package agent

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/drover/drover/pkg/events"
)

// Config configures an agent.
type Config struct {
	// AgentID names the agent in subjects and container names; "" derives
	// it from Hostname (events.AgentIDFromHostname).
	AgentID string
	// Hostname is what constraints on "hostname" match.
	Hostname string
	// Address is where the agent's published ports are reached; "" is Hostname.
	// Wire it as the Docker runtime's PublishIP when it is an IP address.
	Address string
	// Attributes are matched by constraints (rack=r1, zone=a, ...).
	Attributes map[string]string
	// Resources is what the agent offers in total.
	Resources events.Resources
	// Policy is what the agent allows its containers.
	Policy events.AgentPolicy
	// HeartbeatInterval is how often the agent publishes a heartbeat.
	HeartbeatInterval time.Duration
	// RuntimeDownAfter is how long a runtime call may wait with no answer
	// at all before the daemon counts as down and its tasks as lost. A
	// daemon that refuses connections is down at once; one that answers
	// slowly is only degraded.
	RuntimeDownAfter time.Duration
	// RuntimeSlowAfter: a runtime call slower than this makes the daemon
	// degraded (no task is lost; new tasks go elsewhere first).
	RuntimeSlowAfter time.Duration
	// KillGrace is how long a task has to stop between SIGTERM and SIGKILL,
	// unless its app sets taskKillGracePeriodSeconds.
	KillGrace time.Duration
	// MaxConcurrentCommands bounds the commands (of different tasks) run at once.
	MaxConcurrentCommands int
	// CommandAckWait is the command consumer's AckWait; a command still
	// running tells the server so every third of it.
	CommandAckWait time.Duration
	// CommandMaxDeliver is how many times a command is delivered at most.
	CommandMaxDeliver int
	// MaxConcurrentChecks bounds the health and readiness probes run at once.
	MaxConcurrentChecks int
	// MinCheckInterval is the shortest time between two runs of one check:
	// an app's intervalSeconds below it (0) runs at it.
	MinCheckInterval time.Duration
}

// DefaultConfig is an agent named after this host, offering what it is told.
func DefaultConfig() Config {
	host, _ := os.Hostname()
	return Config{
		Hostname: host,
		// Host commands are allowed here, for tests and the simulator
		// (memruntime runs nothing); the drover command allows them only
		// with --allow-host-commands.
		Policy:                events.AgentPolicy{AllowPrivileged: true, AllowHostCommands: true},
		HeartbeatInterval:     time.Second,
		RuntimeDownAfter:      15 * time.Second,
		RuntimeSlowAfter:      2 * time.Second,
		KillGrace:             3 * time.Second,
		MaxConcurrentCommands: 8,
		CommandAckWait:        30 * time.Second,
		CommandMaxDeliver:     10,
		MaxConcurrentChecks:   32,
		MinCheckInterval:      time.Second,
	}
}

// withDefaults fills what is derived from other fields.
func (c Config) withDefaults() Config {
	if c.AgentID == "" {
		c.AgentID = events.AgentIDFromHostname(c.Hostname)
	}
	if c.Address == "" {
		c.Address = c.Hostname
	}
	if c.MaxConcurrentChecks == 0 {
		c.MaxConcurrentChecks = 32
	}
	if c.MinCheckInterval == 0 {
		c.MinCheckInterval = time.Second
	}
	if c.RuntimeDownAfter == 0 {
		c.RuntimeDownAfter = 15 * time.Second
	}
	if c.RuntimeSlowAfter == 0 {
		c.RuntimeSlowAfter = 2 * time.Second
	}
	return c
}

// Validate checks the configuration, with AgentID and Address derived as New derives them.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.Hostname == "" {
		errs = append(errs, errors.New("hostname is required"))
	}
	if !events.ValidAgentID(c.AgentID) {
		errs = append(errs, fmt.Errorf("agent id %q: want 1 to 64 letters, digits, '-' or '_'", c.AgentID))
	}
	for k := range c.Attributes {
		if k == "" || k == "hostname" {
			errs = append(errs, fmt.Errorf("attribute name %q is reserved or empty", k))
		}
	}
	if err := validateResources(c.Resources); err != nil {
		errs = append(errs, err)
	}
	for _, p := range c.Policy.HostPathPrefixes {
		if !strings.HasPrefix(p, "/") {
			errs = append(errs, fmt.Errorf("host path prefix %q is not absolute", p))
		}
	}
	for _, p := range c.Policy.ImagePatterns {
		if strings.TrimSpace(p) == "" || strings.ContainsAny(p, " \t\n") {
			errs = append(errs, fmt.Errorf("image pattern %q is empty or holds spaces", p))
		}
	}
	if c.HeartbeatInterval < 10*time.Millisecond {
		errs = append(errs, fmt.Errorf("heartbeat interval must be at least 10ms, got %s", c.HeartbeatInterval))
	}
	if c.RuntimeSlowAfter < 0 || c.RuntimeDownAfter <= c.RuntimeSlowAfter {
		errs = append(errs, fmt.Errorf("runtime down after (%s) must exceed runtime slow after (%s), and both be positive", c.RuntimeDownAfter, c.RuntimeSlowAfter))
	}
	if c.KillGrace < 0 {
		errs = append(errs, fmt.Errorf("kill grace must not be negative, got %s", c.KillGrace))
	}
	if c.MaxConcurrentCommands < 1 {
		errs = append(errs, fmt.Errorf("max concurrent commands must be at least 1, got %d", c.MaxConcurrentCommands))
	}
	if c.CommandAckWait < time.Second {
		errs = append(errs, fmt.Errorf("command ack wait must be at least 1s, got %s", c.CommandAckWait))
	}
	if c.MaxConcurrentChecks < 1 {
		errs = append(errs, fmt.Errorf("max concurrent checks must be at least 1, got %d", c.MaxConcurrentChecks))
	}
	if c.MinCheckInterval < 10*time.Millisecond {
		errs = append(errs, fmt.Errorf("min check interval must be at least 10ms, got %s", c.MinCheckInterval))
	}
	if c.CommandMaxDeliver < 1 {
		errs = append(errs, fmt.Errorf("command max deliver must be at least 1, got %d", c.CommandMaxDeliver))
	}
	return errors.Join(errs...)
}

func validateResources(r events.Resources) error {
	var errs []error
	if r.Cpus < 0 || r.Mem < 0 || r.Disk < 0 {
		errs = append(errs, errors.New("resources must not be negative"))
	}
	for _, pr := range r.Ports {
		if pr.Begin < 1 || pr.End > 65535 || pr.End < pr.Begin {
			errs = append(errs, fmt.Errorf("port range %d-%d is not within 1-65535", pr.Begin, pr.End))
		}
	}
	return errors.Join(errs...)
}
