package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/drover/drover/internal/natsutil"
	"github.com/drover/drover/services/scheduler"
)

// schedulerFlags tune a scheduler.
type schedulerFlags struct {
	SchedulerID       string        `help:"This scheduler's id in the leader lock (default: hostname-pid)."`
	UnreachableAfter  time.Duration `default:"3s" help:"An agent silent this long is unreachable and its tasks are replaced elsewhere."`
	DockerDownAfter   time.Duration `default:"500ms" help:"An agent whose heartbeats report its Docker daemon down (refusing connections, or silent for the agent's --docker-silent-after) for this long (two heartbeats at least) loses its tasks to other agents. A degraded (slow) daemon never does."`
	SilentShare       float64       `default:"0.5" help:"When more than this share of the agents (two at least) go silent together, the scheduler suspects itself or the network: it marks them unreachable but replaces none of their tasks until the share drops or --silent-hold passes."`
	SilentHold        time.Duration `default:"2m" help:"How long the silent-majority brake (--silent-share) holds replacements at most."`
	BackoffResetAfter time.Duration `default:"5s" help:"A task that ran this long before dying is replaced at once; younger deaths grow the app's launch backoff."`
	ColocatedNATS     string        `name:"colocated-nats" help:"The server name (drover nats --name) of the NATS node on this scheduler's master. While leading, the scheduler keeps the leaders of the streams and consumers it needs on the other nodes, so a crash of this master loses NATS only followers. Empty: nothing is moved (one node, or NATS on other hosts)."`
}

func (f schedulerFlags) config(bus busFlags) scheduler.Config {
	cfg := scheduler.DefaultConfig()
	if f.SchedulerID != "" {
		cfg.ID = f.SchedulerID
	}
	cfg.LeaderTTL = bus.LeaderTTL
	cfg.UnreachableAfter = f.UnreachableAfter
	cfg.BackoffResetAfter = f.BackoffResetAfter
	cfg.DockerDownAfter = f.DockerDownAfter
	cfg.SilentShare, cfg.SilentHold = f.SilentShare, f.SilentHold
	cfg.ColocatedNATS = f.ColocatedNATS
	return cfg
}

type schedulerCmd struct {
	natsFlags
	busFlags
	schedulerFlags
	Hostname   string `help:"This scheduler's host in the leader lock and the UI's cluster view (default: this host's name)."`
	APIAddress string `name:"api-address" help:"host:port where clients reach the Marathon API beside this scheduler: what /v2/leader, /v2/info's leader and X-Marathon-Leader report while it leads, as Marathon reports its leader's HTTP address (default: --hostname:8080, the api on the same master)."`
}

func (c *schedulerCmd) Run(ctx context.Context, logger *slog.Logger) error {
	cfg := c.schedulerFlags.config(c.busFlags)
	if c.Hostname != "" {
		cfg.Hostname = c.Hostname
	}
	cfg.APIAddress = c.APIAddress
	if err := cfg.Validate(); err != nil {
		return err
	}
	nc, err := c.connect("drover-scheduler-"+cfg.ID, logger)
	if err != nil {
		return err
	}
	defer nc.Close()
	bus, err := c.setup(ctx, nc, logger)
	if err != nil {
		return err
	}
	s, err := scheduler.New(cfg, bus, nc, logger)
	if err != nil {
		return err
	}
	return runAll(ctx, s.Run, func(ctx context.Context) error { return natsutil.WaitClosed(ctx, logger, nc) })
}
