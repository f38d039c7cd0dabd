package scheduler

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// elector holds or chases the scheduler lock in the leader bucket. The
// revision of the Create that won the key is the leader's epoch; the holder
// renews by Update at its last revision (trying again while an answer does
// not come), and a renewal refused, or none landed by its own deadline,
// means it steps down at once.
type elector struct {
	kv       jetstream.KeyValue
	id       string
	nonce    string // random per process, in every record it writes
	hostname string
	// natsServer is the NATS server on this scheduler's master
	// (Config.ColocatedNATS), named in the record for the NATS nodes.
	natsServer string
	ttl        time.Duration
	logger     *slog.Logger
	now        func() time.Time
	// mayCampaign, when set and false, keeps this scheduler out of the race
	// for a while (after it abdicated).
	mayCampaign func() bool
	// connected, when set, says whether the connection the leader works
	// through is up. The lock has a connection of its own (leaseBucket):
	// without this, a leader cut off from NATS on its working connection
	// would keep the lock it cannot use. While it is down the lock is
	// neither sought nor renewed, so a term outlives a reconnect shorter
	// than its lease and ends at the lease's deadline otherwise.
	connected func() bool
	// lineage is the current run of terms' first epoch (LeaderRecord.Lineage).
	lineage uint64
	// stream, when set, reads the lock stream's leader before each attempt
	// to take the lock (lockHold), and resume rewrites a record that
	// expired while that stream had no leader (leaderless.go). Unset (a
	// single node, unit tests): neither rule applies.
	stream lockStream
	resume resumeLock
	// probe, when set, asks whether the lock's stream has a leader after
	// a renewal went unanswered (probeLock).
	probe probeLock
	// oneServer says whether the lease's connection and the working one are
	// on the same NATS server (nil: they are): only then does that server's
	// "no leader" answer speak for the term's own writes too, which then
	// cannot commit either, and only then may it extend the lease.
	oneServer func() bool
	// apiAddress is what the records say of the API beside this
	// scheduler (LeaderRecord.APIAddress).
	apiAddress string
}

func (e *elector) up() bool { return e.connected == nil || e.connected() }

// term is one period of leadership. Its context ends when leadership is lost.
type term struct {
	Epoch uint64
	ctx   context.Context
}

// run campaigns until ctx ends, calling lead for each term won; lead must
// return when the term's context is done.
func (e *elector) run(ctx context.Context, lead func(term)) {
	tick := e.ttl / 4
	watch, err := e.kv.Watch(ctx, events.LeaderKey, jetstream.UpdatesOnly())
	var released <-chan jetstream.KeyValueEntry
	if err == nil {
		released = watch.Updates()
		defer watch.Stop()
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		if (e.mayCampaign == nil || e.mayCampaign()) && e.up() {
			if epoch, rev, sent, ok := e.campaign(ctx); ok {
				e.hold(ctx, epoch, rev, sent, lead)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case ent := <-released:
			// A deleted or expired lock: try at once rather than at the next tick.
			_ = ent
		}
	}
}

// campaign tries to Create the lock; on success it writes the epoch into it
// and says when that write was sent (the lease runs from then). A lock that
// exists but was written by this very process is reclaimed.
func (e *elector) campaign(ctx context.Context) (epoch, rev uint64, sent time.Time, ok bool) {
	cctx, cancel := context.WithTimeout(ctx, e.ttl/2)
	defer cancel()
	if e.stream != nil {
		ci, at, err := e.stream(cctx)
		if err != nil {
			e.logger.Debug("leader campaign: cannot see the lock's stream", "error", err)
			return 0, 0, time.Time{}, false
		}
		if wait := lockHold(e.ttl, ci, at); wait > 0 {
			e.logger.Debug("leader campaign: the lock's stream has a new leader; waiting out the last holder's lease", "wait", wait)
			return 0, 0, time.Time{}, false
		}
	}
	e.lineage = 0
	data, _ := events.Encode(e.record(0))
	epoch, err := e.kv.Create(cctx, events.LeaderKey, data)
	e.lineage = epoch
	if errors.Is(err, jetstream.ErrKeyExists) {
		epoch, e.lineage, err = e.reclaim(cctx, data)
	}
	if err != nil {
		if ctx.Err() == nil && !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, errNotOurs) {
			e.logger.Debug("leader campaign failed", "error", err)
		}
		return 0, 0, time.Time{}, false
	}
	data, _ = events.Encode(e.record(epoch))
	sent = e.now()
	rev, err = e.kv.Update(cctx, events.LeaderKey, data, epoch)
	if err != nil {
		e.logger.Warn("leader: could not record epoch, stepping down", "epoch", epoch, "error", err)
		return 0, 0, time.Time{}, false
	}
	return epoch, rev, sent, true
}

