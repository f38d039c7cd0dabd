package natsutil

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// ClientConfig says how a service connects to NATS.
type ClientConfig struct {
	URL      string // nats://host:port[,nats://...]
	Name     string // connection name, shown in NATS monitoring
	Creds    string // a .creds file (JWT + nkey seed)
	User     string
	Password string
	Token    string
	TLSCA    string // CA to verify the server with
	TLSCert  string // client certificate for mutual TLS
	TLSKey   string
	// InboxPrefix is the prefix of the connection's reply subjects; ""
	// is _INBOX.<User> for a user whose name is one subject token (the
	// inbox `drover nats gen-config` lets each user subscribe to), else
	// NATS' default _INBOX.
	InboxPrefix string
}

// inboxPrefix is the prefix Connect uses.
func (c ClientConfig) inboxPrefix() string {
	if c.InboxPrefix != "" || c.User == "" {
		return c.InboxPrefix
	}
	for _, r := range c.User {
		if r <= ' ' || r == '.' || r == '*' || r == '>' || r > '~' {
			return ""
		}
	}
	return events.InboxPrefix(c.User)
}

// Validate checks the configuration.
func (c ClientConfig) Validate() error {
	if c.URL == "" {
		return errors.New("nats URL is required")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("nats TLS cert and key go together")
	}
	return nil
}

// Connect dials NATS and keeps reconnecting for ever: services outlive NATS restarts.
func Connect(cfg ClientConfig, logger *slog.Logger) (*nats.Conn, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("nats: %w", err)
	}
	opts := append(baseOptions(cfg.Name, logger), nats.RetryOnFailedConnect(true))
	if p := cfg.inboxPrefix(); p != "" {
		opts = append(opts, nats.CustomInboxPrefix(p))
	}
	if cfg.Creds != "" {
		opts = append(opts, nats.UserCredentials(cfg.Creds))
	}
	if cfg.User != "" {
		opts = append(opts, nats.UserInfo(cfg.User, cfg.Password))
	}
	if cfg.Token != "" {
		opts = append(opts, nats.Token(cfg.Token))
	}
	if cfg.TLSCA != "" {
		opts = append(opts, nats.RootCAs(cfg.TLSCA))
	}
	if cfg.TLSCert != "" {
		opts = append(opts, nats.ClientCert(cfg.TLSCert, cfg.TLSKey))
	}
	nc, err := nats.Connect(cfg.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("nats: connect %s: %w", cfg.URL, err)
	}
	return nc, nil
}

// ConnectInProcess connects to an embedded server without a socket, with
// any further options (a user and its inbox prefix).
func ConnectInProcess(ns *server.Server, name string, logger *slog.Logger, extra ...nats.Option) (*nats.Conn, error) {
	nc, err := nats.Connect("", append(append(baseOptions(name, logger), nats.InProcessServer(ns)), extra...)...)
	if err != nil {
		return nil, fmt.Errorf("nats: connect in-process: %w", err)
	}
	return nc, nil
}

func baseOptions(name string, logger *slog.Logger) []nats.Option {
	return []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				logger.Warn("nats disconnected", "error", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { logger.Info("nats reconnected", "url", nc.ConnectedUrl()) }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			logger.Warn("nats async error", "error", err)
		}),
	}
}

// WaitClosed waits until ctx ends (nil) or one of the connections closes
// (an error). nats.go reconnects for ever after a network failure, but it
// gives a connection up for good when the server closes it for a protocol
// error (a subject past the control line, say) or refuses its login: the
// service would then live on without NATS. Run beside a service, it ends
// the process with an error so that its supervisor restarts it.
func WaitClosed(ctx context.Context, logger *slog.Logger, conns ...*nats.Conn) error {
	closed := make(chan *nats.Conn, len(conns))
	for _, nc := range conns {
		nc.SetClosedHandler(func(nc *nats.Conn) {
			select {
			case closed <- nc:
			default:
			}
		})
		if nc.IsClosed() {
			closed <- nc
		}
	}
	select {
	case <-ctx.Done():
		return nil
	case nc := <-closed:
		if ctx.Err() != nil {
			return nil
		}
		err := fmt.Errorf("nats: connection %s closed for good (%v): exiting, for a supervisor to start this service again",
			nc.Opts.Name, nc.LastError())
		logger.Error(err.Error())
		return err
	}
}
