package chaos

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

type mode int

const (
	modeNormal mode = iota
	modeStall
	modeRefuse
)

var errRefused = errors.New("chaos: proxy refuses connections")

// DockerProxy is an HTTP proxy on a Unix socket in front of a Docker daemon,
// whose service a test degrades on purpose: answers late (SetDelay), never
// (Stall) or connections refused (Refuse). It is an httputil.ReverseProxy
// flushing every write, so event and log streams and hijacked (attach, exec)
// connections pass through it.
type DockerProxy struct {
	tb        testing.TB
	path      string
	transport *http.Transport
	rp        *httputil.ReverseProxy
	handlers  sync.WaitGroup
	serving   sync.WaitGroup

	mu       sync.Mutex
	mode     mode
	delay    time.Duration
	delayFor func(*http.Request) bool
	changed  chan struct{} // closed and replaced on every change of mode
	ln       *trackingListener
	conns    map[*trackedConn]struct{}
	closed   bool
}

// StartDockerProxy starts a proxy to upstream ("unix:///path" or a path; ""
// is DOCKER_HOST's unix socket or /var/run/docker.sock) in normal mode,
// closed when the test ends.
func StartDockerProxy(t testing.TB, upstream string) *DockerProxy {
	t.Helper()
	up := upstreamPath(upstream)
	if up == "" {
		t.Fatalf("chaos: upstream %q is not a unix socket", upstream)
	}
	path := filepath.Join(t.TempDir(), "docker.sock")
	if len(path) > 100 { // sun_path holds 108 bytes
		dir, err := os.MkdirTemp("", "chaos-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.RemoveAll(dir) })
		path = filepath.Join(dir, "docker.sock")
	}
	p := &DockerProxy{tb: t, path: path, changed: make(chan struct{}), conns: map[*trackedConn]struct{}{}}
	p.transport = &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", up)
		},
		DisableCompression: true,
		IdleConnTimeout:    30 * time.Second,
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = "docker"
			pr.Out.Host = pr.In.Host
		},
		Transport:      p.transport,
		FlushInterval:  -1,
		ModifyResponse: p.modifyResponse,
		ErrorLog:       log.New(io.Discard, "", 0),
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, "chaos proxy: "+err.Error())
		},
	}
	p.mu.Lock()
	err := p.listenLocked()
	p.mu.Unlock()
	if err != nil {
		t.Fatalf("chaos: listen %s: %v", path, err)
	}
	t.Cleanup(p.Close)
	return p
}

func upstreamPath(upstream string) string {
	if upstream == "" {
		upstream = os.Getenv("DOCKER_HOST")
	}
	if upstream == "" {
		return "/var/run/docker.sock"
	}
	if strings.HasPrefix(upstream, "unix://") {
		return strings.TrimPrefix(upstream, "unix://")
	}
	if strings.Contains(upstream, "://") {
		return ""
	}
	return upstream
}

// Host is the proxy's address as a Docker client host or DOCKER_HOST.
func (p *DockerProxy) Host() string { return "unix://" + p.path }

// SetDelay delays the answer (status and headers) to every request by d; the
// daemon gets the request at once. Streams flow freely after the delay.
// It leaves Stall and Refuse as they are; Normal clears it.
func (p *DockerProxy) SetDelay(d time.Duration) { p.SetDelayFor(nil, d) }

// SetDelayFor is SetDelay for the requests match is true for (nil is all).
func (p *DockerProxy) SetDelayFor(match func(*http.Request) bool, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay, p.delayFor = d, match
	p.changeLocked()
}

// Stall holds every request (it is accepted, never sent on and never
// answered) and every open stream until the mode changes or the request's
// context ends.
func (p *DockerProxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		if err := p.listenLocked(); err != nil {
			p.tb.Errorf("chaos: listen %s: %v", p.path, err)
			return
		}
	}
	p.mode = modeStall
	p.changeLocked()
}

