package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"syscall"
	"time"
)

// ErrLocalRefused is wrapped by the error of a fetch that RefuseLocalClient
// refused.
var ErrLocalRefused = errors.New("the agent refuses loopback and link-local addresses for Docker apps (--fetch-allow-local)")

// localRefused names the address refused, and the redirect that led there.
type localRefused struct {
	addr     string // host:port, or an address a name resolved to
	redirect string // the redirect's URL, redacted, if one led there
}

func (e *localRefused) Error() string {
	s := ErrLocalRefused.Error()
	if e.addr != "" {
		s = e.addr + ": " + s
	}
	if e.redirect != "" {
		s = "redirected to " + e.redirect + ": " + s
	}
	return s
}

func (e *localRefused) Unwrap() error { return ErrLocalRefused }

// isLocal: a loopback (127.0.0.0/8, ::1), link-local (169.254.0.0/16,
// fe80::/10, the cloud metadata services' 169.254.169.254 among them) or
// unspecified address (0.0.0.0 and :: reach the host's own on Linux), an
// IPv4 address mapped into IPv6 judged as itself.
func isLocal(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsUnspecified()
}

// RefuseLocalClient is an HTTP client for the fetches of apps that must not
// reach the agent host's own services through it: a Docker app's, whose
// fetch runs as the agent (root), in the host's network namespace, the
// result readable by the app. It refuses to connect to a loopback or
// link-local address (isLocal): its dialer judges each address it is
// about to connect to, after resolution, so that a name resolving there
// (localhost, or a name an attacker points there) is refused too; a
// redirect to such a host is refused before it is followed. A proxy from
// the environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY) is honoured, and
// may be on the loopback: the agent's operator chose it (its address is
// dialed unjudged, even by a request sent to it directly, which NO_PROXY
// allows); the target of a request sent through it is judged by what its
// name resolves to here. Errors wrap ErrLocalRefused.
func RefuseLocalClient() *http.Client { return refuseLocalClient(http.ProxyFromEnvironment) }

// refuseLocalClient is RefuseLocalClient with its proxies chosen by proxy.
func refuseLocalClient(proxy func(*http.Request) (*url.URL, error)) *http.Client {
	var proxies sync.Map // host:port of the proxies requests were sent through
	guarded := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			if ap, err := netip.ParseAddrPort(address); err == nil && isLocal(ap.Addr()) {
				return &localRefused{addr: address}
			}
			return nil
		}}
	plain := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = func(req *http.Request) (*url.URL, error) {
		pu, err := proxy(req)
		if pu == nil || err != nil {
			return pu, err
		}
		if err := checkHost(req.Context(), req.URL.Hostname()); err != nil {
			return nil, err
		}
		proxies.Store(proxyAddr(pu), true)
		return pu, nil
	}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if _, ok := proxies.Load(addr); ok {
			return plain.DialContext(ctx, network, addr)
		}
		return guarded.DialContext(ctx, network, addr)
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 10 {
				return errors.New("stopped after 10 redirects")
			}
			if err := checkHost(req.Context(), req.URL.Hostname()); err != nil {
				var lr *localRefused
				if errors.As(err, &lr) {
					lr.redirect = req.URL.Redacted()
				}
				return err
			}
			return nil
		},
	}
}

// checkHost refuses a host that is, or resolves to, a local address. A
// name that does not resolve is let through: the request fails on its own.
func checkHost(ctx context.Context, host string) error {
	if a, err := netip.ParseAddr(host); err == nil {
		if isLocal(a) {
			return &localRefused{}
		}
		return nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil
	}
	for _, a := range addrs {
		if isLocal(a) {
			return &localRefused{addr: fmt.Sprintf("%s is %s", host, a.Unmap())}
		}
	}
	return nil
}

// proxyAddr is the host:port the transport dials for a proxy.
func proxyAddr(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443", "socks5": "1080", "socks5h": "1080"}[u.Scheme]
	}
	return net.JoinHostPort(u.Hostname(), port)
}
