package main

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/drover/drover/internal/natsutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/events/natsbus"
	"github.com/drover/drover/services/agent"
	"github.com/drover/drover/services/agent/command"
	"github.com/drover/drover/services/agent/docker"
	"github.com/drover/drover/services/agent/memruntime"
	"github.com/nats-io/nats.go"
)

// agentFlags describe one host.
type agentFlags struct {
	Hostname          string        `help:"This host's name, as constraints on hostname match it (default: the OS hostname)."`
	AgentID           string        `help:"Agent id in subjects and container names (default: derived from --hostname)."`
	Address           string        `help:"This host's address, where its tasks' ports are reached; when an IP, published ports bind to it (default: --hostname, binding every address)."`
	HostnameCheck     string        `default:"warn" enum:"warn,refuse,off" help:"At start, check that --hostname (every task's host, where clients reach it) and --address resolve: warn (log an error and go on), refuse (exit with the error), or off."`
	Attributes        string        `help:"Attributes for constraints, e.g. rack=r1,zone=a."`
	Resources         string        `help:"What this host offers, e.g. cpus=4,mem=8192,disk=20000,ports=[31000-32000] (mem and disk in MB). Missing ones are detected: all CPUs, 90% of memory, 10000 MB disk, ports [31000-32000]."`
	DockerHost        string        `help:"Docker daemon address, e.g. unix:///var/run/docker.sock (default: DOCKER_HOST or the local daemon)."`
	AllowPrivileged   bool          `default:"true" negatable:"" help:"Allow privileged containers on this host."`
	HostPathPrefixes  []string      `help:"Host paths containers may mount, as prefixes (default: any)."`
	AllowedImages     []string      `help:"Images containers may run, as globs where * matches anything, / included: registry.example.com/*,docker.io/library/* (default: any). A pattern matches the image as written, with its implied tag (httpd:latest) or normalised (docker.io/library/httpd:latest)."`
	HeartbeatInterval time.Duration `default:"1s" help:"How often the agent reports to the scheduler."`
	DockerSilentAfter time.Duration `default:"15s" help:"How long a Docker call may go unanswered before the daemon counts as down and this host's tasks are replaced elsewhere. A daemon that refuses connections is down at once; a slow one is only degraded and keeps its tasks."`
	DockerSlowAfter   time.Duration `default:"2s" help:"A Docker call slower than this marks the daemon degraded: its tasks keep running, and new tasks go to other hosts first."`
	Runtime           string        `default:"docker" enum:"docker,sim" help:"Where tasks run: docker, or sim (simulated in memory: everything real but Docker, for scale tests)."`
	Count             int           `default:"1" help:"With --runtime sim: how many simulated agents this process runs, named <hostname>-0001..."`
	SimStartLatency   time.Duration `default:"0s" help:"With --runtime sim: how long each simulated launch takes."`
	PrivilegedMode    string        `default:"auto" enum:"auto,full,caps" help:"How privileged containers run: full (docker run --privileged), caps (every capability the host grants, seccomp and AppArmor off; for daemons that cannot grant --privileged, such as one inside a container), or auto (full unless this process lacks capabilities, then caps)."`
	AllowHostCommands bool          `help:"Run apps without a container image (a cmd and no docker image) as commands on this host, as Mesos' command executor does: each in a sandbox of its own, as --command-user. Off by default: whoever may post apps could run anything on this host. With --runtime sim, nothing runs and they are always allowed."`
	SandboxDir        string        `help:"Where host commands' sandboxes are kept, one directory per agent and task; it must outlive the agent's restarts (default: /var/lib/drover/sandboxes; for standalone not run as root, <data-dir>/sandboxes)."`
	CommandUser       string        `default:"nobody" help:"The user host commands run as when their app names none (an app's user field wins). Only an agent running as root switches users; one that is not runs every command as itself."`
	CommandAllowRoot  bool          `help:"Let host commands run as root (an app with user root, or --command-user root). Root on this host for whoever may post apps."`
	DockerSandboxes   bool          `default:"true" negatable:"" help:"Give every Docker task a sandbox, as Mesos does: a directory on this host with its app's fetch (or uris) downloaded into it, bind-mounted read-write at /mnt/mesos/sandbox (MESOS_SANDBOX), removed with the container. --no-docker-sandboxes mounts none, for a Docker daemon that does not see this host's files; Docker apps with URIs to fetch then fail to launch here."`
	DockerSandboxDir  string        `help:"Where Docker tasks' sandboxes are kept, one directory per agent and task; the Docker daemon must see it at the same path (an agent in a container has it mounted there), and it must outlive the agent's restarts (default: /var/lib/drover/docker-sandboxes; standalone: <data-dir>/docker-sandboxes). An agent that cannot use the default (not root) starts without sandboxes and says so; one that cannot use the directory named here does not start. The agent marks the directory it uses (a file .drover-sandboxes in it) and refuses one that holds anything without that mark: it removes what it finds under it."`
	FetchAllowLocal   bool          `help:"Let Docker apps fetch (their fetch or uris) from this agent host's loopback and link-local addresses (127.0.0.0/8, ::1, 169.254.0.0/16 with cloud metadata services, fe80::/10): the agent downloads as root, on the host's network, and the app reads what came. Off by default: such URIs, and redirects to them, fail the launch. Host commands' fetches are not bound by it (they run on the host anyway)."`
}

