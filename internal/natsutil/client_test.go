package natsutil

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// A connection the server closes for a protocol error (here a subject past
// the 4,096-byte control line) is not reconnected by nats.go: WaitClosed
// returns an error then, so the service exits and is restarted.
func TestWaitClosedReturnsWhenTheServerClosesTheConnection(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ns, err := StartServer(ServerConfig{Name: "t", Listen: "127.0.0.1:-1", DataDir: t.TempDir()}, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	nc, err := Connect(ClientConfig{URL: ns.ClientURL(), Name: "victim"}, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	done := make(chan error, 1)
	go func() { done <- WaitClosed(context.Background(), logger, nc) }()
	_ = nc.Publish("x."+strings.Repeat("a", 4100), nil)
	_ = nc.Flush()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "victim") {
			t.Fatalf("WaitClosed = %v, want an error naming the connection", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("WaitClosed did not return after the server closed the connection")
	}
	if !nc.IsClosed() {
		t.Error("the connection is not closed: the test did not test what it says")
	}
}

// WaitClosed returns nil when its context ends, and closing a connection
// after that is no error.
func TestWaitClosedEndsWithItsContext(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ns, err := StartServer(ServerConfig{Name: "t", Listen: "127.0.0.1:-1", DataDir: t.TempDir()}, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	nc, err := Connect(ClientConfig{URL: ns.ClientURL(), Name: "c"}, logger)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := WaitClosed(ctx, logger, nc); err != nil {
		t.Errorf("WaitClosed after cancel = %v", err)
	}
	nc.Close()
}
