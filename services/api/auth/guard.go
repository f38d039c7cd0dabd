package auth

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// Options configure a Guard.
type Options struct {
	// CredentialsFile turns authentication on; "" leaves it off.
	CredentialsFile string
	// Secure marks the session cookie Secure: the api serves TLS.
	Secure bool
	// ListenAddr is the api's listen address: while it is on loopback
	// only (and authentication off), requests for other host names are
	// refused.
	ListenAddr string
	Logger     *slog.Logger
	// Register registers the guard's metrics.
	Register func(...prometheus.Collector)
	// ReadJSON reads a JSON request body of at most limit bytes into v,
	// and WriteJSON answers with v as JSON: the api's own, so that the
	// login endpoint reads, writes and fails as every other route does.
	ReadJSON  func(c echo.Context, limit int64, v any) error
	WriteJSON func(c echo.Context, status int, v any) error
}

// Guard stands in front of every route of the api (Register).
type Guard struct {
	opts Options
	// auth checks credentials (nil: authentication off); loopbackOnly is
	// set when the api listens on loopback only.
	auth         *authenticator
	loopbackOnly bool
	logger       *slog.Logger
}

// New reads the credentials file, if any: an unreadable or invalid one
// refuses everyone (and is read again when it changes).
func New(o Options) *Guard {
	g := &Guard{opts: o, logger: o.Logger, loopbackOnly: loopbackAddr(o.ListenAddr)}
	if o.CredentialsFile != "" {
		g.auth = newAuthenticator(o.CredentialsFile, o.Secure, o.Logger, o.Register)
	}
	return g
}

// Register puts the guard in front of every route and serves the login
// endpoints (login.go). Authentication is on when the options name a
// credentials file; either way, the guard refuses cross-origin writes,
// and, while the api listens on loopback only, requests for a host name
// other than a loopback one (DNS rebinding).
func (g *Guard) Register(e *echo.Echo) {
	e.Use(g.guard)
	e.Match(readMethods, loginPath, g.loginPage)
	e.POST(loginPath, g.login)
	e.POST(logoutPath, g.logout)
	e.Match(readMethods, mePath, g.whoami)
}

// readMethods are the methods of a read route.
var readMethods = []string{http.MethodGet, http.MethodHead}

// Reload reads the credentials file again now, changed or not.
func (g *Guard) Reload() {
	if g.auth != nil {
		g.auth.reload(true)
	}
}

// Paths of the login endpoints.
const (
	loginPath  = "/auth/login"
	logoutPath = "/auth/logout"
	mePath     = "/auth/me"
)

// public reports whether a request needs no credentials: the health probes
// and the login endpoints.
func public(c echo.Context) bool {
	switch c.Request().URL.Path {
	case "/ping", "/v2/ping", loginPath, logoutPath:
		return true
	}
	return false
}

// guard is the middleware in front of every route: browser checks, then
// authentication and the role's permission.
func (g *Guard) guard(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if reason := g.browserCheck(r); reason != "" {
			g.refused(reason)
			return echo.NewHTTPError(http.StatusForbidden, "Forbidden: "+reason)
		}
		if g.auth == nil || public(c) {
			return next(c)
		}
		id, err := g.auth.identify(r)
		var throttled *throttledError
		if errors.As(err, &throttled) {
			g.refused("throttled")
			return tooManyGuesses(c, throttled)
		}
		if err != nil {
			if errors.Is(err, errNoCredentials) {
				g.refused("no_credentials")
			} else {
				g.refused("bad_credentials")
			}
			return g.unauthenticated(c)
		}
		if !id.Role.allows(r.Method) {
			g.refused("role")
			g.logger.Info("request refused", "user", id.User, "role", id.Role, "method", r.Method, "path", r.URL.Path)
			return echo.NewHTTPError(http.StatusForbidden, msgNotAuthorized)
		}
		c.Set(identityKey, id)
		if readOnly(r.Method) {
			return next(c)
		}
		// An audit line for every change: who, what; never the body
		// (app definitions carry secrets in env).
		err = next(c)
		if err != nil {
			c.Error(err)
		}
		g.logger.Info("change", "user", id.User, "role", id.Role, "auth", id.Method, "method", r.Method,
			"path", r.URL.Path, "status", c.Response().Status)
		return nil
	}
}

func (g *Guard) refused(reason string) {
	if g.auth != nil {
		g.auth.failures.WithLabelValues(reason).Inc()
	}
}

// unauthenticated answers a request without valid credentials: a browser
// opening a page goes to the login form; anything else gets 401 with
// Marathon's body. The challenge is Basic for clients such as curl, and
// Bearer for a page's own scripts (Sec-Fetch-Mode or X-Requested-With):
// the browser then shows no password prompt over the UI, which sends its
// user to the login form itself.
func (g *Guard) unauthenticated(c echo.Context) error {
	r := c.Request()
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && navigation(r) {
		return c.Redirect(http.StatusFound, loginPath+"?next="+url.QueryEscape(r.URL.RequestURI()))
	}
	challenge := `Basic realm="Drover", charset="UTF-8"`
	if m := r.Header.Get("Sec-Fetch-Mode"); (m != "" && m != "navigate") || r.Header.Get("X-Requested-With") != "" {
		challenge = `Bearer realm="Drover"`
	}
	c.Response().Header().Set(echo.HeaderWWWAuthenticate, challenge)
	return echo.NewHTTPError(http.StatusUnauthorized, msgNotAuthenticated)
}

// navigation reports whether a request is a browser opening a page.
func navigation(r *http.Request) bool {
	if m := r.Header.Get("Sec-Fetch-Mode"); m != "" {
		return m == "navigate"
	}
	return strings.Contains(r.Header.Get(echo.HeaderAccept), "text/html")
}

// browserCheck names why a request must be refused before anything else,
// or returns "". A write whose Origin is another site's is a page there
// using the visitor's browser against Drover (CSRF), refused whatever the
// credentials (the UI's own requests are same-origin; curl sends no
// Origin). Without authentication on loopback, a request for a host name
// that is not a loopback one is a page that rebound its own name to
// 127.0.0.1 (DNS rebinding), refused.
func (g *Guard) browserCheck(r *http.Request) string {
	if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions {
		if o := r.Header.Get(echo.HeaderOrigin); o != "" {
			u, err := url.Parse(o)
			if err != nil || !strings.EqualFold(u.Host, r.Host) {
				return "cross-origin request"
			}
		} else if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
			return "cross-origin request"
		}
	}
	if g.auth == nil && g.loopbackOnly && !loopbackHost(r.Host) {
		return "host " + r.Host + " is not a loopback name"
	}
	return ""
}

// loopbackAddr reports whether a listen address is on loopback only.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	return loopbackHost(host)
}

// loopbackHost reports whether a host (with or without port) names loopback.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// tooManyGuesses answers a password check the brake refused: 429 with
// Retry-After, in Marathon's message shape.
func tooManyGuesses(c echo.Context, e *throttledError) error {
	c.Response().Header().Set("Retry-After", strconv.Itoa(int(e.retryAfter.Round(time.Second)/time.Second)+1))
	return echo.NewHTTPError(http.StatusTooManyRequests, msgTooManyGuesses)
}
