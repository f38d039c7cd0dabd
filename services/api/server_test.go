package api

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/drover/drover/internal/testutil"
	"github.com/drover/drover/services/api/change"
)

func TestTwoServersShareState(t *testing.T) {
	h := newHarness(t)
	other := newTestServer(t, h.js.Bus(t)) // its own connection, same JetStream

	h.createApp(testDocker)
	testutil.Eventually(t, 5*time.Second, 10*time.Millisecond, func() error {
		if rec := serve(t, other, http.MethodGet, "/v2/apps/test-docker", ""); rec.Code != http.StatusOK {
			return fmt.Errorf("other replica: %d %s", rec.Code, rec.Body.String())
		}
		return nil
	})
	// POST through the other replica: the id is taken there too.
	if rec := serve(t, other, http.MethodPost, "/v2/apps", testDocker); rec.Code != http.StatusConflict {
		t.Errorf("POST on the other replica: %d", rec.Code)
	}
	expect[change.Result](t, serve(t, other, http.MethodDelete, "/v2/apps/test-docker", ""), http.StatusOK)
	testutil.Eventually(t, 5*time.Second, 10*time.Millisecond, func() error {
		if rec := h.do(http.MethodGet, "/v2/apps/test-docker", ""); rec.Code != http.StatusNotFound {
			return fmt.Errorf("first replica still has the app: %d", rec.Code)
		}
		return nil
	})
}

func TestUnknownRoutesAndMethods(t *testing.T) {
	h := newHarness(t)
	e := expect[errorBody](t, h.do(http.MethodGet, "/v2/nothing/here", ""), http.StatusNotFound)
	if e.Message != "URI not found: /v2/nothing/here" {
		t.Errorf("message %q", e.Message)
	}
	for _, r := range []struct{ method, path string }{
		{http.MethodPut, "/v2/tasks"}, {http.MethodPost, "/v2/apps/web"}, {http.MethodDelete, "/v2/info"}, {http.MethodPost, "/ping"},
	} {
		rec := h.do(r.method, r.path, "")
		if e := expect[errorBody](t, rec, http.StatusMethodNotAllowed); e.Message != "Method Not Allowed" {
			t.Errorf("%s %s: message %q", r.method, r.path, e.Message)
		}
		if rec.Header().Get("Allow") == "" {
			t.Errorf("%s %s: no Allow header", r.method, r.path)
		}
	}
}

func TestNew(t *testing.T) {
	h := newHarness(t)
	bad := DefaultConfig()
	bad.HTTPAddr = "8080"
	if _, err := New(bad, h.bus, nil); err == nil {
		t.Error("New accepted a bad address")
	}
	if _, err := New(DefaultConfig(), nil, nil); err == nil {
		t.Error("New accepted a nil bus")
	}
	srv, err := New(DefaultConfig(), h.bus, nil) // a nil logger is allowed
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	srv.Close() // twice is fine
}

func TestRun(t *testing.T) {
	h := newHarness(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()

	cfg := DefaultConfig()
	cfg.HTTPAddr = addr
	srv, err := New(cfg, h.bus, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()

	testutil.Eventually(t, 5*time.Second, 10*time.Millisecond, func() error {
		resp, err := http.Get("http://" + addr + "/ping")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || string(body) != "pong" {
			return fmt.Errorf("ping: %d %q", resp.StatusCode, body)
		}
		return nil
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if _, err := http.Get("http://" + addr + "/ping"); err == nil {
		t.Error("still serving after shutdown")
	}
}

func TestRunListenError(t *testing.T) {
	h := newHarness(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := DefaultConfig()
	cfg.HTTPAddr = ln.Addr().String() // taken
	srv, err := New(cfg, h.bus, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Run(t.Context()); err == nil {
		t.Error("Run on a taken address returned nil")
	}
}