func (f agentFlags) config() (agent.Config, docker.Config, error) {
	cfg := agent.DefaultConfig()
	if f.Hostname != "" {
		cfg.Hostname = f.Hostname
	}
	cfg.AgentID, cfg.Address = f.AgentID, f.Address
	attrs, err := agent.ParseAttributes(f.Attributes)
	if err != nil {
		return cfg, docker.Config{}, fmt.Errorf("--attributes: %w", err)
	}
	cfg.Attributes = attrs
	res, err := agent.ParseResources(f.Resources)
	if err != nil {
		return cfg, docker.Config{}, fmt.Errorf("--resources: %w", err)
	}
	cfg.Resources = withDetected(res)
	cfg.Policy = events.AgentPolicy{AllowPrivileged: f.AllowPrivileged, HostPathPrefixes: f.HostPathPrefixes, ImagePatterns: f.AllowedImages,
		AllowHostCommands: f.AllowHostCommands || f.Runtime == "sim"}
	cfg.HeartbeatInterval = f.HeartbeatInterval
	cfg.RuntimeDownAfter, cfg.RuntimeSlowAfter = f.DockerSilentAfter, f.DockerSlowAfter
	if err := cfg.Validate(); err != nil {
		return cfg, docker.Config{}, err
	}
	dc := docker.DefaultConfig()
	dc.AgentID = cfg.AgentID
	if dc.AgentID == "" {
		dc.AgentID = events.AgentIDFromHostname(cfg.Hostname)
	}
	dc.Host, dc.Hostname = f.DockerHost, cfg.Hostname
	dc.Privileged = f.PrivilegedMode
	dc.FetchAllowLocal = f.FetchAllowLocal
	if ip := net.ParseIP(f.Address); ip != nil {
		dc.PublishIP = ip.String()
	}
	return cfg, dc, dc.Validate()
}

// commandConfig is the host command runtime's configuration, nil when
// host commands are off; sandboxes go under defaultRoot unless --sandbox-dir.
func (f agentFlags) commandConfig(agentID, hostname, defaultRoot string) (*command.Config, error) {
	if !f.AllowHostCommands || f.Runtime == "sim" {
		return nil, nil
	}
	cc := command.DefaultConfig()
	cc.AgentID, cc.Hostname, cc.SandboxRoot = agentID, hostname, cmp.Or(f.SandboxDir, defaultRoot)
	cc.DefaultUser, cc.AllowRoot = f.CommandUser, f.CommandAllowRoot
	if os.Geteuid() != 0 && cc.DefaultUser == "nobody" {
		cc.DefaultUser = "" // the agent's own user: it cannot switch
	}
	abs, err := filepath.Abs(cc.SandboxRoot)
	if err != nil {
		return nil, fmt.Errorf("--sandbox-dir: %w", err)
	}
	cc.SandboxRoot = abs
	return &cc, cc.Validate()
}

// withDockerSandboxes gives the Docker runtime its sandbox root:
// --docker-sandbox-dir, else defaultRoot; none with --no-docker-sandboxes.
// It must stay apart from the host commands' root (cc, when they run):
// the command runtime takes every directory under its agent's for a task.
func (f agentFlags) withDockerSandboxes(dc *docker.Config, cc *command.Config, defaultRoot string) error {
	if !f.DockerSandboxes {
		dc.SandboxRoot, dc.SandboxRootOptional = "", false
		return dc.Validate()
	}
	abs, err := filepath.Abs(cmp.Or(f.DockerSandboxDir, defaultRoot))
	if err != nil {
		return fmt.Errorf("--docker-sandbox-dir: %w", err)
	}
	dc.SandboxRoot = abs
	// The default may be out of this agent's reach (not root): it then
	// starts without sandboxes, saying so; a directory named must do.
	dc.SandboxRootOptional = f.DockerSandboxDir == ""
	if cc != nil && (within(abs, cc.SandboxRoot) || within(cc.SandboxRoot, abs)) {
		return fmt.Errorf("--docker-sandbox-dir %s and --sandbox-dir %s: one holds the other; give them directories apart", abs, cc.SandboxRoot)
	}
	return dc.Validate()
}

// within reports whether the path p is dir or under it (both absolute, clean).
func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// withDetected fills what the operator did not give with what this host has.
func withDetected(r events.Resources) events.Resources {
	if r.Cpus == 0 {
		r.Cpus = float64(runtime.NumCPU())
	}
	if r.Mem == 0 {
		r.Mem = 1024
		if total, ok := memTotalMB(); ok {
			r.Mem = float64(int(total * 0.9))
		}
	}
	if r.Disk == 0 {
		r.Disk = 10000
	}
	if len(r.Ports) == 0 {
		r.Ports = []events.PortRange{{Begin: 31000, End: 32000}}
	}
	return r
}

