package agent

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drover/drover/pkg/marathon"
)

// fakeExec is an Execer answering with res and err.
type fakeExec struct {
	res  ExecResult
	err  error
	cmds [][]string
}

func (f *fakeExec) Exec(_ context.Context, _ string, cmd []string) (ExecResult, error) {
	f.cmds = append(f.cmds, cmd)
	return f.res, f.err
}

func hostOf(t *testing.T, url string) string {
	t.Helper()
	_, host, ok := strings.Cut(url, "://")
	if !ok {
		t.Fatalf("url %q", url)
	}
	return host
}

func TestHTTPVerdict(t *testing.T) {
	cases := []struct {
		code      int
		ignore1xx bool
		want      outcome
	}{
		{200, false, passed}, {204, false, passed}, {302, false, passed}, {399, false, passed},
		{400, false, failed}, {404, false, failed}, {500, false, failed}, {503, true, failed},
		{100, false, failed}, {101, false, failed}, {199, false, failed},
		{100, true, ignored}, {101, true, ignored}, {199, true, ignored},
	}
	for _, c := range cases {
		if got := httpVerdict(c.code, c.ignore1xx); got.outcome != c.want {
			t.Errorf("httpVerdict(%d, %v) = %+v, want outcome %d", c.code, c.ignore1xx, got, c.want)
		}
	}
}

func TestProbeHTTP(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) {})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/gone", http.StatusFound) })
	mux.HandleFunc("/gone", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusGone) })
	mux.HandleFunc("/broken", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	mux.HandleFunc("/switch", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusSwitchingProtocols) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tls := httptest.NewTLSServer(mux) // a self-signed certificate
	defer tls.Close()

	p := newProber(nil)
	defer p.close()
	cases := []struct {
		name      string
		protocol  string
		addr      string
		path      string
		ignore1xx bool
		want      outcome
		cause     string
	}{
		{"200", "HTTP", hostOf(t, srv.URL), "/ok", false, passed, ""},
		{"path without slash", "MESOS_HTTP", hostOf(t, srv.URL), "ok", false, passed, ""},
		{"redirect not followed", "HTTP", hostOf(t, srv.URL), "/moved", false, passed, ""},
		{"500", "HTTP", hostOf(t, srv.URL), "/broken", false, failed, "HTTP status 500"},
		{"1xx counts", "HTTP", hostOf(t, srv.URL), "/switch", false, failed, "HTTP status 101"},
		{"1xx ignored", "HTTP", hostOf(t, srv.URL), "/switch", true, ignored, ""},
		{"timeout", "HTTP", hostOf(t, srv.URL), "/slow", false, failed, "timed out after 100ms"},
		{"https unverified", "HTTPS", hostOf(t, tls.URL), "/ok", false, passed, ""},
		{"mesos https", "MESOS_HTTPS", hostOf(t, tls.URL), "/broken", false, failed, "HTTP status 500"},
		{"http to https port", "HTTP", hostOf(t, tls.URL), "/ok", false, failed, "HTTP status 400"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hc := marathon.HealthCheck{Protocol: c.protocol, Path: c.path, IgnoreHTTP1xx: c.ignore1xx}
			start := time.Now()
			got := p.health(t.Context(), hc, "t1", c.addr, 100*time.Millisecond)
			if got.outcome != c.want || !strings.Contains(got.cause, c.cause) {
				t.Fatalf("probe = %+v, want outcome %d cause %q", got, c.want, c.cause)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("probe took %s", d)
			}
		})
	}
}

func TestProbeTCP(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	open := l.Addr().String()
	p := newProber(nil)
	if got := p.health(t.Context(), marathon.HealthCheck{Protocol: "TCP"}, "t1", open, time.Second); got.outcome != passed {
		t.Fatalf("open port: %+v", got)
	}
	l.Close()
	if got := p.health(t.Context(), marathon.HealthCheck{Protocol: "MESOS_TCP"}, "t1", open, time.Second); got.outcome != failed ||
		!strings.Contains(got.cause, "refused") {
		t.Fatalf("closed port: %+v", got)
	}
}

func TestProbeCommand(t *testing.T) {
	hc := marathon.HealthCheck{Protocol: "COMMAND", Command: []byte(`{"value":"test -f /ready"}`)}
	ex := &fakeExec{}
	p := newProber(ex)
	if got := p.health(t.Context(), hc, "t1", "", time.Second); got.outcome != passed {
		t.Fatalf("exit 0: %+v", got)
	}
	if len(ex.cmds) != 1 || strings.Join(ex.cmds[0], " ") != "/bin/sh -c test -f /ready" {
		t.Fatalf("ran %q", ex.cmds)
	}
	ex.res = ExecResult{ExitCode: 1, Output: "no such file\n"}
	if got := p.health(t.Context(), hc, "t1", "", time.Second); got.outcome != failed || got.cause != "exit code 1: no such file" {
		t.Fatalf("exit 1: %+v", got)
	}
	ex.err = errors.New("container stopped")
	if got := p.health(t.Context(), hc, "t1", "", time.Second); got.outcome != failed || got.cause != "container stopped" {
		t.Fatalf("exec error: %+v", got)
	}
	if got := newProber(nil).health(t.Context(), hc, "t1", "", time.Second); got.outcome != failed || got.cause != ErrNoExec.Error() {
		t.Fatalf("no execer: %+v", got)
	}
	hc.Command = nil
	if got := p.health(t.Context(), hc, "t1", "", time.Second); got.outcome != failed {
		t.Fatalf("no command: %+v", got)
	}
}

func TestProbeReadiness(t *testing.T) {
	var code atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(int(code.Load())) }))
	defer srv.Close()
	p := newProber(nil)
	rc := marathon.ReadinessCheck{Protocol: "HTTP", Path: "/ready", HTTPStatusCodesForReady: []int{200, 204}}
	for c, want := range map[int]outcome{200: passed, 204: passed, 302: failed, 503: failed} {
		code.Store(int32(c))
		if got := p.ready(t.Context(), rc, hostOf(t, srv.URL), time.Second); got.outcome != want {
			t.Errorf("status %d: %+v, want outcome %d", c, got, want)
		}
	}
}