// errNotOurs: the lock is held by another scheduler.
var errNotOurs = errors.New("the lock is another scheduler's")

// reclaim takes back a lock this process wrote and still holds: a write
// whose answer was lost (the connection failing over to another server as
// the write landed) ended its term, or kept it from starting, but no other
// scheduler can lead until the lock expires. Waiting for that would cost
// the cluster a TTL without a leader; taking it back at once costs nothing,
// and is safe: the Update succeeds only if the lock is still the revision
// read, so nobody else held it in between. The term is a new one: the
// Update's revision is its epoch, above every earlier term's, so what the
// ended term still had in flight is told apart from what the new one writes.
//
// The new term continues the lineage of the one it reclaims from (see
// events.LeaderRecord.Lineage), so agents still run what that term sent;
// a term that never recorded its epoch sent nothing, and starts its own.
func (e *elector) reclaim(ctx context.Context, data []byte) (epoch, lineage uint64, err error) {
	ent, err := e.kv.Get(ctx, events.LeaderKey)
	if err != nil {
		return 0, 0, err
	}
	held, err := events.Decode[events.LeaderRecord](ent.Value())
	if err != nil || e.nonce == "" || held.SchedulerID != e.id || held.Nonce != e.nonce {
		return 0, 0, errNotOurs
	}
	if epoch, err = e.kv.Update(ctx, events.LeaderKey, data, ent.Revision()); err != nil {
		return 0, 0, err
	}
	lineage = cmp.Or(held.Lineage, held.Epoch, epoch)
	e.logger.Info("leader: reclaimed the lock this scheduler still held", "previous_epoch", held.Epoch, "epoch", epoch, "lineage", lineage)
	return epoch, lineage, nil
}

func (e *elector) record(epoch uint64) events.LeaderRecord {
	return events.LeaderRecord{V: events.Version, SchedulerID: e.id, Hostname: e.hostname, APIAddress: e.apiAddress, NATSServer: e.natsServer, Nonce: e.nonce, Epoch: epoch, Lineage: e.lineage, Since: e.now().UTC()}
}

// hold renews the lock while leading, and runs lead with a context that is
// cancelled the moment the lock can no longer be trusted: a failed renewal,
// or the local deadline (last renewal sent + 3/4 TTL) passing first. When
// lead returns by itself (abdication), the lock is released.
func (e *elector) hold(ctx context.Context, epoch, rev uint64, sent time.Time, lead func(term)) {
	e.logger.Info("became leader", "epoch", epoch)
	termCtx, endTerm := context.WithCancel(ctx)
	watchdog := time.AfterFunc(e.ttl*3/4-e.now().Sub(sent), func() {
		e.logger.Warn("leader: lease deadline passed before renewal, stepping down", "epoch", epoch)
		endTerm()
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		lead(term{Epoch: epoch, ctx: termCtx})
	}()
	defer func() {
		watchdog.Stop()
		endTerm()
		<-done
		e.logger.Info("leadership ended", "epoch", epoch)
	}()
	data, _ := events.Encode(e.record(epoch))
	renewed := sent
	// A try answered "no leader" extends the lease (leaseDeadline).
	noLeader := func(at time.Time) {
		if left := leaseDeadline(e.ttl, renewed, at).Sub(e.now()); left > 0 {
			watchdog.Reset(left)
		}
	}
	t := time.NewTicker(e.ttl / 4)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			watchdog.Stop()
			endTerm()
			<-done
			e.release(rev)
			return
		case <-termCtx.Done():
			return
		case <-done:
			watchdog.Stop()
			e.release(rev)
			return
		case <-t.C:
		}
		if !e.up() {
			continue // the watchdog ends the term if this outlasts the lease
		}
		newRev, sent, err := e.renew(termCtx, data, rev, noLeader)
		if err != nil {
			e.logger.Warn("leader: renewal failed, stepping down", "epoch", epoch, "error", err)
			return
		}
		rev, renewed = newRev, sent
		watchdog.Reset(e.ttl*3/4 - e.now().Sub(sent))
	}
}

