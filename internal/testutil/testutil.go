// Package testutil holds the helpers every test shares: an in-process
// JetStream server and polling assertions.
package testutil

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/drover/drover/internal/natsutil"
	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/events/natsbus"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Logger is a test logger: quiet unless DROVER_TEST_LOG is set.
func Logger(t testing.TB) *slog.Logger {
	t.Helper()
	if os.Getenv("DROVER_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// JetStream is a running in-process JetStream node for one test.
type JetStream struct {
	Server *server.Server
	URL    string
}

// RunJetStream starts a JetStream node on a random loopback port, stopped at cleanup.
func RunJetStream(t testing.TB) *JetStream {
	t.Helper()
	ns, err := natsutil.StartServer(natsutil.ServerConfig{
		Name: "test", Listen: "127.0.0.1:-1", DataDir: t.TempDir(),
	}, Logger(t))
	if err != nil {
		t.Fatalf("start nats: %v", err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return &JetStream{Server: ns, URL: ns.ClientURL()}
}

// Connect opens a client connection, closed at cleanup.
func (s *JetStream) Connect(t testing.TB) *nats.Conn {
	t.Helper()
	nc, err := natsutil.Connect(natsutil.ClientConfig{URL: s.URL, Name: t.Name()}, Logger(t))
	if err != nil {
		t.Fatalf("connect nats: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// Bus connects and sets up every stream and bucket.
func (s *JetStream) Bus(t testing.TB) *natsbus.Bus {
	t.Helper()
	js, err := jetstream.New(s.Connect(t))
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bus, err := natsbus.Setup(ctx, js, events.DefaultConfig())
	if err != nil {
		t.Fatalf("setup: %v", err)
	}
	return bus
}

// Eventually calls check every tick until it returns nil, and fails the test
// with check's last error when total has passed.
func Eventually(t testing.TB, total, tick time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(total)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %v", total, err)
		}
		time.Sleep(tick)
	}
}
