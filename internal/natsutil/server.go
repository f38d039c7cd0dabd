package natsutil

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// ServerConfig configures a JetStream node.
type ServerConfig struct {
	Name    string // unique in a cluster
	Listen  string // host:port for clients; "" runs in-process only
	DataDir string // JetStream store
	// SyncAlways fsyncs every write before it is acknowledged (see docs/DURABILITY in README).
	SyncAlways bool
	// Cluster, when ClusterListen is set: a node of the named cluster with routes to its peers.
	ClusterName   string
	ClusterListen string
	Routes        []string
	// Monitor is an optional host:port for the NATS monitoring endpoint.
	Monitor string
	// ConfigFile is a nats-server configuration file (as `drover nats
	// gen-config` writes) read first: its tls, authorization and cluster
	// TLS settings apply; the fields above replace its name, listen
	// address, store and cluster addresses.
	ConfigFile string
	// Users are added to the file's users, e.g. the in-process connections
	// of drover standalone.
	Users []*server.User
	// InProcess, when set, adds users that only this process can log in
	// as, in-process (InProcessUsers).
	InProcess *InProcessUsers
}

// Validate checks the configuration.
func (c ServerConfig) Validate() error {
	var errs []error
	if c.Name == "" {
		errs = append(errs, errors.New("server name is required"))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data dir is required"))
	}
	for _, a := range []string{c.Listen, c.ClusterListen, c.Monitor} {
		if a == "" {
			continue
		}
		if _, _, err := splitHostPort(a); err != nil {
			errs = append(errs, err)
		}
	}
	if c.ClusterListen != "" && c.ClusterName == "" {
		errs = append(errs, errors.New("a cluster node needs a cluster name"))
	}
	if len(c.Routes) > 0 && c.ClusterListen == "" {
		errs = append(errs, errors.New("routes need a cluster listen address"))
	}
	return errors.Join(errs...)
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < -1 || port > 65535 {
		return "", 0, fmt.Errorf("address %q: bad port", addr)
	}
	return host, port, nil
}

// StartServer starts a JetStream node and waits until it takes connections.
func StartServer(cfg ServerConfig, logger *slog.Logger) (*server.Server, error) {
	opts, err := Options(cfg)
	if err != nil {
		return nil, err
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("nats: new server: %w", err)
	}
	ns.SetLoggerV2(&slogAdapter{logger.With("component", "nats-server")}, false, false, false)
	go ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("nats: server not ready within 30s")
	}
	return ns, nil
}

// Options are the server options of a configuration: StartServer's, and a
// running server's new ones for ReloadOptions (the config file read again).
func Options(cfg ServerConfig) (*server.Options, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("nats: %w", err)
	}
	opts := &server.Options{}
	if cfg.ConfigFile != "" {
		var err error
		if opts, err = server.ProcessConfigFile(cfg.ConfigFile); err != nil {
			return nil, fmt.Errorf("nats: config %s: %w", cfg.ConfigFile, err)
		}
	}
	opts.ServerName = cfg.Name
	opts.JetStream = true
	opts.StoreDir = cfg.DataDir
	opts.SyncAlways = cfg.SyncAlways
	opts.NoSigs = true
	opts.MaxPayload = 8 << 20
	opts.Users = append(opts.Users, cfg.Users...)
	if cfg.InProcess != nil {
		if err := cfg.InProcess.addTo(opts, cfg.ConfigFile != ""); err != nil {
			return nil, err
		}
	}
	if cfg.Listen == "" {
		opts.DontListen = true
	} else {
		opts.Host, opts.Port, _ = splitHostPort(cfg.Listen)
	}
	if cfg.Monitor != "" {
		opts.HTTPHost, opts.HTTPPort, _ = splitHostPort(cfg.Monitor)
	}
	if cfg.ClusterListen != "" {
		opts.Cluster.Name = cfg.ClusterName
		opts.Cluster.Host, opts.Cluster.Port, _ = splitHostPort(cfg.ClusterListen)
		opts.Routes = server.RoutesFromStr(joinComma(cfg.Routes))
	}
	return opts, nil
}

func joinComma(s []string) string {
	out := ""
	for i, r := range s {
		if i > 0 {
			out += ","
		}
		out += r
	}
	return out
}

// slogAdapter lets nats-server log through slog.
type slogAdapter struct{ l *slog.Logger }

func (a *slogAdapter) Noticef(format string, v ...any) { a.l.Info(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Warnf(format string, v ...any)   { a.l.Warn(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Fatalf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Errorf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Debugf(format string, v ...any)  { a.l.Debug(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Tracef(format string, v ...any)  {}
