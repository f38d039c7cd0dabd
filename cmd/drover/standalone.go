package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/drover/drover/internal/natsauth"
	"github.com/drover/drover/internal/natsutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/events/natsbus"
	"github.com/drover/drover/services/agent"
	"github.com/drover/drover/services/agent/command"
	"github.com/drover/drover/services/agent/docker"
	"github.com/drover/drover/services/api"
	"github.com/drover/drover/services/scheduler"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

type standaloneCmd struct {
	apiFlags
	agentFlags
	schedulerFlags
	busFlags
	insecureFlags
	DataDir    string `default:"./drover-data" type:"path" help:"Where Drover keeps its state (the JetStream store)."`
	NATSAddr   string `name:"nats-addr" default:"127.0.0.1:4222" help:"Address the embedded NATS listens on, so more agents can join; empty: in-process only. Beyond loopback it needs --nats-config."`
	NATSConfig string `name:"nats-config" type:"existingfile" help:"nats-server configuration for the embedded NATS (drover nats gen-config --agents ...): TLS and a user for each agent that joins. Standalone's own api, scheduler and agent connect in process as users with their roles' permissions."`
	SyncAlways bool   `help:"fsync every NATS write before acknowledging it: desired state survives a power cut, writes are slower (docs/SECURITY.md, Durability). Without it NATS fsyncs every 2 minutes."`
	// InsecureOpenNATS keeps the embedded NATS open beside --auth-file.
	InsecureOpenNATS bool `name:"insecure-open-nats" help:"With --auth-file and no --nats-config, leave the embedded NATS without users, as without --auth-file: any local user can then write apps into the bus, bypassing the API's users. Logs a warning."`
}

// role is one of standalone's in-process connections.
type role struct {
	name, role, agentID string
	user, password      string
}

func (c *standaloneCmd) Run(ctx context.Context, logger *slog.Logger) error {
	acfg, dcfg, scfg, apicfg, err := c.configs(logger)
	if err != nil {
		return err
	}
	if err := checkHostname(ctx, net.DefaultResolver, acfg, c.HostnameCheck, logger); err != nil {
		return err
	}
	if err := os.MkdirAll(c.DataDir, 0o750); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	// Root runs host commands as other users, who must reach their
	// sandboxes: not through the data directory, closed to them.
	sandboxes := command.DefaultSandboxRoot
	if os.Geteuid() != 0 {
		sandboxes = filepath.Join(c.DataDir, "sandboxes")
	}
	ccfg, err := c.commandConfig(dcfg.AgentID, dcfg.Hostname, sandboxes)
	if err != nil {
		return err
	}
	// Docker tasks' sandboxes are reached by the agent and the daemon
	// alone, the containers through their mounts: the data directory
	// holds them, whoever runs standalone.
	if err := c.withDockerSandboxes(&dcfg, ccfg, filepath.Join(c.DataDir, "docker-sandboxes")); err != nil {
		return err
	}
	roles := []*role{{name: "api", role: natsauth.RoleAPI}, {name: "scheduler", role: natsauth.RoleScheduler},
		{name: "agent", role: natsauth.RoleAgent, agentID: dcfg.AgentID}}
	ncfg, natsUsers, err := c.natsConfig(apicfg.AuthFile != "", roles, logger)
	if err != nil {
		return err
	}
	opts, err := natsutil.Options(ncfg)
	if err != nil {
		return err
	}
	// Beyond loopback NATS needs --nats-config (TLS), even with users.
	if err := checkExposure(logger, "NATS", c.NATSAddr, c.NATSConfig != "" && natsutil.Secured(opts), c.InsecureNoAuth,
		"give --nats-config (made by drover nats gen-config --agents ...)"); err != nil {
		return err
	}
	ns, err := natsutil.StartServer(ncfg, logger)
	if err != nil {
		return err
	}
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	logger.Info("drover standalone", "http", apicfg.HTTPAddr, "nats", c.NATSAddr, "data", c.DataDir, "hostname", acfg.Hostname,
		"api_auth", apicfg.AuthFile != "", "nats_auth", natsUsers, "sync_always", c.SyncAlways)

	conns, closeConns, err := connectRoles(ns, roles, logger)
	if err != nil {
		return err
	}
	defer closeConns()
	// The scheduler sets the streams and buckets up; the api and the agent
	// bind to them, as their permissions allow.
	sbus, err := c.setup(ctx, conns["scheduler"], logger)
	if err != nil {
		return err
	}
	bus, err := open(ctx, conns["api"])
	if err != nil {
		return err
	}
	abus, err := open(ctx, conns["agent"], events.BucketLeader)
	if err != nil {
		return err
	}
	return runAll(ctx,
		func(ctx context.Context) error {
			return natsutil.WaitClosed(ctx, logger, conns["api"], conns["scheduler"], conns["agent"])
		},
		func(ctx context.Context) error { return runAPI(ctx, apicfg, bus, logger) },
		func(ctx context.Context) error {
			s, err := scheduler.New(scfg, sbus, conns["scheduler"], logger)
			if err != nil {
				return err
			}
			return s.Run(ctx)
		},
		func(ctx context.Context) error { return runAgent(ctx, acfg, dcfg, ccfg, abus, conns["agent"], logger) },
	)
}

