package api

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/api/auth"
	"github.com/drover/drover/services/api/callbacks"
)

// Config is an api replica's configuration.
type Config struct {
	// HTTPAddr is where Run listens: host:port, ":8080" for every interface.
	HTTPAddr string
	// BodyLimit is the largest request body accepted; a larger one is 413.
	BodyLimit int64
	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout bound
	// the HTTP server's connections (see net/http.Server). Zero is no limit.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	// ShutdownTimeout is how long Run lets requests finish once its context ends.
	ShutdownTimeout time.Duration
	// SyncTimeout bounds how long a request waits for the read model: for
	// its first load, and after a write, for the write to show in it.
	SyncTimeout time.Duration
	// ID is this replica's name, for logs.
	ID string
	// Hostname is reported as marathon_config.hostname in /v2/info.
	Hostname string
	// Master is reported as marathon_config.master in /v2/info: where the
	// state lives (the NATS URL, without credentials).
	Master string
	// Version is Drover's release, /v2/info's drover_version (its version is
	// MarathonVersion); BuildRef, the commit, is its buildref.
	Version  string
	BuildRef string
	// AuthFile is the credentials file (package auth); "" turns
	// authentication off.
	AuthFile string
	// TLSCertFile and TLSKeyFile make the API serve HTTPS (auth.Listen).
	TLSCertFile string
	TLSKeyFile  string
	// EventSubscriber is Marathon's --event_subscriber: "http_callback"
	// turns on /v2/eventSubscriptions and the POSTing of every event to
	// the registered URLs (package callbacks); "" leaves it off, as
	// Marathon does by default.
	EventSubscriber string
	// Callbacks configures the HTTP callback subscriber.
	Callbacks callbacks.Config
	// LocalPortMin and LocalPortMax bound, both included, the service ports
	// given to apps that ask for 0 (Marathon's --local_port_min/max).
	// Every api replica of a cluster must have the same.
	LocalPortMin int
	LocalPortMax int
}

// EventSubscriberHTTP is the one event subscriber there is.
const EventSubscriberHTTP = "http_callback"

// DefaultConfig is a replica on :8080 named after the host.
func DefaultConfig() Config {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return Config{
		HTTPAddr:          ":8080",
		BodyLimit:         1 << 20,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ShutdownTimeout:   10 * time.Second,
		SyncTimeout:       2 * time.Second,
		ID:                host,
		Hostname:          host,
		Version:           "dev",
		BuildRef:          "unknown",
		Callbacks:         callbacks.DefaultConfig(),
		LocalPortMin:      marathon.DefaultLocalPortMin,
		LocalPortMax:      marathon.DefaultLocalPortMax,
	}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	var errs []error
	if _, err := httpPort(c.HTTPAddr); err != nil {
		errs = append(errs, err)
	}
	if c.BodyLimit <= 0 {
		errs = append(errs, fmt.Errorf("body limit must be positive, got %d", c.BodyLimit))
	}
	for name, d := range map[string]time.Duration{
		"read header timeout": c.ReadHeaderTimeout, "read timeout": c.ReadTimeout,
		"write timeout": c.WriteTimeout, "idle timeout": c.IdleTimeout, "shutdown timeout": c.ShutdownTimeout,
	} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative, got %s", name, d))
		}
	}
	if c.SyncTimeout <= 0 {
		errs = append(errs, fmt.Errorf("sync timeout must be positive, got %s", c.SyncTimeout))
	}
	if c.ID == "" {
		errs = append(errs, errors.New("replica id is required"))
	}
	if c.AuthFile != "" {
		if _, err := auth.LoadCredentials(c.AuthFile); err != nil {
			errs = append(errs, err)
		}
	}
	switch c.EventSubscriber {
	case "":
	case EventSubscriberHTTP:
		if err := c.Callbacks.Validate(); err != nil {
			errs = append(errs, err)
		}
	default:
		errs = append(errs, fmt.Errorf("event subscriber %q: the only one is %q", c.EventSubscriber, EventSubscriberHTTP))
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		errs = append(errs, errors.New("a TLS certificate and key go together"))
	}
	if err := c.servicePorts().Validate(); err != nil {
		errs = append(errs, fmt.Errorf("--local-port-min/--local-port-max: %w", err))
	}
	return errors.Join(errs...)
}

// servicePorts is the range dynamic service ports are assigned from.
func (c Config) servicePorts() marathon.PortRange {
	return marathon.PortRange{Min: c.LocalPortMin, Max: c.LocalPortMax}
}

// httpPort is the port of a host:port listen address.
func httpPort(addr string) (int, error) {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, fmt.Errorf("http address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return 0, fmt.Errorf("http address %q: bad port", addr)
	}
	return port, nil
}
