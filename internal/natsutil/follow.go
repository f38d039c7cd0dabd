package natsutil

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/drover/drover/internal/ctxutil"
	"github.com/nats-io/nats.go/jetstream"
)

// KVFollow is how FollowKV follows a bucket.
type KVFollow struct {
	KV jetstream.KeyValue
	// Opts are the options of a full load (e.g. jetstream.IncludeHistory()).
	Opts []jetstream.WatchOpt
	// Reset is called before a full load other than the first: the
	// bucket's stream was recreated and what was applied is void. May be nil.
	Reset func()
	// Apply is called for every entry, in order, deletions included.
	Apply func(jetstream.KeyValueEntry)
	// Loaded is called once the entries the bucket held when a watch began
	// are applied, with the revision everything up to which is applied.
	// It is called again after every new watch. May be nil.
	Loaded func(rev uint64)
	// Closed is called when a watch closes (its connection closed for
	// good), before watching again: what was applied may grow stale until
	// Loaded. Not called for a stalled watch, which the next one catches up
	// within a second or so. May be nil.
	Closed func()
	// CheckEvery is how often the bucket's last revision is compared with
	// the last one applied (default 250 ms); StallAfter is how long the
	// bucket may hold revisions not applied, with nothing delivered, before
	// the watch counts as stalled (default 750 ms). A false stall costs a
	// watch set up again from the next revision, nothing else.
	CheckEvery, StallAfter time.Duration
	// SetupTimeout bounds setting a watch up (default 2 s); see WatchAll
	// and setupTries. FirstWithin is how long the first watch is tried
	// before FollowKV gives up (default: one round of setupTries); a
	// cluster electing its meta leader refuses watches for seconds.
	SetupTimeout, FirstWithin time.Duration
	Logger                    *slog.Logger
}

// FirstWatchWithin is how long a service starting tries its first watch of
// a bucket (KVFollow.FirstWithin): a cluster electing its JetStream meta
// leader (a node starting, or the meta leader moved off the leading
// scheduler's master) refuses watches for seconds, and a service starting
// then should wait, not exit. It is NATS' longest Raft election timeout.
const FirstWatchWithin = 10 * time.Second

// FollowKV watches every key of a bucket until ctx ends and returns once the
// first watch is set up; the returned channel closes when following stops.
//
// A KV watch is an ordered consumer, which lives on one server: when that
// server dies, the watch delivers nothing until the client library notices
// missing idle heartbeats, about 10 s later, while the bucket, its stream
// leader elected elsewhere, takes writes. FollowKV notices within
// CheckEvery+StallAfter instead, and watches again from the revision after
// the last one applied, so Apply still sees every change once and in order
// and what was applied stays valid meanwhile. Only when the stream was
// recreated (its last revision fell below what was applied) does it start
// over with Reset and a full load.
//
// Setting a watch up may also go unanswered: a server killed without
// saying so counts as online for placement for a while (nats-server marks
// it offline on its shutdown event, or after missed stats heartbeats), so
// a new ordered consumer may be placed on it. Each setup is therefore tried
// with growing time limits (setupTries) rather than once with the longest.
func FollowKV(ctx context.Context, f KVFollow) (<-chan struct{}, error) {
	if f.CheckEvery <= 0 {
		f.CheckEvery = 250 * time.Millisecond
	}
	if f.StallAfter <= 0 {
		f.StallAfter = 750 * time.Millisecond
	}
	if f.SetupTimeout <= 0 {
		f.SetupTimeout = 2 * time.Second
	}
	if f.Logger == nil {
		f.Logger = slog.New(slog.DiscardHandler)
	}
	fl := &follower{KVFollow: f}
	began := time.Now()
	w, err := fl.watch(ctx, true)
	for err != nil && ctx.Err() == nil && time.Since(began) < f.FirstWithin {
		w, err = fl.watch(ctx, true)
	}
	f.Logger.Debug("bucket watch set up", "bucket", f.KV.Bucket(), "took", time.Since(began), "error", err)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", f.KV.Bucket(), err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fl.run(ctx, w)
	}()
	return done, nil
}

type follower struct {
	KVFollow
	rev     uint64    // the last revision applied
	loadRev uint64    // the bucket's last revision when the current watch began
	created time.Time // when the bucket's stream was created, as last seen
}

