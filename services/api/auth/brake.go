package auth

import (
	"log/slog"
	"net"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// The brake on password guessing: failed password checks are counted per
// user name and per source address, each in a token bucket (x/time/rate).
// While either bucket is empty, a password that has not succeeded lately
// is not even checked: 429 with Retry-After. Tokens, sessions and a
// password that succeeded within verifiedTTL are never braked, so a locked
// user's scripts and browser keep working while a guesser waits.
const (
	userFailBurst     = 10              // failed passwords of one user before the brake
	userFailEvery     = 6 * time.Second // one more allowed per period: 10 a minute
	sourceFailBurst   = 20              // failed passwords from one address
	sourceFailEvery   = 3 * time.Second // 20 a minute
	brakeMaxKeys      = 10000           // buckets kept; full ones are dropped first
	msgTooManyGuesses = "Too many failed login attempts; try again later"
)

// brake holds the buckets.
type brake struct {
	logger *slog.Logger
	now    func() time.Time
	mu     sync.Mutex
	users  map[string]*rate.Limiter
	srcs   map[string]*rate.Limiter
}

func newBrake(logger *slog.Logger) *brake {
	return &brake{logger: logger, now: time.Now, users: map[string]*rate.Limiter{}, srcs: map[string]*rate.Limiter{}}
}

// sourceOf is a request's source address, without its port.
func sourceOf(remoteAddr string) string {
	if host, _, err := net.SplitHostPort(remoteAddr); err == nil {
		return host
	}
	return remoteAddr
}

// wait is how long a password check for name from source must wait: 0
// when it may go on.
func (b *brake) wait(name, source string) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	var w time.Duration
	for _, l := range []*rate.Limiter{b.users[name], b.srcs[source]} {
		if l == nil {
			continue
		}
		if t := l.TokensAt(now); t < 1 {
			w = max(w, time.Duration((1-t)*float64(time.Second)/float64(l.Limit())))
		}
	}
	return w
}

// fail counts a failed password check, and logs when it empties a bucket.
func (b *brake) fail(name, source string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	for _, k := range []struct {
		m     map[string]*rate.Limiter
		key   string
		every time.Duration
		burst int
		what  string
	}{{b.users, name, userFailEvery, userFailBurst, "user"}, {b.srcs, source, sourceFailEvery, sourceFailBurst, "source"}} {
		l := k.m[k.key]
		if l == nil {
			if len(k.m) >= brakeMaxKeys {
				prune(k.m, now)
			}
			l = rate.NewLimiter(rate.Every(k.every), k.burst)
			k.m[k.key] = l
		}
		l.AllowN(now, 1)
		if l.TokensAt(now) < 1 {
			b.logger.Warn("password guessing: failed passwords braked", "by", k.what, "user", name, "source", source,
				"limit", k.burst, "per", time.Duration(k.burst)*k.every)
		}
	}
}

// prune drops the buckets that are full again, or every bucket if none is.
func prune(m map[string]*rate.Limiter, now time.Time) {
	n := len(m)
	for k, l := range m {
		if l.TokensAt(now) >= float64(l.Burst()) {
			delete(m, k)
		}
	}
	if len(m) == n {
		clear(m)
	}
}
