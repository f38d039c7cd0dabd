package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/drover/drover/internal/natsutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/events/natsbus"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

type logFlags struct {
	Level  string `default:"info" enum:"debug,info,warn,error" help:"Log level: debug, info, warn or error."`
	Format string `default:"text" enum:"text,json" help:"Log format: text or json."`
}

func (f logFlags) logger() (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.Level)); err != nil {
		return nil, fmt.Errorf("log level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	if f.Format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
}

// natsFlags say how a role connects to NATS.
type natsFlags struct {
	NATS         string `name:"nats" default:"nats://127.0.0.1:4222" help:"NATS server URL(s), comma-separated."`
	NATSCreds    string `name:"nats-creds" type:"existingfile" help:"NATS credentials file (JWT and nkey seed)."`
	NATSUser     string `name:"nats-user" help:"NATS user name."`
	NATSPassword string `name:"nats-password" help:"NATS password."`
	NATSToken    string `name:"nats-token" help:"NATS token."`
	NATSCA       string `name:"nats-tls-ca" type:"existingfile" help:"CA certificate to verify the NATS server with."`
	NATSCert     string `name:"nats-tls-cert" type:"existingfile" help:"Client certificate for NATS mutual TLS."`
	NATSKey      string `name:"nats-tls-key" type:"existingfile" help:"Client key for NATS mutual TLS."`
}

func (f natsFlags) connect(name string, logger *slog.Logger) (*nats.Conn, error) {
	nc, err := natsutil.Connect(natsutil.ClientConfig{
		URL: f.NATS, Name: name, Creds: f.NATSCreds, User: f.NATSUser, Password: f.NATSPassword,
		Token: f.NATSToken, TLSCA: f.NATSCA, TLSCert: f.NATSCert, TLSKey: f.NATSKey,
	}, logger)
	if err != nil {
		return nil, err
	}
	f.warnOpen(nc, logger)
	return nc, nil
}

// warnOpen warns, at start, of a connection without credentials to a NATS
// that asks for none (or not reached yet): whoever reaches that NATS can
// write apps, command agents and take the scheduler lock.
func (f natsFlags) warnOpen(nc *nats.Conn, logger *slog.Logger) {
	if f.NATSCreds != "" || f.NATSUser != "" || f.NATSToken != "" || f.NATSCert != "" {
		return
	}
	if nc.IsConnected() && nc.AuthRequired() {
		return
	}
	logger.Warn("NATS without authentication: this service connects without credentials and NATS asks for none, so whoever "+
		"reaches NATS can write apps, command agents and take the scheduler lock; secure it with drover nats gen-config "+
		"(docs/SECURITY.md)", "nats", f.NATS)
}

// busFlags say how the streams and buckets are set up.
type busFlags struct {
	Setup     bool          `default:"true" negatable:"" help:"Create or update the streams and buckets at start. --no-setup binds to those another role set up, for a role whose NATS permissions forbid changing them (the api and the agents of drover nats gen-config; the scheduler sets them up)."`
	Replicas  int           `default:"1" help:"Replicas of every stream and bucket: 1 on one node, 3 in a cluster."`
	LeaderTTL time.Duration `default:"2s" help:"How long the scheduler lock lives unrenewed: the longest a dead leader goes unnoticed. In a 3-node NATS cluster, stream leader elections take 4-9 s; a shorter TTL makes schedulers change leader while NATS recovers."`
}

func (f busFlags) config() events.Config {
	cfg := events.DefaultConfig()
	cfg.Replicas, cfg.LeaderTTL = f.Replicas, f.LeaderTTL
	return cfg
}

// setup sets up the streams and buckets, retrying while NATS is not there
// yet; with --no-setup it binds to them (to the named buckets, or all),
// retrying until they exist.
func (f busFlags) setup(ctx context.Context, nc *nats.Conn, logger *slog.Logger, buckets ...string) (*natsbus.Bus, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	if err := f.config().Validate(); err != nil {
		return nil, err
	}
	for {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		var bus *natsbus.Bus
		if f.Setup {
			bus, err = natsbus.Setup(sctx, js, f.config())
		} else {
			bus, err = natsbus.Open(sctx, js, buckets...)
		}
		cancel()
		if err == nil {
			return bus, nil
		}
		if ctx.Err() != nil {
			return nil, errors.Join(ctx.Err(), err)
		}
		if f.Setup {
			logger.Warn("setting up streams and buckets failed, retrying", "error", err)
		} else {
			logger.Warn("streams and buckets not there yet (the scheduler sets them up), retrying", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
