package api

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"
)

// Identity is who made a request, once authenticated. Handlers find it
// with IdentityOf.
type Identity struct {
	User string `json:"user"`
	Role Role   `json:"role"`
	// Method is how the request was authenticated: basic, token, session,
	// or none (authentication is off).
	Method string `json:"method"`
}

const identityKey = "drover.identity"

// IdentityOf is the request's identity; with authentication off, an
// anonymous operator.
func IdentityOf(c echo.Context) Identity {
	if id, ok := c.Get(identityKey).(Identity); ok {
		return id
	}
	return Identity{User: "anonymous", Role: RoleOperator, Method: "none"}
}

// Authentication errors, answered 401 (or 403 for errForbidden and the
// browser checks).
var (
	errNoCredentials  = errors.New("no credentials")
	errBadCredentials = errors.New("wrong user, password, token or session")
)

// Marathon's words for the two refusals (its auth plugins answer so).
const (
	msgNotAuthenticated = "Not Authenticated"
	msgNotAuthorized    = "Not Authorized to perform this action"
)

// SessionCookie is the login cookie's name.
const SessionCookie = "drover_session"

// authenticator checks requests against the credentials file, which it
// reads again when it changes (checked at most every reloadEvery).
type authenticator struct {
	path   string
	secure bool // cookies only over TLS
	logger *slog.Logger

	creds      atomic.Pointer[credentials]
	mu         sync.Mutex // guards what follows
	checked    time.Time
	modTime    time.Time
	size       int64
	ownSecret  []byte // when the file has no sessionSecret
	verified   map[[32]byte]time.Time
	inflight   map[[32]byte]*verifyCall
	bcryptSlot chan struct{}
	bcrypts    atomic.Int64 // computations made, for tests
	failures   *prometheus.CounterVec
	brake      *brake // on password guessing: auth_brake.go
}

const (
	reloadEvery  = 2 * time.Second
	verifiedTTL  = 10 * time.Minute
	verifiedMax  = 4096
	cookieMaxLen = 1024
)

type verifyCall struct {
	done chan struct{}
	ok   bool
}

func newAuthenticator(path string, secure bool, s *Server) *authenticator {
	a := &authenticator{
		path: path, secure: secure, logger: s.logger,
		verified:   map[[32]byte]time.Time{},
		inflight:   map[[32]byte]*verifyCall{},
		bcryptSlot: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2)),
		brake:      newBrake(s.logger),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "drover", Subsystem: "api", Name: "auth_refusals_total",
			Help: "Requests refused by authentication or authorization, by reason.",
		}, []string{"reason"}),
	}
	a.ownSecret = make([]byte, 32)
	_, _ = rand.Read(a.ownSecret)
	s.metrics.register(a.failures)
	// An empty set refuses everyone until the file reads well: fail closed.
	a.creds.Store(&credentials{users: map[string]*user{}, tokens: map[string]*user{}, sessionTTL: time.Hour})
	a.reload(true)
	return a
}

// reload reads the file again if it changed (or when forced).
func (a *authenticator) reload(force bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now()
	if !force && now.Sub(a.checked) < reloadEvery {
		return
	}
	a.checked = now
	st, err := os.Stat(a.path)
	if err != nil {
		a.logger.Error("credentials file unreadable; keeping the users read before", "file", a.path, "error", err)
		return
	}
	if !force && st.ModTime().Equal(a.modTime) && st.Size() == a.size {
		return
	}
	creds, err := LoadCredentials(a.path)
	if err != nil {
		a.logger.Error("credentials file invalid; keeping the users read before", "error", err)
		return
	}
	a.modTime, a.size = st.ModTime(), st.Size()
	shared := creds.secret != nil
	if !shared {
		creds.secret = a.ownSecret
	}
	a.creds.Store(creds)
	clear(a.verified)
	a.logger.Info("credentials loaded", "file", a.path, "users", len(creds.users), "tokens", len(creds.tokens),
		"sessions_shared_by_replicas", shared)
}

