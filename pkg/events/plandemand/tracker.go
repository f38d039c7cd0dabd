package plandemand

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/nats-io/nats.go"
)

// Tracker holds the demand for full plans that api replicas announce.
type Tracker struct {
	hold        time.Duration
	logger      *slog.Logger
	onMalformed func()
	malformed   atomic.Uint64

	mu    sync.Mutex
	until map[string]time.Time // by announcing process: when its demand lapses unless renewed
}

// NewTracker holds each notice for hold (events.PlanDemandHold).
// onMalformed, when not nil, is called for each message dropped as
// malformed (the api counts them in its metrics).
func NewTracker(hold time.Duration, logger *slog.Logger, onMalformed func()) *Tracker {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Tracker{hold: hold, logger: logger, onMalformed: onMalformed, until: map[string]time.Time{}}
}

// errNoInstance is a notice that names no process to hold it for.
var errNoInstance = errors.New("plandemand: notice without instance")

// Note takes one message of events.PlanDemand, received at now. A notice
// of demand holds until now plus the hold; one of its end ends it at once.
// A malformed message is counted, logged at debug and ignored: nothing on
// the bus may stop a service.
func (t *Tracker) Note(data []byte, now time.Time) {
	n, err := events.Decode[events.PlanDemandNotice](data)
	if err == nil && n.Instance == "" {
		err = errNoInstance
	}
	if err != nil {
		t.malformed.Add(1)
		if t.onMalformed != nil {
			t.onMalformed()
		}
		t.logger.Debug("ignoring a malformed plan demand notice", "bytes", len(data), "error", err)
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if n.Wants() {
		t.until[n.Instance] = now.Add(t.hold)
	} else {
		delete(t.until, n.Instance)
	}
}

// Wanted reports whether a notice of demand received before now still
// holds at now. Notices are held on the clock they were received on
// (Subscribe: time.Now), never on the sender's.
func (t *Tracker) Wanted(now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, until := range t.until {
		if now.Before(until) {
			return true
		}
		delete(t.until, id)
	}
	return false
}

// Malformed is how many messages the tracker dropped as malformed.
func (t *Tracker) Malformed() uint64 { return t.malformed.Load() }

// Subscribe follows events.PlanDemand on nc, noting each message at the
// time it arrives, until the subscription is unsubscribed.
func (t *Tracker) Subscribe(nc *nats.Conn) (*nats.Subscription, error) {
	sub, err := nc.Subscribe(events.PlanDemand, func(m *nats.Msg) { t.Note(m.Data, time.Now()) })
	if err != nil {
		return nil, fmt.Errorf("plandemand: subscribe: %w", err)
	}
	return sub, nil
}