// configs are the agent's, the scheduler's and the api's configurations
// from the flags, each checked; the three share --hostname.
func (c *standaloneCmd) configs(logger *slog.Logger) (agent.Config, docker.Config, scheduler.Config, api.Config, error) {
	acfg, dcfg, err := c.agentFlags.config()
	if err != nil {
		return acfg, dcfg, scheduler.Config{}, api.Config{}, err
	}
	scfg := c.schedulerFlags.config(c.busFlags)
	scfg.Hostname = acfg.Hostname
	if err := scfg.Validate(); err != nil {
		return acfg, dcfg, scfg, api.Config{}, err
	}
	apicfg := c.apiFlags.config("127.0.0.1:8080")
	apicfg.Hostname = acfg.Hostname // /v2/info's marathon_config.hostname: --hostname
	if err := apicfg.Validate(); err != nil {
		return acfg, dcfg, scfg, apicfg, err
	}
	// The leader /v2/leader names is this process's own API.
	scfg.APIAddress = advertisedAPI(acfg.Hostname, apicfg.HTTPAddr)
	if err := c.apiFlags.check(apicfg, c.InsecureNoAuth, logger); err != nil {
		return acfg, dcfg, scfg, apicfg, err
	}
	return acfg, dcfg, scfg, apicfg, nil
}

// natsConfig is the embedded NATS's configuration. It has users, one for
// each role with the role's permissions (natsUsers), with --nats-config or
// when the API has users (apiAuth); else it is open.
func (c *standaloneCmd) natsConfig(apiAuth bool, roles []*role, logger *slog.Logger) (natsutil.ServerConfig, bool, error) {
	ncfg := natsutil.ServerConfig{
		Name: "drover-standalone", Listen: c.NATSAddr, DataDir: filepath.Join(c.DataDir, "jetstream"), SyncAlways: c.SyncAlways,
		ConfigFile: c.NATSConfig,
	}
	// With users on the API, NATS has users too: else a local user would
	// write apps into the bus and bypass the API's (docs/SECURITY.md).
	natsUsers := c.NATSConfig != "" || (apiAuth && !c.InsecureOpenNATS)
	switch {
	case c.NATSConfig != "":
		// Standalone's own services get users of their roles, with
		// passwords made for this run.
		for _, r := range roles {
			r.user, r.password = "standalone-"+r.name, randomPassword()
		}
	case natsUsers:
		// Kept in the data directory: a process outside may need them.
		if err := loadOrMakeUsers(filepath.Join(c.DataDir, natsUsersDir), roles); err != nil {
			return ncfg, false, err
		}
	case apiAuth && c.NATSAddr != "":
		warnOpenNATS(logger, c.NATSAddr)
	}
	if natsUsers {
		for _, r := range roles {
			perms, err := natsauth.UserPermissions(r.user, r.role, r.agentID)
			if err != nil {
				return ncfg, false, err
			}
			ncfg.Users = append(ncfg.Users, &server.User{Username: r.user, Password: r.password, Permissions: perms})
		}
	}
	return ncfg, natsUsers, nil
}

// connectRoles connects each role in process, as its user when it has one;
// closeAll closes the connections, the last made first.
func connectRoles(ns *server.Server, roles []*role, logger *slog.Logger) (conns map[string]*nats.Conn, closeAll func(), err error) {
	conns = map[string]*nats.Conn{}
	var opened []*nats.Conn
	closeAll = func() {
		for _, nc := range slices.Backward(opened) {
			nc.Close()
		}
	}
	for _, r := range roles {
		var extra []nats.Option
		if r.user != "" {
			extra = append(extra, nats.UserInfo(r.user, r.password), nats.CustomInboxPrefix(events.InboxPrefix(r.user)))
		}
		nc, err := natsutil.ConnectInProcess(ns, "drover-"+r.name, logger, extra...)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		opened = append(opened, nc)
		conns[r.name] = nc
	}
	return conns, closeAll, nil
}

// open binds a connection to the buckets set up already.
func open(ctx context.Context, nc *nats.Conn, buckets ...string) (*natsbus.Bus, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	octx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return natsbus.Open(octx, js, buckets...)
}

func randomPassword() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
