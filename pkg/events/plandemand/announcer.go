package plandemand

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
)

// flushTimeout bounds the wait for NATS to take a notice of new demand.
const flushTimeout = 2 * time.Second

// Announcer is an api replica's side of the demand: it counts the
// replica's event streams that take full plans, asks how many callback
// URLs it posts to, announces that demand on events.PlanDemand, and
// answers whether full plans are wanted anywhere.
type Announcer struct {
	nc        *nats.Conn
	api       string
	instance  string
	callbacks func() int
	tracker   *Tracker
	sub       *nats.Subscription
	logger    *slog.Logger

	streams atomic.Int64

	mu        sync.Mutex // orders the notices
	announced bool       // the last notice sent announced demand
	closed    bool       // no notice after Close's

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// NewAnnouncer subscribes tracker to the other replicas' notices and
// announces this replica's demand every events.PlanDemandEvery while it
// lasts, until Close. api is the replica's id; callbacks (nil for none)
// is how many callback URLs it posts events to.
func NewAnnouncer(nc *nats.Conn, api string, callbacks func() int, tracker *Tracker, logger *slog.Logger) (*Announcer, error) {
	return newAnnouncer(nc, api, callbacks, tracker, events.PlanDemandEvery, logger)
}

func newAnnouncer(nc *nats.Conn, api string, callbacks func() int, tracker *Tracker, every time.Duration, logger *slog.Logger) (*Announcer, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	sub, err := tracker.Subscribe(nc)
	if err != nil {
		return nil, err
	}
	a := &Announcer{nc: nc, api: api, instance: uuid.NewString(), callbacks: callbacks, tracker: tracker, sub: sub,
		logger: logger, stop: make(chan struct{}), done: make(chan struct{})}
	go a.run(every)
	return a, nil
}

// Close stops announcing, says the demand ended if it had not, and stops
// following the other replicas' notices.
func (a *Announcer) Close() {
	a.closeOnce.Do(func() {
		close(a.stop)
		<-a.done
		a.mu.Lock()
		if a.announced {
			a.publish(events.PlanDemandNotice{})
		}
		a.announced, a.closed = false, true
		a.mu.Unlock()
		_ = a.sub.Unsubscribe()
	})
}

// Wanted reports whether deployment events should carry full plans at
// now: this replica has a consumer of them (counted here, without a round
// trip), or another's notice holds.
func (a *Announcer) Wanted(now time.Time) bool { return a.local().Wants() || a.tracker.Wanted(now) }

// Attach counts an event stream that takes full plans and announces the
// demand before it returns, flushed: a client that got the stream's
// headers after it has been announced. release (idempotent) uncounts it,
// and says the demand ended if nothing else here wants full plans.
func (a *Announcer) Attach() (release func()) {
	a.streams.Add(1)
	a.announce(true, true)
	var once sync.Once
	return func() {
		once.Do(func() {
			a.streams.Add(-1)
			a.announce(false, false)
		})
	}
}

// Announce says this replica's demand now, flushed: after a callback
// subscription, so that the events after the answer carry full plans.
func (a *Announcer) Announce() { a.announce(true, true) }

// run renews the demand every every while it lasts, and says when it ended
// (the last callback URL removed), until Close.
func (a *Announcer) run(every time.Duration) {
	defer close(a.done)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-tick.C:
			a.announce(true, false)
		}
	}
}

// local is this replica's demand as a notice.
func (a *Announcer) local() events.PlanDemandNotice {
	n := events.PlanDemandNotice{Streams: int(a.streams.Load())}
	if a.callbacks != nil {
		n.Callbacks = a.callbacks()
	}
	return n
}

// announce sends the replica's demand when there is some and renew asks
// for it, or its end when there is none and the last notice announced
// some; with flush, it waits for NATS to have taken it.
func (a *Announcer) announce(renew, flush bool) {
	a.mu.Lock()
	n := a.local()
	wants := n.Wants()
	if a.closed || wants && !renew || !wants && !a.announced {
		a.mu.Unlock()
		return
	}
	a.publish(n)
	a.announced = wants
	a.mu.Unlock()
	if flush && wants {
		if err := a.nc.FlushTimeout(flushTimeout); err != nil {
			a.logger.Warn("plan demand not flushed: deployment events may be light for a moment", "error", err)
		}
	}
}

// publish sends one notice. Callers hold a.mu.
func (a *Announcer) publish(n events.PlanDemandNotice) {
	n.V, n.API, n.Instance, n.At = events.Version, a.api, a.instance, time.Now().UTC()
	data, err := events.Encode(n)
	if err == nil {
		err = a.nc.Publish(events.PlanDemand, data)
	}
	if err != nil {
		a.logger.Warn("announce plan demand", "error", fmt.Errorf("plandemand: %w", err))
	}
}
