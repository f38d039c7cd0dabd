package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/drover/drover/internal/metaplace"
	"github.com/drover/drover/internal/natsauth"
	"github.com/drover/drover/internal/natsutil"
	"github.com/drover/drover/pkg/events"
)

// natsCmd is drover nats: run a node (the default), or generate the
// configuration that secures one.
type natsCmd struct {
	Run       natsRunCmd       `cmd:"" default:"withargs" help:"Run a NATS JetStream node (the default: drover nats --name n1 ...)."`
	GenConfig natsGenConfigCmd `cmd:"" name:"gen-config" help:"Write a NATS configuration with TLS and one user per role (api, scheduler, each agent) with that role's permissions, and each role's credentials."`
}

type natsRunCmd struct {
	insecureFlags
	Name          string   `default:"drover-nats-1" help:"Server name, unique in the cluster."`
	Listen        string   `default:"0.0.0.0:4222" help:"Address for clients."`
	DataDir       string   `default:"./drover-data/nats" type:"path" help:"JetStream store directory."`
	Config        string   `type:"existingfile" help:"nats-server configuration file, as drover nats gen-config writes it (TLS, users and their permissions); required when listening beyond loopback. The flags here set the name, addresses, store and fsync. SIGHUP reloads it (after adding an agent)."`
	SyncAlways    bool     `help:"fsync every write before acknowledging it: acknowledged writes survive a power cut, at a cost in write latency (docs/SECURITY.md, Durability). Without it NATS fsyncs every 2 minutes, and a cluster relies on replicas for what the last 2 minutes wrote."`
	ClusterName   string   `default:"drover" help:"Cluster name (with --cluster-listen)."`
	ClusterListen string   `help:"Address for routes from the other cluster nodes, e.g. 0.0.0.0:6222. Empty: a single node."`
	Routes        []string `help:"Routes to the other cluster nodes, e.g. nats://node2:6222,nats://node3:6222."`
	Monitor       string   `help:"Address for the NATS monitoring endpoint, e.g. 127.0.0.1:8222."`
}

func (c *natsRunCmd) config() natsutil.ServerConfig {
	return natsutil.ServerConfig{
		Name: c.Name, Listen: c.Listen, DataDir: filepath.Clean(c.DataDir), SyncAlways: c.SyncAlways,
		ClusterName: c.ClusterName, ClusterListen: c.ClusterListen, Routes: c.Routes, Monitor: c.Monitor,
		ConfigFile: c.Config,
	}
}

func (c *natsRunCmd) Run(ctx context.Context, logger *slog.Logger) error {
	cfg, err := c.withSteward(c.config(), logger)
	if err != nil {
		return err
	}
	opts, err := natsutil.Options(cfg)
	if err != nil {
		return err
	}
	secured := natsutil.Secured(opts)
	fix := "give --config (made by drover nats gen-config)"
	if err := checkExposure(logger, "NATS", c.Listen, secured, c.InsecureNoAuth, fix); err != nil {
		return err
	}
	if err := checkExposure(logger, "NATS cluster routes", c.ClusterListen, secured && opts.Cluster.TLSConfig != nil, c.InsecureNoAuth, fix); err != nil {
		return err
	}
	if secured && opts.TLSConfig == nil && !loopback(c.Listen) {
		logger.Warn("NATS authenticates without TLS: passwords cross the network in clear")
	}
	ns, err := natsutil.StartServer(cfg, logger)
	if err != nil {
		return err
	}
	logger.Info("nats running", "name", c.Name, "clients", ns.ClientURL(), "cluster", c.ClusterListen,
		"config", c.Config, "sync_always", c.SyncAlways)
	if cfg.InProcess != nil {
		steward := metaplace.NewSteward(ns, cfg.InProcess, logger)
		go func() {
			if err := steward.Run(ctx); err != nil {
				logger.Warn("nats: the meta leader is not kept off the leading scheduler's master", "error", err)
			}
		}()
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			ns.Shutdown()
			ns.WaitForShutdown()
			return nil
		case <-hup:
			opts, err := natsutil.Options(cfg)
			if err == nil {
				err = ns.ReloadOptions(opts)
			}
			if err != nil {
				logger.Error("nats: reload failed; the running configuration stays", "error", err)
			} else {
				logger.Info("nats: configuration reloaded", "config", c.Config, "users", len(opts.Users))
			}
		}
	}
}

