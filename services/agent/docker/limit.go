package docker

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// limitedTransport bounds the runtime's Docker calls in flight, so a slow
// daemon is not handed more work the slower it gets. A call waits for a
// slot while its context lives. Pings (the judge's liveness probe, and
// cheap for the daemon) and the events stream (open for the runtime's
// life) skip the bound. A slot is held until the daemon's answer begins:
// for create, start, stop, remove and inspect that is when the work is done.
//
// Pings dial a connection of their own every time. A daemon that is
// shutting down (SIGTERM) removes its socket at once but serves the
// connections it has until it exits, after stopping its containers (their
// stop timeouts, up to its 15 s shutdown timeout): a ping on a pooled
// connection would answer all along, and the daemon's going would be
// found only when it is gone. A fresh dial finds the socket gone in the
// same moment.
type limitedTransport struct {
	base  http.RoundTripper
	ping  http.RoundTripper
	slots chan struct{}
}

// newLimitedTransport bounds base. raw is the transport base sends on, when
// the runtime made it (nil, or one never set up for a daemon, when the
// client made its own: pings then share base's connections).
func newLimitedTransport(base http.RoundTripper, raw *http.Transport, n int) *limitedTransport {
	t := &limitedTransport{base: base, ping: base, slots: make(chan struct{}, n)}
	if raw != nil && raw.DialContext != nil {
		raw.DialContext = dialPatiently(raw.DialContext)
		fresh := raw.Clone()
		fresh.DisableKeepAlives = true
		t.ping = fresh
	}
	return t
}

func (t *limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	switch {
	case strings.HasSuffix(req.URL.Path, "/_ping"):
		return t.ping.RoundTrip(req)
	case strings.HasSuffix(req.URL.Path, "/events"):
		return t.base.RoundTrip(req)
	}
	select {
	case t.slots <- struct{}{}:
	case <-req.Context().Done():
		return nil, req.Context().Err()
	}
	defer func() { <-t.slots }()
	return t.base.RoundTrip(req)
}

// dialRetryEvery is how soon a dial the daemon's full listen backlog
// turned away is tried again.
const dialRetryEvery = 20 * time.Millisecond

// dialPatiently wraps a dialer so that a daemon too busy to accept (its
// Unix socket's listen backlog full: EAGAIN) is dialed again until the
// context ends. The Docker client reports every failed Unix dial as "cannot
// connect", which the judge takes for a daemon that is gone; a full backlog
// is a daemon that is there and slow, and shows as such: as a call with no
// answer in its time.
func dialPatiently(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		for {
			conn, err := dial(ctx, network, addr)
			if err == nil || !errors.Is(err, syscall.EAGAIN) {
				return conn, err
			}
			t := time.NewTimer(dialRetryEvery)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			}
		}
	}
}
