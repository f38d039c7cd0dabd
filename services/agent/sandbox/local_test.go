package sandbox

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/drover/drover/pkg/marathon"
)

func TestIsLocal(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1": true, "127.1.2.3": true, "::1": true, "169.254.169.254": true, "169.254.0.1": true,
		"fe80::1": true, "0.0.0.0": true, "::": true, "::ffff:127.0.0.1": true, "::ffff:169.254.169.254": true,
		"10.0.0.1": false, "192.0.2.2": false, "172.17.0.1": false, "8.8.8.8": false, "2001:db8::1": false, "fd00::1": false,
	} {
		if got := isLocal(netip.MustParseAddr(addr)); got != want {
			t.Errorf("isLocal(%s) = %v, want %v", addr, got, want)
		}
	}
}

// hostAddr is one of this host's addresses that is not loopback nor
// link-local, for a server a fetch may reach.
func hostAddr(t *testing.T) string {
	t.Helper()
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() && !isLocal(p.Addr()) {
			return p.Addr().String()
		}
	}
	t.Skip("this host has no address but loopback and link-local ones")
	return ""
}

// serveOn serves h on ip, a port of its own.
func serveOn(t *testing.T, ip string, h http.Handler) string {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: h}}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestRefuseLocalClient: with RefuseLocalClient, a fetch from the host's
// loopback (by address or by name), a link-local address (the cloud
// metadata service's) or 0.0.0.0 fails, saying why and what allows it; so
// does a redirect there, before it is followed, and nothing is fetched; a
// server on another address is fetched from. Fetch, whose client is the
// default one, still reaches the loopback.
func TestRefuseLocalClient(t *testing.T) {
	secret := serveOn(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the local server was reached: %s", r.URL)
		_, _ = w.Write([]byte("secret"))
	}))
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(secret, "http://"))
	fetch := func(uri string) (string, error) {
		t.Helper()
		dir := t.TempDir()
		err := FetchWith(t.Context(), dir, []marathon.FetchURI{{URI: uri, OutputFile: "out"}}, DefaultFetchLimits(), RefuseLocalClient(), slog.New(slog.DiscardHandler))
		if left, _ := os.ReadDir(dir); len(left) > 0 && err != nil {
			t.Errorf("%s: left %v in the sandbox", uri, left)
		}
		return dir, err
	}
	const refused = "the agent refuses loopback and link-local addresses for Docker apps (--fetch-allow-local)"
	for uri, want := range map[string]string{
		secret + "/x":                              "fetch " + secret + "/x: " + refused,
		"http://localhost:" + port + "/x":          "fetch http://localhost:" + port + "/x: 127.0.0.1:" + port + ": " + refused,
		"http://169.254.169.254/latest/meta-data/": "fetch http://169.254.169.254/latest/meta-data/: " + refused,
		"http://0.0.0.0:" + port + "/x":            "fetch http://0.0.0.0:" + port + "/x: " + refused,
		"http://[::ffff:127.0.0.1]:" + port + "/x": "fetch http://[::ffff:127.0.0.1]:" + port + "/x: " + refused,
	} {
		_, err := fetch(uri)
		if err == nil || !errors.Is(err, ErrLocalRefused) || !errors.Is(err, ErrFetch) || (err.Error() != want && !strings.HasPrefix(uri, "http://localhost")) {
			t.Errorf("fetch %s: %v, want %q", uri, err, want)
		}
		if err != nil && !strings.HasSuffix(err.Error(), refused) {
			t.Errorf("fetch %s: %v, want it to end %q", uri, err, refused)
		}
	}

	ip := hostAddr(t)
	other := serveOn(t, ip, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/redirect":
			http.Redirect(w, r, secret+"/x", http.StatusFound)
		case "/redirect-by-name":
			http.Redirect(w, r, "http://localhost:"+port+"/x", http.StatusFound)
		default:
			_, _ = w.Write([]byte("public"))
		}
	}))
	if _, err := fetch(other + "/redirect"); err == nil || err.Error() != "fetch "+other+"/redirect: redirected to "+secret+"/x: "+refused {
		t.Errorf("a redirect to the loopback: %v", err)
	}
	if _, err := fetch(other + "/redirect-by-name"); err == nil || !errors.Is(err, ErrLocalRefused) ||
		!strings.Contains(err.Error(), "redirected to http://localhost:"+port+"/x: localhost is 127.0.0.1: ") {
		t.Errorf("a redirect to localhost: %v", err)
	}
	dir, err := fetch(other + "/public")
	if err != nil || readFile(t, filepath.Join(dir, "out")) != "public" {
		t.Errorf("a server on %s: %v", ip, err)
	}

	// Without it, the loopback is reached.
	plain := sandboxServe(t)
	dir, err = fetchInto(t, marathon.FetchURI{URI: plain + "/x", OutputFile: "out"})
	if err != nil || readFile(t, filepath.Join(dir, "out")) != "ok" {
		t.Errorf("Fetch from the loopback: %v", err)
	}
}

func sandboxServe(t *testing.T) string {
	return serveOn(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
}

// TestRefuseLocalClientProxy: a proxy on the loopback, the operator's
// choice, is used; a request through it to a loopback or link-local
// target is refused before it is sent.
func TestRefuseLocalClientProxy(t *testing.T) {
	var proxied []string
	var mu sync.Mutex
	proxy := serveOn(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		proxied = append(proxied, r.URL.String())
		mu.Unlock()
		_, _ = w.Write([]byte("via the proxy"))
	}))
	pu, err := url.Parse(proxy)
	if err != nil {
		t.Fatal(err)
	}
	hc := refuseLocalClient(func(*http.Request) (*url.URL, error) { return pu, nil })
	fetch := func(uri string) (string, error) {
		dir := t.TempDir()
		return dir, FetchWith(t.Context(), dir, []marathon.FetchURI{{URI: uri, OutputFile: "out"}}, DefaultFetchLimits(), hc, slog.New(slog.DiscardHandler))
	}
	dir, err := fetch("http://public.invalid/conf")
	if err != nil || readFile(t, filepath.Join(dir, "out")) != "via the proxy" {
		t.Fatalf("through a proxy on the loopback: %v", err)
	}
	for _, uri := range []string{"http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:8222/varz", "http://localhost:8222/varz"} {
		if _, err := fetch(uri); !errors.Is(err, ErrLocalRefused) {
			t.Errorf("%s through the proxy: %v, want it refused", uri, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(proxied, []string{"http://public.invalid/conf"}) {
		t.Errorf("the proxy was sent %v", proxied)
	}
}
