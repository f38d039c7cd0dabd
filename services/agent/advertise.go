package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// Resolver looks a name up: net.DefaultResolver, or a stand-in in tests.
type Resolver interface {
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// ErrUnresolvable is the error of CheckAdvertised for a name that does
// not resolve.
var ErrUnresolvable = errors.New("does not resolve")

// CheckAdvertised checks that the names an agent gives out resolve here,
// each within timeout: its hostname, which every task reports as its
// host (clients such as marathon-lb connect to host:port), and its
// address, where published ports are reached, when it is another name.
// An IP address needs no lookup. The answer is the agent's own resolver's:
// a name may resolve here and not where the clients are, never the other
// way round. The error names each name that failed and what to give
// instead; it wraps ErrUnresolvable.
func CheckAdvertised(ctx context.Context, r Resolver, cfg Config, timeout time.Duration) error {
	cfg = cfg.withDefaults()
	var errs []error
	check := func(what, name, flag string) {
		if net.ParseIP(name) != nil {
			return
		}
		lctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		addrs, err := r.LookupHost(lctx, name)
		if err == nil && len(addrs) > 0 {
			return
		}
		if err == nil {
			err = errors.New("no address")
		}
		errs = append(errs, fmt.Errorf("%s %q %w (%v): %s; give %s", what, name, ErrUnresolvable, err, consequence[what], flag))
	}
	check("hostname", cfg.Hostname, "--hostname a name the clients resolve, or this host's IP")
	if cfg.Address != cfg.Hostname {
		check("address", cfg.Address, "--address this host's IP")
	}
	return errors.Join(errs...)
}

// consequence says what an unresolvable name breaks.
var consequence = map[string]string{
	"hostname": "every task reports it as its host, and clients reach no task there",
	"address":  "tasks' published ports are reached there, and no client reaches them",
}
