package main

import (
	"context"
	"log/slog"
	"path/filepath"

	"github.com/drover/drover/internal/natsutil"
)

type natsCmd struct {
	Name          string   `default:"drover-nats-1" help:"Server name, unique in the cluster."`
	Listen        string   `default:"0.0.0.0:4222" help:"Address for clients."`
	DataDir       string   `default:"./drover-data/nats" type:"path" help:"JetStream store directory."`
	SyncAlways    bool     `help:"fsync every write before acknowledging it (survives power loss; slower). Without it NATS fsyncs every 2 minutes."`
	ClusterName   string   `default:"drover" help:"Cluster name (with --cluster-listen)."`
	ClusterListen string   `help:"Address for routes from the other cluster nodes, e.g. 0.0.0.0:6222. Empty: a single node."`
	Routes        []string `help:"Routes to the other cluster nodes, e.g. nats://node2:6222,nats://node3:6222."`
	Monitor       string   `help:"Address for the NATS monitoring endpoint, e.g. 127.0.0.1:8222."`
}

func (c *natsCmd) Run(ctx context.Context, logger *slog.Logger) error {
	ns, err := natsutil.StartServer(natsutil.ServerConfig{
		Name: c.Name, Listen: c.Listen, DataDir: filepath.Clean(c.DataDir), SyncAlways: c.SyncAlways,
		ClusterName: c.ClusterName, ClusterListen: c.ClusterListen, Routes: c.Routes, Monitor: c.Monitor,
	}, logger)
	if err != nil {
		return err
	}
	logger.Info("nats running", "name", c.Name, "clients", ns.ClientURL(), "cluster", c.ClusterListen)
	<-ctx.Done()
	ns.Shutdown()
	ns.WaitForShutdown()
	return nil
}