// run applies the watch's entries and watches again whenever it closes or
// stalls, until ctx ends.
func (f *follower) run(ctx context.Context, w jetstream.KeyWatcher) {
	for {
		err := f.consume(ctx, w)
		stop(w)
		if ctx.Err() != nil {
			return
		}
		// At once after a stall (the servers answer, the watch's did not);
		// paced after a close or a failed setup. A stall is Info: on a
		// starved machine a slow watch may pass for one, and costs only a
		// new watch.
		retry := 100 * time.Millisecond
		if errors.Is(err, errStalled) {
			retry = 0
			f.Logger.Info("bucket watch stalled; watching again", "bucket", f.KV.Bucket(), "revision", f.rev, "error", err)
		} else {
			f.Logger.Warn("bucket watch ended; watching again", "bucket", f.KV.Bucket(), "revision", f.rev, "error", err)
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(retry):
			}
			if w, err = f.watch(ctx, false); err == nil {
				break
			}
			f.Logger.Warn("watch bucket", "bucket", f.KV.Bucket(), "error", err)
			retry = min(max(2*retry, 100*time.Millisecond), time.Second)
		}
	}
}

// stop stops a watch in the background and drains what it still delivers:
// the client blocks delivering into a full updates channel, and would stay
// blocked for good. Stopping deletes the watch's consumer by a request that
// waits for its answer up to the client's JetStream timeout (5 s); when the
// consumer's server is the one that died, no answer comes, and the next
// watch must not wait for it.
func stop(w jetstream.KeyWatcher) {
	go func() {
		for range w.Updates() {
		}
	}()
	go func() { _ = w.Stop() }()
}

// watch starts a watch: a full load the first time or when the stream was
// recreated, otherwise from the revision after the last one applied.
func (f *follower) watch(ctx context.Context, first bool) (jetstream.KeyWatcher, error) {
	st, err := f.streamState(ctx)
	if err != nil && !first {
		return nil, err // no stream leader yet: nothing to gain from watching
	}
	f.loadRev = st.LastSeq
	recreated := !first && f.recreated(st)
	if err == nil {
		f.created = st.created
	}
	opts := []jetstream.WatchOpt{jetstream.ResumeFromRevision(f.rev + 1)}
	if first || recreated {
		if recreated {
			f.Logger.Warn("bucket stream recreated; loading it again", "bucket", f.KV.Bucket(), "revision", st.LastSeq, "applied", f.rev)
			if f.Reset != nil {
				f.Reset()
			}
		}
		f.rev = 0
		opts = f.Opts
	}
	for _, within := range setupTries(f.SetupTimeout) {
		began := time.Now()
		var w jetstream.KeyWatcher
		if w, err = WatchAll(ctx, f.KV, within, opts...); err == nil || ctx.Err() != nil {
			return w, err
		}
		f.Logger.Debug("watch setup failed; trying again", "bucket", f.KV.Bucket(), "within", within, "error", err)
		// An error that came at once (JetStream electing its meta leader,
		// say) is tried again no sooner than the try's limit.
		if !ctxutil.Sleep(ctx, within-time.Since(began)) {
			return nil, ctx.Err()
		}
	}
	return nil, err
}

// setupTries are the time limits of the tries to set a watch up: a quarter,
// a half and all of max. An answer comes in milliseconds from a live
// server; a consumer placed on a dead one never answers, and costs the
// first, short try. A slow server gets the whole limit at the last try.
func setupTries(max time.Duration) []time.Duration {
	return []time.Duration{max / 4, max / 2, max}
}

// recreated: the stream is not the one whose revisions were applied, by its
// creation time, or by revisions that went backwards.
func (f *follower) recreated(st streamState) bool {
	return !f.created.IsZero() && !st.created.Equal(f.created) || st.LastSeq < f.rev
}

// WatchAll is kv.WatchAll, given up when setting the watch up takes longer
// than within: a request made as the connection fails over to another
// server gets no answer, and should cost a retry, not the JetStream timeout
// (5 s). The watch lives until ctx ends or it is stopped.
func WatchAll(ctx context.Context, kv jetstream.KeyValue, within time.Duration, opts ...jetstream.WatchOpt) (jetstream.KeyWatcher, error) {
	// The watch's context is its lifetime (the client unsubscribes when it
	// ends), so it cannot carry the deadline: give up on the call instead.
	wctx, cancel := context.WithCancel(ctx)
	type result struct {
		w   jetstream.KeyWatcher
		err error
	}
	ch := make(chan result, 1)
	go func() {
		w, err := kv.WatchAll(wctx, opts...)
		ch <- result{w, err}
	}()
	timer := time.NewTimer(within)
	defer timer.Stop()
	select {
	case r := <-ch:
		if r.err != nil {
			cancel()
			return nil, r.err
		}
		return stoppingWatcher{r.w, cancel}, nil
	case <-timer.C:
		cancel()
		// An answer may still come: a watch set up late is stopped and
		// drained, or its deliveries would block the client for good.
		go func() {
			if r := <-ch; r.err == nil {
				stop(r.w)
			}
		}()
		return nil, fmt.Errorf("watch %s: no answer within %s", kv.Bucket(), within)
	}
}