func memTotalMB() (float64, bool) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseFloat(fields[1], 64)
			return kb / 1024, err == nil
		}
	}
	return 0, false
}

// hostnameLookupTimeout bounds each lookup of checkHostname.
const hostnameLookupTimeout = 2 * time.Second

// checkHostname checks that the agent's hostname and address resolve
// (agent.CheckAdvertised), as --hostname-check says: a name that does not
// gives every consumer of the tasks an address it cannot reach.
func checkHostname(ctx context.Context, r agent.Resolver, cfg agent.Config, mode string, logger *slog.Logger) error {
	if mode == "off" {
		return nil
	}
	err := agent.CheckAdvertised(ctx, r, cfg, hostnameLookupTimeout)
	switch {
	case err == nil:
		return nil
	case mode == "refuse":
		return fmt.Errorf("agent: %w (--hostname-check refuse)", err)
	}
	logger.Warn("this agent's name does not resolve; its tasks report an address clients cannot reach (--hostname-check refuse makes this fatal)",
		"hostname", cfg.Hostname, "address", cfg.Address, "error", err)
	return nil
}

// runAgent runs an agent on the Docker daemon, and its host commands when
// cc is not nil, until ctx ends.
func runAgent(ctx context.Context, cfg agent.Config, dc docker.Config, cc *command.Config, bus *natsbus.Bus, nc *nats.Conn, logger *slog.Logger) error {
	drt, err := docker.New(dc, logger)
	if err != nil {
		return err
	}
	defer drt.Close()
	rt := &agent.Routed{Containers: drt}
	if cc != nil {
		crt, err := command.New(*cc, logger)
		if err != nil {
			return err
		}
		defer crt.Close()
		rt.Commands = crt
		logger.Warn("this agent runs apps without a container image as commands on the host", "sandboxes", cc.SandboxRoot,
			"default_user", cmp.Or(cc.DefaultUser, "(the agent's own)"), "root_allowed", cc.AllowRoot)
	}
	a, err := agent.New(cfg, bus, nc, rt, logger)
	if err != nil {
		return err
	}
	return a.Run(ctx)
}

// runSimAgents runs count simulated agents, named after cfg's hostname,
// on one NATS connection.
func runSimAgents(ctx context.Context, cfg agent.Config, count int, latency time.Duration, bus *natsbus.Bus, nc *nats.Conn, logger *slog.Logger) error {
	var fns []func(context.Context) error
	for i := range count {
		c := cfg
		if count > 1 {
			c.Hostname = fmt.Sprintf("%s-%04d", cfg.Hostname, i+1)
			c.AgentID, c.Address = "", ""
		}
		rt := memruntime.New()
		rt.SetLaunchDelay(latency)
		a, err := agent.New(c, bus, nc, rt, logger)
		if err != nil {
			return err
		}
		fns = append(fns, a.Run)
	}
	logger.Info("simulated agents", "count", count, "hostname", cfg.Hostname, "start_latency", latency)
	return runAll(ctx, fns...)
}

type agentCmd struct {
	natsFlags
	busFlags
	agentFlags
}

func (c *agentCmd) Run(ctx context.Context, logger *slog.Logger) error {
	cfg, dc, err := c.agentFlags.config()
	if err != nil {
		return err
	}
	if c.Count < 1 || (c.Count > 1 && c.Runtime != "sim") {
		return fmt.Errorf("--count %d: one agent per process, or any number with --runtime sim", c.Count)
	}
	if c.Runtime != "sim" { // simulated agents' names are made up
		if err := checkHostname(ctx, net.DefaultResolver, cfg, c.HostnameCheck, logger); err != nil {
			return err
		}
	}
	nc, err := c.connect("drover-agent-"+dc.AgentID, logger)
	if err != nil {
		return err
	}
	defer nc.Close()
	// An agent reads one bucket: the leader's, for its epoch.
	bus, err := c.setup(ctx, nc, logger, events.BucketLeader)
	if err != nil {
		return err
	}
	watch := func(ctx context.Context) error { return natsutil.WaitClosed(ctx, logger, nc) }
	if c.Runtime == "sim" {
		return runAll(ctx, watch, func(ctx context.Context) error {
			return runSimAgents(ctx, cfg, c.Count, c.SimStartLatency, bus, nc, logger)
		})
	}
	cc, err := c.commandConfig(dc.AgentID, dc.Hostname, command.DefaultSandboxRoot)
	if err != nil {
		return err
	}
	if err := c.withDockerSandboxes(&dc, cc, docker.DefaultSandboxRoot); err != nil {
		return err
	}
	return runAll(ctx, watch, func(ctx context.Context) error { return runAgent(ctx, cfg, dc, cc, bus, nc, logger) })
}

// agentExecCmd is the supervisor of one host command (see
// services/agent/command): the agent runs it, never a person.
type agentExecCmd struct {
	Args []string `arg:"" optional:"" passthrough:""`
}

func (c *agentExecCmd) Run() error {
	os.Exit(command.Main(c.Args))
	return nil
}
