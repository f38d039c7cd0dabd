package change

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/pkg/marathon"
	"github.com/drover/drover/services/api/readmodel"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultClaimGrace is how long a port claim stands although its app does
// not hold the port: it covers the app's write still in flight after the
// claim. Past it, a claim whose app does not hold its port is stale (a
// crash between the claim and the write, or a release that failed) and
// may be taken over.
const DefaultClaimGrace = 30 * time.Second

// claimAttempts bounds how often a change is staged again because a port
// it took was claimed meanwhile by another replica's change.
const claimAttempts = 20

// portBook is what this replica knows of ports besides its read model:
// those its changes in flight took (reserved until their apps are written
// and shown), and those found claimed by another replica (seen, for a
// grace period). Staging counts both as used, so this replica's
// concurrent changes never take the same port, and it learns at once of
// another's.
type portBook struct {
	mu       sync.Mutex
	reserved map[int]int       // port -> changes in flight holding it
	seen     map[int]time.Time // port -> when found claimed
}

// assign is assignServicePorts with the book's ports counted as used; with
// reserve, the ports it took are reserved until release. A nil book
// counts nothing and reserves nothing.
func (b *portBook) assign(st *readmodel.State, ops []Op, r marathon.PortRange, reserve bool, now time.Time, grace time.Duration) (map[string][]int, error) {
	if b == nil {
		return assignServicePorts(st, nil, ops, r)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var extra []int
	for p := range b.reserved {
		extra = append(extra, p)
	}
	for p, at := range b.seen {
		if now.Sub(at) > grace {
			delete(b.seen, p)
		} else {
			extra = append(extra, p)
		}
	}
	fresh, err := assignServicePorts(st, extra, ops, r)
	if err != nil || !reserve {
		return fresh, err
	}
	if b.reserved == nil {
		b.reserved = map[int]int{}
	}
	for _, ports := range fresh {
		for _, p := range ports {
			b.reserved[p]++
		}
	}
	return fresh, nil
}

// release ends the reservation of ports.
func (b *portBook) release(ports []int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range ports {
		if b.reserved[p]--; b.reserved[p] <= 0 {
			delete(b.reserved, p)
		}
	}
}

// saw records ports found claimed by another change.
func (b *portBook) saw(ports []int, at time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.seen == nil {
		b.seen = map[int]time.Time{}
	}
	for _, p := range ports {
		b.seen[p] = at
	}
}

// claim is a port claim a change holds: the revision it wrote.
type claim struct {
	port int
	app  string
	rev  uint64
}

// errPortsTaken is a change whose free ports were claimed meanwhile by
// another change: stage it again, counting them as used.
type errPortsTaken struct{ ports []int }

func (e *errPortsTaken) Error() string {
	return fmt.Sprintf("api: service ports %v taken concurrently", e.ports)
}

// errTaken is one port claimed by another app's change.
var errTaken = errors.New("api: service port claimed")

// claimPorts claims the ports each op took free (p.Fresh), in the ops'
// order. If any is taken, it releases what it claimed and returns an
// *errPortsTaken naming the taken ones.
func (s *Writer) claimPorts(ctx context.Context, p *Staged) ([]claim, error) {
	var (
		made  []claim
		taken []int
	)
	for _, op := range p.Ops {
		for _, port := range p.Fresh[op.ID] {
			c, err := s.claimPort(ctx, port, op.ID)
			switch {
			case errors.Is(err, errTaken):
				taken = append(taken, port)
			case err != nil:
				s.releaseClaims(ctx, made)
				return nil, err
			default:
				made = append(made, c)
			}
		}
	}
	if len(taken) > 0 {
		s.releaseClaims(ctx, made)
		return nil, &errPortsTaken{ports: taken}
	}
	return made, nil
}

// claimPort claims port for app: it creates the port's claim, or takes
// over a stale one (staleClaim) at the revision read. Both are
// compare-and-set on the port's key, so of two changes claiming a port at
// once one wins and the other gets errTaken.
func (s *Writer) claimPort(ctx context.Context, port int, app string) (claim, error) {
	key := events.PortClaimKey(port)
	data, err := events.Encode(events.PortClaim{V: events.Version, App: app})
	if err != nil {
		return claim{}, err
	}
	rev, err := s.bus.PortClaims.Create(ctx, key, data)
	if err == nil {
		return claim{port: port, app: app, rev: rev}, nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return claim{}, fmt.Errorf("api: claim service port %d: %w", port, err)
	}
	entry, err := s.bus.PortClaims.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return claim{}, errTaken // released meanwhile: stage again
	}
	if err != nil {
		return claim{}, fmt.Errorf("api: read service port %d's claim: %w", port, err)
	}
	stale, err := s.staleClaim(ctx, port, entry)
	if err != nil {
		return claim{}, err
	}
	if !stale {
		return claim{}, errTaken
	}
	rev, err = s.bus.PortClaims.Update(ctx, key, data, entry.Revision())
	if isCASError(err) {
		return claim{}, errTaken
	}
	if err != nil {
		return claim{}, fmt.Errorf("api: take over service port %d's claim: %w", port, err)
	}
	s.logger.Info("stale service port claim taken over", "port", port, "app", app, "revision", entry.Revision())
	return claim{port: port, app: app, rev: rev}, nil
}

