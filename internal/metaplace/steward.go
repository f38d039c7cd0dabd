package metaplace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drover/drover/internal/natsutil"
	"github.com/drover/drover/pkg/events"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Steward runs beside an embedded node: it follows the leader record and,
// as Decide says, hands the node's meta leadership to a peer. Users must
// have been given to the node (natsutil.ServerConfig.InProcess), Reader
// with events.LeaderKeySubject among its subjects.
type Steward struct {
	Server *server.Server
	Users  *natsutil.InProcessUsers
	Logger *slog.Logger
	Policy Policy
	// Every is how often it looks at the meta group (as well as at every
	// leader record that names another server).
	Every time.Duration

	mu     sync.Mutex
	leader LeaderFollow
	poke   chan struct{}
	moves  atomic.Uint64
}

// NewSteward is a steward with the default policy, looking every second.
func NewSteward(ns *server.Server, users *natsutil.InProcessUsers, logger *slog.Logger) *Steward {
	return &Steward{Server: ns, Users: users, Logger: logger.With("component", "metaplace"), Policy: DefaultPolicy, Every: time.Second}
}

// Moves is how many stepdowns the node granted this steward.
func (w *Steward) Moves() uint64 { return w.moves.Load() }

// Run follows the leader record and keeps the meta leader off the leading
// scheduler's master until ctx ends. It fails only if it cannot connect.
func (w *Steward) Run(ctx context.Context) error {
	if w.Server == nil || w.Users == nil || w.Logger == nil || w.Every <= 0 {
		return errors.New("metaplace: a server, its in-process users, a logger and an interval are required")
	}
	w.poke = make(chan struct{}, 1)
	reader, err := natsutil.ConnectInProcess(w.Server, "drover-nats-metaplace-reader", w.Logger,
		nats.UserInfo(w.Users.Reader.User, w.Users.Reader.Password))
	if err != nil {
		return fmt.Errorf("metaplace: %w", err)
	}
	defer reader.Close()
	system, err := natsutil.ConnectInProcess(w.Server, "drover-nats-metaplace-system", w.Logger,
		nats.UserInfo(w.Users.System.User, w.Users.System.Password))
	if err != nil {
		return fmt.Errorf("metaplace: %w", err)
	}
	defer system.Close()
	if _, err := reader.Subscribe(events.LeaderKeySubject, w.onRecord); err != nil {
		return fmt.Errorf("metaplace: follow the leader record: %w", err)
	}
	w.Logger.Info("metaplace: keeping the JetStream meta leader off the leading scheduler's master", "node", w.Server.Name())
	tick := time.NewTicker(w.Every)
	defer tick.Stop()
	var lastTry time.Time
	lastReason := ""
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-w.poke:
		}
		st := w.state(lastTry)
		d := Decide(st, w.Policy)
		if !d.Move() {
			// Say why only when the leading scheduler is beside the meta
			// leader and it stays there, and only when that changes.
			if st.Leader && st.Avoid == st.Self {
				if d.Reason != ReasonPaced && d.Reason != lastReason {
					w.Logger.Warn("metaplace: the meta leader stays on the leading scheduler's master", "node", st.Self, "reason", d.Reason)
					lastReason = d.Reason
				}
			} else {
				lastReason = ""
			}
			continue
		}
		lastTry, lastReason = st.Now, ""
		if err := stepdown(ctx, system, d.To); err != nil {
			w.Logger.Warn("metaplace: meta leader stepdown refused", "from", st.Self, "to", d.To, "error", err)
			continue
		}
		w.moves.Add(1)
		w.Logger.Info("metaplace: moved the JetStream meta leader off the leading scheduler's master", "from", st.Self, "to", d.To)
	}
}

// state reads the meta group from the node, and the leading scheduler's
// server from the last leader record.
func (w *Steward) state(lastTry time.Time) State {
	w.mu.Lock()
	avoid := w.leader.Avoid
	w.mu.Unlock()
	st := State{Self: w.Server.Name(), Leader: w.Server.JetStreamIsLeader(), Avoid: avoid, LastTry: lastTry, Now: time.Now()}
	if !st.Leader || st.Avoid != st.Self {
		return st // Decide needs no more: spare the node a survey
	}
	jsz, err := w.Server.Jsz(nil)
	if err != nil || jsz.Meta == nil {
		w.Logger.Debug("metaplace: cannot read the meta group", "error", err)
		return st
	}
	st.Size = jsz.Meta.Size
	for _, r := range jsz.Meta.Replicas {
		if r != nil {
			st.Peers = append(st.Peers, Peer{Name: r.Name, Current: r.Current, Offline: r.Offline, Pending: r.Pending, Active: r.Active, Lag: r.Lag})
		}
	}
	return st
}

// onRecord takes a message on the leader key's subject.
func (w *Steward) onRecord(m *nats.Msg) {
	w.mu.Lock()
	changed, err := w.leader.Observe(m.Subject, m.Reply, m.Header, m.Data)
	w.mu.Unlock()
	if err != nil {
		w.Logger.Warn("metaplace: ignoring a message on the leader key's subject", "error", err)
	}
	if changed {
		select {
		case w.poke <- struct{}{}:
		default:
		}
	}
}

// LeaderFollow tells, from the messages on the leader key's subject, the
// NATS server of the scheduler that leads. That subject carries every
// attempt to write the key, landed or not: each standby's Create (epoch 0)
// on every tick, and a deposed leader's renewals. So only records with an
// epoch count, and only the highest epoch's: a lower one is a term that
// has ended. A deletion (the lock released or expired) forgets the server
// but not the epoch.
type LeaderFollow struct {
	Epoch uint64
	Avoid string
}

// Observe takes one message; it says whether Avoid changed, and why a
// message was ignored.
func (f *LeaderFollow) Observe(subject, reply string, h nats.Header, data []byte) (changed bool, err error) {
	// A JetStream push consumer can deliver any stream's messages to any
	// subject; such a delivery has an acknowledgement reply.
	if subject != events.LeaderKeySubject || strings.HasPrefix(reply, events.JSAckPrefix) {
		return false, fmt.Errorf("not a write of the leader key (subject %q, reply %q)", subject, reply)
	}
	prev := f.Avoid
	switch h.Get(events.HeaderKVOperation) {
	case events.KVOperationDelete, events.KVOperationPurge:
		f.Avoid = ""
		return f.Avoid != prev, nil
	}
	rec, err := events.Decode[events.LeaderRecord](data)
	if err != nil {
		return false, fmt.Errorf("leader record: %w", err)
	}
	if rec.Epoch == 0 || rec.Epoch < f.Epoch {
		return false, nil // an attempt to take the lock, or an ended term's
	}
	f.Epoch, f.Avoid = rec.Epoch, rec.NATSServer
	return f.Avoid != prev, nil
}

// stepdown asks the meta leader (this node) to hand over to the server named.
func stepdown(ctx context.Context, nc *nats.Conn, to string) error {
	return natsutil.Stepdown(ctx, nc, events.MetaLeaderStepdown, to)
}
