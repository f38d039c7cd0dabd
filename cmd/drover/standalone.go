package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/drover/drover/internal/natsutil"
	"github.com/drover/drover/services/scheduler"
	"github.com/nats-io/nats.go"
)

type standaloneCmd struct {
	apiFlags
	agentFlags
	schedulerFlags
	busFlags
	DataDir    string `default:"./drover-data" type:"path" help:"Where Drover keeps its state (the JetStream store)."`
	NATSAddr   string `name:"nats-addr" default:"127.0.0.1:4222" help:"Address the embedded NATS listens on, so more agents can join; empty: in-process only."`
	SyncAlways bool   `help:"fsync every NATS write before acknowledging it: desired state survives a power cut, writes are slower. Without it NATS fsyncs every 2 minutes."`
}

func (c *standaloneCmd) Run(ctx context.Context, logger *slog.Logger) error {
	acfg, dcfg, err := c.agentFlags.config()
	if err != nil {
		return err
	}
	scfg := c.schedulerFlags.config(c.busFlags)
	scfg.Hostname = acfg.Hostname
	if err := scfg.Validate(); err != nil {
		return err
	}
	apicfg := c.apiFlags.config()
	if err := apicfg.Validate(); err != nil {
		return err
	}
	if err := os.MkdirAll(c.DataDir, 0o750); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	ns, err := natsutil.StartServer(natsutil.ServerConfig{
		Name: "drover-standalone", Listen: c.NATSAddr, DataDir: filepath.Join(c.DataDir, "jetstream"), SyncAlways: c.SyncAlways,
	}, logger)
	if err != nil {
		return err
	}
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	logger.Info("drover standalone", "http", c.HTTPAddr, "nats", c.NATSAddr, "data", c.DataDir, "hostname", acfg.Hostname)

	conns := map[string]*nats.Conn{}
	for _, role := range []string{"api", "scheduler", "agent"} {
		nc, err := natsutil.ConnectInProcess(ns, "drover-"+role, logger)
		if err != nil {
			return err
		}
		defer nc.Close()
		conns[role] = nc
	}
	bus, err := c.setup(ctx, conns["api"], logger)
	if err != nil {
		return err
	}
	sbus, err := c.setup(ctx, conns["scheduler"], logger)
	if err != nil {
		return err
	}
	abus, err := c.setup(ctx, conns["agent"], logger)
	if err != nil {
		return err
	}
	return runAll(ctx,
		func(ctx context.Context) error { return runAPI(ctx, apicfg, bus, logger) },
		func(ctx context.Context) error {
			s, err := scheduler.New(scfg, sbus, conns["scheduler"], logger)
			if err != nil {
				return err
			}
			return s.Run(ctx)
		},
		func(ctx context.Context) error { return runAgent(ctx, acfg, dcfg, abus, conns["agent"], logger) },
	)
}