// renew extends the lease held at rev. An answer that does not come is
// not a lost lock: it tries again until the term ends (the watchdog ends
// it at the lease's local deadline). A renewal refused for its revision
// reads the lock: a record that is still this process's, at a later
// revision, means an earlier try landed and only its answer was lost (the
// write is conditional on rev, so nobody held the lock in between).
//
// A try answered "no leader" (leaderless) is reported to noLeader with
// when it was sent, and lets a record found expired be resumed. It
// returns when the try that landed was sent: the lease runs from then.
func (e *elector) renew(ctx context.Context, data []byte, rev uint64, noLeader func(sent time.Time)) (uint64, time.Time, error) {
	sawNoLeader := false
	for {
		// A quarter TTL a try: two fit before the deadline, and the second,
		// refused for its revision if the first landed, learns so.
		tctx, cancel := context.WithTimeout(ctx, e.ttl/4)
		sent := e.now()
		newRev, err := e.kv.Update(tctx, events.LeaderKey, data, rev)
		// ErrKeyRevisionMismatch, not ErrKeyExists: a replicated bucket
		// answers a revision conflict with another code (10164).
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			newRev, err = e.landed(tctx, data, rev, sawNoLeader)
		}
		cancel()
		if err != nil && !leaderless(err) && !errors.Is(err, errNotOurs) && e.probe != nil && ctx.Err() == nil {
			// Unanswered: does the stream have a leader at all?
			pctx, pcancel := context.WithTimeout(ctx, e.ttl/8)
			probed := e.now()
			if perr := e.probe(pctx); leaderless(perr) {
				sent, err = probed, perr
			}
			pcancel()
		}
		if leaderless(err) && ctx.Err() == nil && (e.oneServer == nil || e.oneServer()) {
			if !sawNoLeader {
				e.logger.Warn("leader: the lock's stream has no leader; nobody can take the lock, the term goes on", "error", err)
			}
			sawNoLeader = true
			noLeader(sent)
		}
		if err == nil || errors.Is(err, errNotOurs) || ctx.Err() != nil {
			return newRev, sent, err
		}
		if !leaderless(err) {
			e.logger.Warn("leader: renewal unanswered, trying again", "error", err)
		}
		select {
		case <-ctx.Done():
			return 0, time.Time{}, ctx.Err()
		case <-time.After(e.ttl / 20): // no busy loop on an instant error (no responders)
		}
	}
}

// landed reads the lock after a renewal at rev was refused, and returns
// its revision if it is this term's own record written since.
//
// A record gone after tries answered "no leader" (afterNoLeader) expired
// while the stream elected a leader; it is written again if the bucket's
// stream wrote nothing since rev (resumeLock).
func (e *elector) landed(ctx context.Context, data []byte, rev uint64, afterNoLeader bool) (uint64, error) {
	ent, err := e.kv.Get(ctx, events.LeaderKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		if !afterNoLeader || e.resume == nil {
			return 0, errNotOurs
		}
		newRev, err := e.resume(ctx, data, rev)
		if err == nil {
			e.logger.Info("leader: the lock expired while its stream had no leader; nothing written since, the term goes on", "revision", newRev)
			return newRev, nil
		}
		if leaderless(err) {
			return 0, err
		}
		var api *jetstream.APIError
		if errors.As(err, &api) && api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
			return 0, errNotOurs // written since: another term may have begun
		}
		return 0, err
	}
	if err != nil {
		return 0, err
	}
	if ent.Revision() <= rev || !bytes.Equal(ent.Value(), data) {
		return 0, errNotOurs
	}
	return ent.Revision(), nil
}

// release deletes the lock at our revision, so another scheduler takes over
// at once instead of after the TTL.
func (e *elector) release(rev uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := e.kv.Delete(ctx, events.LeaderKey, jetstream.LastRevision(rev)); err != nil {
		e.logger.Warn("leader: could not release the lock", "error", err)
	}
}

// leaseBucket opens the leader bucket on a NATS connection of its own,
// with the options of nc. The lock's renewals must not queue behind the
// leader's own traffic: a pass that launches 10,000 tasks puts tens of
// thousands of messages on nc, and on a loaded machine a renewal sent
// behind them came back after its timeout, so a healthy leader stepped
// down, and each new term sent every unstarted launch again. Where nc's
// options cannot be reused (a connection made without them), the bucket
// given is used as it is (unit tests), with sharedJS.
//
// closed is called if the connection is closed for good (a protocol error,
// a refused login): the scheduler must then end, for its supervisor to
// start it again, rather than live on never able to lead.
func leaseBucket(ctx context.Context, opts nats.Options, shared jetstream.KeyValue, sharedJS jetstream.JetStream, closed func()) (jetstream.KeyValue, jetstream.JetStream, func(), error) {
	if len(opts.Servers) == 0 && opts.Url == "" && opts.InProcessServer == nil {
		return shared, sharedJS, func() {}, nil
	}
	opts.Name += " (leader lock)"
	opts.DisconnectedCB, opts.DisconnectedErrCB = nil, nil
	opts.ClosedCB = func(*nats.Conn) { closed() }
	lc, err := opts.Connect()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("scheduler: connect for the leader lock: %w", err)
	}
	js, err := jetstream.New(lc)
	if err == nil {
		var kv jetstream.KeyValue
		if kv, err = js.KeyValue(ctx, shared.Bucket()); err == nil {
			return kv, js, lc.Close, nil
		}
	}
	lc.Close()
	return nil, nil, nil, fmt.Errorf("scheduler: open the leader bucket: %w", err)
}
