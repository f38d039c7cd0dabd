package docker

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestPingsDialAfresh: pings never reuse a connection (a daemon shutting
// down serves the ones it has); other calls do.
func TestPingsDialAfresh(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "d.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var conns atomic.Int32
	srv := &http.Server{
		Handler:   http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("OK")) }),
		ConnState: func(_ net.Conn, s http.ConnState) { conns.Add(map[bool]int32{true: 1}[s == http.StateNew]) },
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	base := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}
	hc := &http.Client{Transport: newLimitedTransport(base, base, 2)}
	t.Cleanup(hc.CloseIdleConnections)
	get := func(path string) {
		t.Helper()
		resp, err := hc.Get("http://docker" + path)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	for range 3 {
		get("/v1.41/containers/json")
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("3 listings took %d connections, want 1 (pooled)", n)
	}
	for range 3 {
		get("/v1.41/_ping")
	}
	if n := conns.Load(); n != 4 {
		t.Fatalf("3 pings took %d more connections, want 3 (one each)", n-1)
	}
}

// TestDialPatiently: a full listen backlog (EAGAIN) is dialed again until
// the context ends, and then it is the context's error (no answer in time),
// never a failed connection; other errors come back at once.
func TestDialPatiently(t *testing.T) {
	eagain := &net.OpError{Op: "dial", Net: "unix", Err: os.NewSyscallError("connect", syscall.EAGAIN)}
	refused := &net.OpError{Op: "dial", Net: "unix", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	ok := &net.UnixConn{}
	for _, tc := range []struct {
		name    string
		results []error // one a dial, the last repeated; nil is a connection
		want    error
		dials   int // at least
	}{
		{"accepted", []error{nil}, nil, 1},
		{"backlog full, then accepted", []error{eagain, eagain, nil}, nil, 3},
		{"backlog full throughout", []error{eagain}, context.DeadlineExceeded, 3},
		{"refused", []error{refused}, syscall.ECONNREFUSED, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var dials int
			dial := dialPatiently(func(context.Context, string, string) (net.Conn, error) {
				err := tc.results[min(dials, len(tc.results)-1)]
				dials++
				if err != nil {
					return nil, err
				}
				return ok, nil
			})
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			defer cancel()
			conn, err := dial(ctx, "unix", "/nowhere")
			switch {
			case tc.want == nil && (err != nil || conn != ok):
				t.Fatalf("dial = %v, %v; want the connection", conn, err)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("dial error %v, want %v", err, tc.want)
			case dials < tc.dials:
				t.Fatalf("%d dials, want at least %d", dials, tc.dials)
			}
			if tc.want == syscall.ECONNREFUSED && dials != 1 {
				t.Fatalf("a refusal was dialed %d times, want once", dials)
			}
		})
	}
}