// stoppingWatcher also ends the context its watch was set up with.
type stoppingWatcher struct {
	jetstream.KeyWatcher
	cancel context.CancelFunc
}

func (w stoppingWatcher) Stop() error {
	defer w.cancel()
	return w.KeyWatcher.Stop()
}

var errStalled = errors.New("watch stalled: the bucket holds revisions it does not deliver")

// consume applies a watch's entries until it closes, stalls or ctx ends.
func (f *follower) consume(ctx context.Context, w jetstream.KeyWatcher) error {
	tick := time.NewTicker(f.CheckEvery)
	defer tick.Stop()
	var delivered, behindSince, unknownSince time.Time
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				if f.Closed != nil {
					f.Closed()
				}
				return errors.New("watcher closed")
			}
			delivered = time.Now()
			if e == nil {
				// Everything the bucket held when the watch began is in,
				// including what was removed before it could be delivered.
				f.Logger.Debug("bucket loaded", "bucket", f.KV.Bucket(), "revision", f.loadRev)
				f.rev = max(f.rev, f.loadRev)
				if f.Loaded != nil {
					f.Loaded(f.rev)
				}
				continue
			}
			f.Apply(e)
			f.rev = max(f.rev, e.Revision())
		case now := <-tick.C:
			st, err := f.streamState(ctx)
			if err == nil && f.created.IsZero() {
				f.created = st.created // unknown when the watch began
			}
			switch {
			case err != nil && unknownSince.IsZero():
				unknownSince = now
				f.Logger.Warn("bucket state unknown; a stall cannot be told meanwhile", "bucket", f.KV.Bucket(), "error", err)
			case err == nil && !unknownSince.IsZero():
				f.Logger.Info("bucket state known again", "bucket", f.KV.Bucket(), "after", now.Sub(unknownSince))
				unknownSince = time.Time{}
			}
			switch {
			case err != nil:
				// Unknown (its stream electing a leader, say): the clock
				// of a stall already seen keeps running.
			case f.recreated(st):
				return fmt.Errorf("stream recreated (revision %d, applied %d)", st.LastSeq, f.rev)
			case st.LastSeq == f.rev:
				behindSince = time.Time{}
			case behindSince.IsZero():
				behindSince = now
				f.Logger.Debug("bucket ahead of its watch", "bucket", f.KV.Bucket(), "revision", st.LastSeq, "applied", f.rev)
			case now.Sub(later(delivered, behindSince)) >= f.StallAfter:
				// Behind, and nothing delivered for StallAfter: a watch
				// that lags but delivers is busy, not stalled.
				return fmt.Errorf("%w (revision %d, applied %d)", errStalled, st.LastSeq, f.rev)
			}
		}
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// streamState is what the follower checks of the bucket's stream.
type streamState struct {
	LastSeq uint64    // the revision of the bucket's last entry
	created time.Time // when the stream was created
}

func (f *follower) streamState(ctx context.Context) (streamState, error) {
	// Not bound by CheckEvery: on a loaded machine an answer may take
	// longer, and one that comes late is still worth having.
	ctx, cancel := context.WithTimeout(ctx, max(f.CheckEvery, time.Second))
	defer cancel()
	info, err := streamInfo(ctx, f.KV)
	if err != nil {
		return streamState{}, err
	}
	return streamState{LastSeq: info.State.LastSeq, created: info.Created}, nil
}

func streamInfo(ctx context.Context, kv jetstream.KeyValue) (*jetstream.StreamInfo, error) {
	st, err := kv.Status(ctx)
	if err != nil {
		return nil, err
	}
	bs, ok := st.(*jetstream.KeyValueBucketStatus)
	if !ok || bs.StreamInfo() == nil {
		return nil, fmt.Errorf("bucket %s: no stream info", kv.Bucket())
	}
	return bs.StreamInfo(), nil
}

// LastRevision is the revision of a bucket's last entry: its stream's last
// sequence.
func LastRevision(ctx context.Context, kv jetstream.KeyValue) (uint64, error) {
	info, err := streamInfo(ctx, kv)
	if err != nil {
		return 0, err
	}
	return info.State.LastSeq, nil
}