// Refuse closes the listening socket (its path is removed, so a client's
// dial fails with ENOENT) and every open connection.
func (p *DockerProxy) Refuse() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.shutLocked()
	p.mode = modeRefuse
	p.changeLocked()
}

// ShutDown closes the listening socket (its path is removed, so a new
// dial fails with ENOENT) and serves the connections already open, as a
// Docker daemon does from SIGTERM until it exits: it stops its containers
// first, for up to their stop timeouts.
func (p *DockerProxy) ShutDown() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closeListenerLocked()
	p.changeLocked()
}

// Normal restores plain service: it listens again on the same path when
// refusing or shut down, ends a stall and clears the delay.
func (p *DockerProxy) Normal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		if err := p.listenLocked(); err != nil {
			p.tb.Errorf("chaos: listen %s: %v", p.path, err)
			return
		}
	}
	p.mode, p.delay, p.delayFor = modeNormal, 0, nil
	p.changeLocked()
}

// Close stops the proxy and closes its connections; the test's cleanup calls it.
func (p *DockerProxy) Close() {
	p.mu.Lock()
	p.closed = true
	p.shutLocked()
	p.mode = modeRefuse
	p.changeLocked()
	p.mu.Unlock()
	p.serving.Wait()
	p.handlers.Wait()
	p.transport.CloseIdleConnections()
}

func (p *DockerProxy) changeLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *DockerProxy) listenLocked() error {
	if p.closed {
		return errRefused
	}
	_ = os.Remove(p.path)
	ln, err := net.Listen("unix", p.path)
	if err != nil {
		return err
	}
	p.ln = &trackingListener{Listener: ln, p: p}
	srv := &http.Server{Handler: p, ErrorLog: log.New(io.Discard, "", 0)}
	p.serving.Add(1)
	go func(l net.Listener) {
		defer p.serving.Done()
		_ = srv.Serve(l)
	}(p.ln)
	return nil
}

// shutLocked closes the listener (which unlinks the socket) and every connection.
func (p *DockerProxy) shutLocked() {
	p.closeListenerLocked()
	for c := range p.conns {
		_ = c.Conn.Close()
		delete(p.conns, c)
	}
}

func (p *DockerProxy) closeListenerLocked() {
	if p.ln != nil {
		p.ln.closed = true
		_ = p.ln.Listener.Close()
		p.ln = nil
	}
}

// hold waits while the proxy stalls; it fails when it refuses or ctx ends.
func (p *DockerProxy) hold(ctx context.Context) error {
	for {
		p.mu.Lock()
		m, ch := p.mode, p.changed
		p.mu.Unlock()
		switch m {
		case modeNormal:
			return nil
		case modeRefuse:
			return errRefused
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (p *DockerProxy) delayOf(r *http.Request) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.delayFor != nil && !p.delayFor(r) {
		return 0
	}
	return p.delay
}

// ServeHTTP holds the request while stalled, then proxies it.
func (p *DockerProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.handlers.Add(1)
	defer p.handlers.Done()
	if err := p.hold(r.Context()); err != nil {
		panic(http.ErrAbortHandler) // drops the connection, unlogged
	}
	p.rp.ServeHTTP(w, r)
}

// modifyResponse delays the answer, holds it while stalled, and makes its
// body (a stream, or a hijacked connection's daemon side) obey Stall.
func (p *DockerProxy) modifyResponse(resp *http.Response) error {
	ctx := resp.Request.Context()
	if d := p.delayOf(resp.Request); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
	if err := p.hold(ctx); err != nil {
		return err
	}
	hb := &heldBody{ReadCloser: resp.Body, p: p, ctx: ctx}
	if rwc, ok := resp.Body.(io.ReadWriteCloser); ok {
		resp.Body = &heldConn{heldBody: hb, w: rwc}
	} else {
		resp.Body = hb
	}
	return nil
}