// staleClaim reports whether a port's claim may be taken over: it is
// older than the grace period, and its app, as the apps bucket holds it
// now (not the read model, which may lag), does not hold the port. A
// claim that cannot be read is stale; an app record that cannot be read
// holds it.
func (s *Writer) staleClaim(ctx context.Context, port int, entry jetstream.KeyValueEntry) (bool, error) {
	if time.Since(entry.Created()) <= s.claimGrace {
		return false, nil
	}
	c, err := events.Decode[events.PortClaim](entry.Value())
	if err != nil || c.App == "" {
		s.logger.Warn("malformed service port claim", "port", port, "error", err)
		return true, nil
	}
	app, err := s.bus.Apps.Get(ctx, events.AppKey(c.App))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("api: read app %s: %w", c.App, err)
	}
	rec, err := events.Decode[events.AppRecord](app.Value())
	if err != nil {
		return false, nil
	}
	return !slices.Contains(rec.App.ServicePorts(), port), nil
}

// releaseClaims deletes claims this change made, each at the revision it
// wrote (so never one taken over since), best effort: a claim left behind
// turns stale.
func (s *Writer) releaseClaims(ctx context.Context, claims []claim) {
	if len(claims) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.syncTimeout)
	defer cancel()
	for _, c := range claims {
		err := s.bus.PortClaims.Delete(ctx, events.PortClaimKey(c.port), jetstream.LastRevision(c.rev))
		if err != nil && !isCASError(err) {
			s.logger.Warn("release service port claim", "port", c.port, "app", c.app, "error", err)
		}
	}
}

// releaseDropped deletes the claims of the ports the written ops' apps
// held before and hold no more (a delete, or ports dropped or changed),
// if the app still names them, at the revision read: best effort.
func (s *Writer) releaseDropped(ctx context.Context, p *Staged, written []string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.syncTimeout)
	defer cancel()
	var claims []claim
	for _, op := range p.Ops {
		if op.Prev == nil || !slices.Contains(written, op.ID) {
			continue
		}
		var now []int
		if op.Next != nil {
			now = op.Next.ServicePorts()
		}
		for _, port := range op.Prev.Rec.App.ServicePorts() {
			if port == 0 || !s.ports.Contains(port) || slices.Contains(now, port) {
				continue
			}
			if c, ok := s.claimOf(ctx, port, op.ID); ok {
				claims = append(claims, c)
			}
		}
	}
	s.releaseClaims(ctx, claims)
}

// claimOf is app's claim of port, if it holds it.
func (s *Writer) claimOf(ctx context.Context, port int, app string) (claim, bool) {
	entry, err := s.bus.PortClaims.Get(ctx, events.PortClaimKey(port))
	if err != nil {
		if !errors.Is(err, jetstream.ErrKeyNotFound) {
			s.logger.Warn("read service port claim", "port", port, "error", err)
		}
		return claim{}, false
	}
	c, err := events.Decode[events.PortClaim](entry.Value())
	if err != nil || c.App != app {
		return claim{}, false
	}
	return claim{port: port, app: app, rev: entry.Revision()}, true
}
