package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"
)

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

func newAuthenticator(path string, secure bool, logger *slog.Logger, register func(...prometheus.Collector)) *authenticator {
	a := &authenticator{
		path: path, secure: secure, logger: logger,
		verified:   map[[32]byte]time.Time{},
		inflight:   map[[32]byte]*verifyCall{},
		bcryptSlot: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2)),
		brake:      newBrake(logger),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "drover", Subsystem: "api", Name: "auth_refusals_total",
			Help: "Requests refused by authentication or authorization, by reason.",
		}, []string{"reason"}),
	}
	a.ownSecret = make([]byte, 32)
	_, _ = rand.Read(a.ownSecret)
	register(a.failures)
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

// dcosTokenPrefix starts the Authorization header of DC/OS clients.
const dcosTokenPrefix = "token="

// identify authenticates a request by its Authorization header (Basic,
// Bearer or Token, or DC/OS' token=) or its login cookie.
func (a *authenticator) identify(r *http.Request) (Identity, error) {
	a.reload(false)
	creds := a.creds.Load()
	if h := r.Header.Get(echo.HeaderAuthorization); h != "" {
		scheme, rest, _ := strings.Cut(h, " ")
		rest = strings.TrimSpace(rest)
		// DC/OS clients send "token=<token>" (its ACS token): a bearer token.
		if len(h) >= len(dcosTokenPrefix) && strings.EqualFold(h[:len(dcosTokenPrefix)], dcosTokenPrefix) {
			scheme, rest = "token", strings.TrimSpace(h[len(dcosTokenPrefix):])
		}
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