// withSteward gives a cluster node the in-process users with which it keeps
// the JetStream meta leader off the leading scheduler's master
// (internal/metaplace), if its options can take them; a single node, or
// one whose options cannot, runs without.
func (c *natsRunCmd) withSteward(cfg natsutil.ServerConfig, logger *slog.Logger) (natsutil.ServerConfig, error) {
	if cfg.ClusterListen == "" {
		return cfg, nil
	}
	users, err := natsutil.NewInProcessUsers(events.LeaderKeySubject)
	if err != nil {
		return cfg, err
	}
	cfg.InProcess = users
	if _, err := natsutil.Options(cfg); errors.Is(err, natsutil.ErrInProcessUsers) {
		logger.Warn("nats: the meta leader will not be kept off the leading scheduler's master", "error", err)
		cfg.InProcess = nil
	}
	return cfg, nil
}

type natsGenConfigCmd struct {
	Out         string        `required:"" type:"path" help:"Directory to write to (created; existing credentials in it are kept unless --force)."`
	Agents      []string      `help:"Agents' hostnames (or ids), one NATS user each: host1,host2,... Run again with more to add agents; the others keep their credentials."`
	ServerHosts []string      `help:"Names and addresses clients and peers reach the NATS servers at, for the server certificate (localhost and 127.0.0.1 are always in): master1,master2,10.0.0.1."`
	InstallDir  string        `help:"Where the files will be on the hosts, as the files name each other (default: --out's absolute path), e.g. /etc/drover/nats."`
	ValidFor    time.Duration `default:"17520h" help:"Certificates' lifetime (the CA's is twice as long)."`
	Force       bool          `help:"Make everything anew: a new CA, certificates and passwords for every role."`
}

func (c *natsGenConfigCmd) Run() error {
	creds, err := natsauth.Generate(natsauth.GenConfig{
		Dir: c.Out, InstallDir: c.InstallDir, Agents: c.Agents, ServerHosts: c.ServerHosts, ValidFor: c.ValidFor, Force: c.Force,
	})
	if err != nil {
		return err
	}
	fmt.Printf("Wrote %s: %s (the NATS servers' configuration), %s, %s and %s (their certificate), %s (the CA's key: keep it off the servers).\n",
		c.Out, natsauth.FileConfig, natsauth.FileCA, natsauth.FileServer, natsauth.FileServerKey, natsauth.FileCAKey)
	fmt.Println("Credentials, one environment file per role with its certificate and key (copy each, with ca.pem, to where the role runs):")
	for _, cr := range creds {
		env, cert, _ := natsauth.RoleFiles(cr.User)
		fmt.Printf("  %-10s %-20s %s (+ %s)\n", cr.Role, cr.User, filepath.Join(c.Out, env), strings.TrimSuffix(filepath.Base(cert), ".pem")+".pem, -key.pem")
	}
	fmt.Printf("Run:  drover nats --config %s --name n1 ...\n", filepath.Join(c.installDir(), natsauth.FileConfig))
	fmt.Println("      set -a; . roles/scheduler.env; set +a; drover scheduler --nats tls://master1:4222 ...   (and so on per role)")
	return nil
}

func (c *natsGenConfigCmd) installDir() string {
	if c.InstallDir != "" {
		return c.InstallDir
	}
	abs, err := filepath.Abs(c.Out)
	if err != nil {
		return c.Out
	}
	return abs
}