// identify authenticates a request by its Authorization header or its
// login cookie.
func (a *authenticator) identify(r *http.Request) (Identity, error) {
	a.reload(false)
	creds := a.creds.Load()
	if h := r.Header.Get(echo.HeaderAuthorization); h != "" {
		scheme, rest, _ := strings.Cut(h, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToLower(scheme) {
		case "basic":
			name, password, ok := r.BasicAuth()
			if !ok {
				return Identity{}, errBadCredentials
			}
			u, err := a.checkPasswordFrom(creds, name, password, sourceOf(r.RemoteAddr))
			if err != nil {
				return Identity{}, err
			}
			return Identity{User: u.name, Role: u.role, Method: "basic"}, nil
		case "bearer", "token":
			if u := creds.tokens[HashToken(rest)]; u != nil && rest != "" {
				return Identity{User: u.name, Role: u.role, Method: "token"}, nil
			}
			return Identity{}, errBadCredentials
		}
		return Identity{}, errBadCredentials
	}
	if ck, err := r.Cookie(SessionCookie); err == nil {
		u := a.checkSession(creds, ck.Value, time.Now())
		if u == nil {
			return Identity{}, errBadCredentials
		}
		return Identity{User: u.name, Role: u.role, Method: "session"}, nil
	}
	return Identity{}, errNoCredentials
}

// throttledError is a password check refused by the brake on guessing.
type throttledError struct{ retryAfter time.Duration }

func (e *throttledError) Error() string { return msgTooManyGuesses }

// checkPasswordFrom is checkPassword behind the brake on guessing: a
// password that succeeded lately passes; else, while the user or the
// source has failed too often, a *throttledError; a failure is counted.
func (a *authenticator) checkPasswordFrom(creds *credentials, name, password, source string) (*user, error) {
	if u := a.recentlyVerified(creds, name, password); u != nil {
		return u, nil
	}
	if w := a.brake.wait(name, source); w > 0 {
		return nil, &throttledError{retryAfter: w}
	}
	u := a.checkPassword(creds, name, password)
	if u == nil {
		a.brake.fail(name, source)
		return nil, errBadCredentials
	}
	return u, nil
}

// recentlyVerified is the user whose password this is, if it succeeded
// within verifiedTTL; else nil.
func (a *authenticator) recentlyVerified(creds *credentials, name, password string) *user {
	u := creds.users[name]
	if u == nil || u.password == nil {
		return nil
	}
	key := sha256.Sum256([]byte(name + "\x00" + password + "\x00" + string(u.password)))
	a.mu.Lock()
	defer a.mu.Unlock()
	if t, ok := a.verified[key]; ok && time.Since(t) < verifiedTTL {
		return u
	}
	return nil
}

// checkPassword verifies a user's password. bcrypt is slow by design, so
// a success is remembered for a while (by a hash of name, password and
// stored hash), concurrent checks of the same credentials wait for one
// computation, and at most half the CPUs compute at once: a flood of
// guesses cannot take every core.
func (a *authenticator) checkPassword(creds *credentials, name, password string) *user {
	u := creds.users[name]
	if u == nil || u.password == nil {
		// Spend the time a real check would, so that timing tells no names.
		a.bcrypt(dummyHash, password)
		return nil
	}
	key := sha256.Sum256([]byte(name + "\x00" + password + "\x00" + string(u.password)))
	now := time.Now()
	a.mu.Lock()
	if t, ok := a.verified[key]; ok && now.Sub(t) < verifiedTTL {
		a.mu.Unlock()
		return u
	}
	if call, ok := a.inflight[key]; ok {
		a.mu.Unlock()
		<-call.done
		if call.ok {
			return u
		}
		return nil
	}
	call := &verifyCall{done: make(chan struct{})}
	a.inflight[key] = call
	a.mu.Unlock()

	call.ok = a.bcrypt(u.password, password)

	a.mu.Lock()
	delete(a.inflight, key)
	if call.ok {
		if len(a.verified) >= verifiedMax {
			clear(a.verified)
		}
		a.verified[key] = now
	}
	a.mu.Unlock()
	close(call.done)
	if call.ok {
		return u
	}
	return nil
}

func (a *authenticator) bcrypt(hash []byte, password string) bool {
	a.bcryptSlot <- struct{}{}
	defer func() { <-a.bcryptSlot }()
	a.bcrypts.Add(1)
	return bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil
}

// dummyHash is a bcrypt hash of nothing anyone types, at the default cost.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("drover: no such user"), bcrypt.DefaultCost)

// session is a login cookie's content: signed, not secret.
type session struct {
	User    string `json:"u"`
	Stamp   string `json:"s"` // the user's stamp at login
	Expires int64  `json:"e"` // unix seconds
}

// newSession makes a login cookie's value: base64(JSON).base64(HMAC).
func (a *authenticator) newSession(creds *credentials, u *user, now time.Time) (string, time.Time) {
	exp := now.Add(creds.sessionTTL)
	body, _ := json.Marshal(session{User: u.name, Stamp: u.stamp, Expires: exp.Unix()})
	payload := base64.RawURLEncoding.EncodeToString(body)
	return payload + "." + sign(creds.secret, payload), exp
}

func sign(secret []byte, payload string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("drover-session\x00" + payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkSession returns the user of a valid, unexpired cookie whose role and
// password have not changed since the login.
func (a *authenticator) checkSession(creds *credentials, value string, now time.Time) *user {
	if len(value) > cookieMaxLen {
		return nil
	}
	payload, sig, ok := strings.Cut(value, ".")
	if !ok || subtle.ConstantTimeCompare([]byte(sig), []byte(sign(creds.secret, payload))) != 1 {
		return nil
	}
	body, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return nil
	}
	var s session
	if json.Unmarshal(body, &s) != nil || now.Unix() >= s.Expires {
		return nil
	}
	u := creds.users[s.User]
	if u == nil || u.stamp != s.Stamp {
		return nil
	}
	return u
}

// registerAuth puts the guard in front of every route and serves the
// login endpoints (auth_login.go). Authentication is on when the config
// names a credentials file; either way, the guard refuses cross-origin
// writes, and, while the api listens on loopback only, requests for a host
// name other than a loopback one (DNS rebinding).
func (s *Server) registerAuth(e *echo.Echo) {
	if s.cfg.AuthFile != "" {
		s.auth = newAuthenticator(s.cfg.AuthFile, s.cfg.TLSCertFile != "", s)
	}
	s.loopbackOnly = loopbackAddr(s.cfg.HTTPAddr)
	e.Use(s.guard)
	e.Match(readMethods, loginPath, s.loginPage)
	e.POST(loginPath, s.login)
	e.POST(logoutPath, s.logout)
	e.Match(readMethods, mePath, s.whoami)
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
func (s *Server) guard(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if reason := s.browserCheck(r); reason != "" {
			s.refused(reason)
			return echo.NewHTTPError(http.StatusForbidden, "Forbidden: "+reason)
		}
		if s.auth == nil || public(c) {
			return next(c)
		}
		id, err := s.auth.identify(r)
		var throttled *throttledError
		if errors.As(err, &throttled) {
			s.refused("throttled")
			return tooManyGuesses(c, throttled)
		}
		if err != nil {
			if errors.Is(err, errNoCredentials) {
				s.refused("no_credentials")
			} else {
				s.refused("bad_credentials")
			}
			return s.unauthenticated(c)
		}
		if !id.Role.allows(r.Method) {
			s.refused("role")
			s.logger.Info("request refused", "user", id.User, "role", id.Role, "method", r.Method, "path", r.URL.Path)
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
		s.logger.Info("change", "user", id.User, "role", id.Role, "auth", id.Method, "method", r.Method,
			"path", r.URL.Path, "status", c.Response().Status)
		return nil
	}
}

func (s *Server) refused(reason string) {
	if s.auth != nil {
		s.auth.failures.WithLabelValues(reason).Inc()
	}
}

// unauthenticated answers a request without valid credentials: a browser
// opening a page goes to the login form; anything else gets 401 with
// Marathon's body. The challenge is Basic for clients such as curl, and
// Bearer for a page's own scripts (Sec-Fetch-Mode or X-Requested-With):
// the browser then shows no password prompt over the UI, which sends its
// user to the login form itself.
func (s *Server) unauthenticated(c echo.Context) error {
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
func (s *Server) browserCheck(r *http.Request) string {
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
	if s.auth == nil && s.loopbackOnly && !loopbackHost(r.Host) {
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
