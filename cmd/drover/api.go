package main

import (
	"context"
	"log/slog"
	"net"
	"time"

	"github.com/drover/drover/internal/natsutil"
	"github.com/drover/drover/internal/version"
	"github.com/drover/drover/pkg/events/natsbus"
	"github.com/drover/drover/services/api"
)

type apiFlags struct {
	HTTPAddr string `help:"Address the Marathon /v2 API listens on (default: :8080 for drover api, 127.0.0.1:8080 for drover standalone)."`
	AuthFile string `type:"existingfile" help:"Credentials file of the API's users and tokens and their roles (viewer, operator); see docs/SECURITY.md. Required when the API listens beyond loopback."`
	TLSCert  string `name:"tls-cert" type:"existingfile" help:"Certificate (PEM) to serve the API over HTTPS; re-read when the file changes."`
	TLSKey   string `name:"tls-key" type:"existingfile" help:"Private key (PEM) of --tls-cert."`
	// Marathon's --event_subscriber: off unless asked for, as in Marathon.
	EventSubscriber         string        `name:"event-subscriber" placeholder:"http_callback" help:"Event subscriber to run: http_callback POSTs every event to the URLs registered through /v2/eventSubscriptions (Marathon's --event_subscriber). Off by default, as in Marathon: /v2/eventSubscriptions answers 400."`
	HTTPEventRequestTimeout time.Duration `name:"http-event-request-timeout" default:"10s" help:"Bound of one POST of an event to a callback URL (Marathon's --http_event_request_timeout)."`
	// Marathon's --local_port_min and --local_port_max, under either name.
	LocalPortMin int `name:"local-port-min" aliases:"local_port_min" default:"10000" help:"Lowest service port given to apps that ask for servicePort or port 0 (Marathon's --local_port_min). The same on every api replica."`
	LocalPortMax int `name:"local-port-max" aliases:"local_port_max" default:"20000" help:"Highest service port given to apps that ask for servicePort or port 0 (Marathon's --local_port_max)."`
}

func (f apiFlags) config(defaultAddr string) api.Config {
	cfg := api.DefaultConfig()
	cfg.HTTPAddr = defaultAddr
	if f.HTTPAddr != "" {
		cfg.HTTPAddr = f.HTTPAddr
	}
	cfg.Version = version.Version
	cfg.BuildRef = version.Commit()
	cfg.AuthFile, cfg.TLSCertFile, cfg.TLSKeyFile = f.AuthFile, f.TLSCert, f.TLSKey
	cfg.EventSubscriber = f.EventSubscriber
	if f.HTTPEventRequestTimeout > 0 {
		cfg.Callbacks.Timeout = f.HTTPEventRequestTimeout
	}
	cfg.LocalPortMin, cfg.LocalPortMax = f.LocalPortMin, f.LocalPortMax
	return cfg
}

// check refuses an API beyond loopback without authentication (unless
// --insecure-no-auth), and warns of credentials sent in clear.
func (f apiFlags) check(cfg api.Config, insecure bool, logger *slog.Logger) error {
	if err := checkExposure(logger, "the API", cfg.HTTPAddr, cfg.AuthFile != "", insecure,
		"give --auth-file (users made with drover hash-password and drover new-token)"); err != nil {
		return err
	}
	if cfg.AuthFile != "" && cfg.TLSCertFile == "" && !loopback(cfg.HTTPAddr) {
		logger.Warn("the API authenticates over plain HTTP: passwords and tokens cross the network in clear; " +
			"give --tls-cert and --tls-key, or serve it behind a TLS proxy")
	}
	if cfg.AuthFile == "" {
		logger.Info("the API runs without authentication", "address", cfg.HTTPAddr)
	}
	return nil
}

func runAPI(ctx context.Context, cfg api.Config, bus *natsbus.Bus, logger *slog.Logger) error {
	s, err := api.New(cfg, bus, logger)
	if err != nil {
		return err
	}
	return s.Run(ctx)
}

type apiCmd struct {
	natsFlags
	busFlags
	apiFlags
	insecureFlags
	Hostname string `help:"The name /v2/info reports as marathon_config.hostname (default: this host's name)."`
}

func (c *apiCmd) Run(ctx context.Context, logger *slog.Logger) error {
	cfg := c.apiFlags.config(":8080")
	if c.Hostname != "" {
		cfg.Hostname = c.Hostname
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if err := c.apiFlags.check(cfg, c.InsecureNoAuth, logger); err != nil {
		return err
	}
	nc, err := c.connect("drover-api", logger)
	if err != nil {
		return err
	}
	defer nc.Close()
	bus, err := c.setup(ctx, nc, logger)
	if err != nil {
		return err
	}
	return runAll(ctx,
		func(ctx context.Context) error { return runAPI(ctx, cfg, bus, logger) },
		func(ctx context.Context) error { return natsutil.WaitClosed(ctx, logger, nc) })
}

// advertisedAPI is where clients reach an API listening on listen, as the
// leader record gives it: the address it listens on when that is one
// address (127.0.0.1:8080 is reachable there only), else hostname with
// its port (":8080", "0.0.0.0:8080": every interface, named as the host).
func advertisedAPI(hostname, listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen // refused by api.Config.Validate before it is used
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = hostname
	}
	return net.JoinHostPort(host, port)
}
