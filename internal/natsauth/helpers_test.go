package natsauth_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drover/drover/internal/natsauth"
	"github.com/drover/drover/internal/natsutil"
	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/events/natsbus"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/crypto/bcrypt"
)

// cluster is an embedded NATS server run with a generated configuration.
type cluster struct {
	t     testing.TB
	dir   string
	ns    *server.Server
	creds map[string]natsauth.Credential
}

// runSecured generates a configuration for the agents and runs a server with it.
func runSecured(t testing.TB, agents ...string) *cluster {
	t.Helper()
	dir := t.TempDir()
	creds, err := natsauth.Generate(natsauth.GenConfig{Dir: dir, Agents: agents, BcryptCost: bcrypt.MinCost})
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	ns, err := natsutil.StartServer(natsutil.ServerConfig{
		Name: "secured", Listen: "127.0.0.1:-1", DataDir: t.TempDir(), ConfigFile: filepath.Join(dir, natsauth.FileConfig),
	}, testutil.Logger(t))
	if err != nil {
		t.Fatalf("start nats: %v", err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	c := &cluster{t: t, dir: dir, ns: ns, creds: map[string]natsauth.Credential{}}
	for _, cr := range creds {
		c.creds[cr.User] = cr
	}
	return c
}

// violations collects the permission violations a connection is told of.
type violations struct {
	mu   sync.Mutex
	seen []string
}

func (v *violations) add(err error) {
	if err != nil && strings.Contains(strings.ToLower(err.Error()), "permissions violation") {
		v.mu.Lock()
		v.seen = append(v.seen, err.Error())
		v.mu.Unlock()
	}
}

func (v *violations) list() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.seen...)
}

// connect connects as a generated user over TLS with its certificate, the
// way the drover command does with the user's environment file.
func (c *cluster) connect(user string) (*nats.Conn, *violations) {
	c.t.Helper()
	cr, ok := c.creds[user]
	if !ok {
		c.t.Fatalf("no user %q", user)
	}
	_, certRel, keyRel := natsauth.RoleFiles(user)
	v := &violations{}
	logger := slog.New(violationHandler{v})
	nc, err := natsutil.Connect(natsutil.ClientConfig{
		URL: c.ns.ClientURL(), Name: user, User: user, Password: cr.Password,
		TLSCA: filepath.Join(c.dir, natsauth.FileCA), TLSCert: filepath.Join(c.dir, certRel), TLSKey: filepath.Join(c.dir, keyRel),
	}, logger)
	if err != nil {
		c.t.Fatalf("connect %s: %v", user, err)
	}
	c.t.Cleanup(nc.Close)
	if err := nc.FlushTimeout(5 * time.Second); err != nil {
		c.t.Fatalf("connect %s: %v", user, err)
	}
	return nc, v
}

// violationHandler is a slog handler that records the "nats async error"
// records natsutil logs for permission violations, and drops the rest.
type violationHandler struct{ v *violations }

func (h violationHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h violationHandler) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "error" {
			h.v.add(fmt.Errorf("%v", a.Value.Any()))
		}
		return true
	})
	return nil
}
func (h violationHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h violationHandler) WithGroup(string) slog.Handler      { return h }

// setup sets up the streams and buckets as the scheduler does.
func (c *cluster) setup() *natsbus.Bus {
	c.t.Helper()
	nc, _ := c.connect(natsauth.RoleScheduler)
	js, err := jetstream.New(nc)
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bus, err := natsbus.Setup(ctx, js, events.DefaultConfig())
	if err != nil {
		c.t.Fatalf("setup as scheduler: %v", err)
	}
	return bus
}
