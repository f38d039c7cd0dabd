package command

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/services/agent/sandbox"
)

// DefaultSandboxRoot is where an agent keeps its tasks' sandboxes: state
// that must outlive the agent's restarts (so not a tmpfs cleaned by a
// tmpfiles timer), in the FHS place for a daemon's state.
const DefaultSandboxRoot = "/var/lib/drover/sandboxes"

// Config configures the command runtime of one agent.
type Config struct {
	// AgentID is the agent whose tasks the runtime runs.
	AgentID string
	// Hostname is the HOST the runtime's tasks get: the agent's hostname,
	// as Marathon gives the offer's.
	Hostname string
	// SandboxRoot holds a directory per agent, and in it one per task.
	SandboxRoot string
	// DefaultUser runs the tasks whose app names no user. "" is the
	// agent's own user when it is not root, and is refused when it is:
	// a task as root is root on the host for whoever may post apps.
	DefaultUser string
	// AllowRoot lets tasks run as root (uid 0), named by their app or by DefaultUser.
	AllowRoot bool
	// Supervisor is the command that runs "agent-exec" (the drover binary
	// and the subcommand's name): the runtime runs "<Supervisor> supervise
	// <dir>" for each task.
	Supervisor []string
	// Fetch bounds each task's fetch.
	Fetch sandbox.FetchLimits
	// RemoveDelay is how long an ended task's directory stays (listed,
	// ended, its stdout and stderr readable) before the runtime removes it.
	RemoveDelay time.Duration
	// PollInterval is how often the runtime looks for tasks that ended.
	PollInterval time.Duration
	// NoCgroups runs tasks without CPU and memory limits.
	NoCgroups bool
}

// DefaultConfig runs the tasks as nobody, under DefaultSandboxRoot,
// supervised by this very binary.
func DefaultConfig() Config {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	host, _ := os.Hostname()
	return Config{
		Hostname:     host,
		SandboxRoot:  DefaultSandboxRoot,
		DefaultUser:  "nobody",
		Supervisor:   []string{exe, "agent-exec"},
		Fetch:        sandbox.DefaultFetchLimits(),
		RemoveDelay:  15 * time.Minute,
		PollInterval: time.Second,
	}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	var errs []error
	if !events.ValidAgentID(c.AgentID) {
		errs = append(errs, fmt.Errorf("agent id %q is not valid", c.AgentID))
	}
	if !filepath.IsAbs(c.SandboxRoot) {
		errs = append(errs, fmt.Errorf("sandbox root %q is not an absolute path", c.SandboxRoot))
	}
	if len(c.Supervisor) == 0 || c.Supervisor[0] == "" {
		errs = append(errs, errors.New("supervisor command is required"))
	}
	if c.Fetch.Timeout <= 0 || c.Fetch.MaxBytes <= 0 || c.Fetch.MaxExtractedBytes <= 0 || c.Fetch.MaxEntries <= 0 {
		errs = append(errs, errors.New("fetch limits must be positive"))
	}
	if c.RemoveDelay <= 0 || c.PollInterval <= 0 {
		errs = append(errs, errors.New("remove delay and poll interval must be positive"))
	}
	return errors.Join(errs...)
}
