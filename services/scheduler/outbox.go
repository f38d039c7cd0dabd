package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/drover/drover/services/scheduler/decide"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// write is one message the leader owes JetStream: a command, an event, or
// a key put or deleted in a bucket (a KV write is a message on
// $KV.<bucket>.<key>).
type write struct {
	subject string
	data    []byte // the message, once encoded
	// encode encodes the message, until the flush that first publishes it:
	// a pass's thousands of writes wait in the outbox as what decide
	// already holds (an instance record is the scheduler's own), not as
	// JSON, and a launch command holds its app's JSON shared with every
	// other launch of that app queued with it (launchApps).
	encode func() ([]byte, error)
	msgID  string // dedup id (commands)
	del    bool   // a KV delete marker
	// lastRev, when not zero, is the revision the key must still be at
	// (Nats-Expected-Last-Subject-Sequence): a write that finds it
	// changed is refused, and never retried.
	lastRev uint64
	// afterPrevious: publish only once the write before it has landed.
	afterPrevious bool
	// bestEffort: a Marathon event, sent without waiting for JetStream's
	// acknowledgement (the events stream stores it all the same) and
	// never retried: events must not slow the launches and records
	// flushed with them, and a lost one never blocks scheduling.
	bestEffort bool
	epoch      uint64 // the term that decided it; other terms' writes are dropped
	attempts   int
}

// maxAttempts bounds how often one write is tried before it is dropped:
// retries run at the pace of reconciliation (every 500 ms or so), and a
// stream electing a new leader after a NATS node died refuses writes for up
// to 20 s, which must not cost a launch; a write that never lands (say, too
// large) stops being retried after about a minute.
const maxAttempts = 120

// The leader decides under s.mu (package decide) and queues what it decided
// in the outbox; flush publishes the queue after the lock is released,
// pipelined (async publishes, acknowledged in bulk), in the order it was
// queued. So no network round trip ever runs under the lock, and thousands
// of launches cost one pass, not thousands of round trips.

func kvSubject(kv jetstream.KeyValue, key string) string { return events.KVSubject(kv.Bucket(), key) }

// enqueue queues one write decide decided. Callers hold s.mu.
func (s *Scheduler) enqueue(d decide.Write) {
	w := write{epoch: s.epoch}
	switch {
	case d.Instance != nil:
		w.subject = kvSubject(s.bus.Instances, events.InstanceKey(d.Instance.TaskID))
		w.encode = func() ([]byte, error) { return events.Encode(*d.Instance) }
	case d.DeleteInstance != "":
		w.subject, w.del = kvSubject(s.bus.Instances, events.InstanceKey(d.DeleteInstance)), true
	case d.Command != nil:
		w.subject, w.msgID = events.AgentCommand(d.Command.AgentID), d.Command.Command.ID
		w.encode = s.commandEncoder(d.Command.Command)
	case d.Queue != nil:
		w.subject = kvSubject(s.bus.Queue, events.AppKey(d.Queue.AppID))
		w.encode = func() ([]byte, error) { return events.Encode(*d.Queue) }
	case d.DeleteQueue != "":
		w.subject, w.del = kvSubject(s.bus.Queue, events.AppKey(d.DeleteQueue)), true
	case d.Agent != nil:
		w.subject = kvSubject(s.bus.Agents, d.Agent.AgentID)
		w.encode = func() ([]byte, error) { return events.Encode(*d.Agent) }
	case d.DeleteDeployment != nil:
		w.subject, w.del = kvSubject(s.bus.Deployments, d.DeleteDeployment.Key), true
		w.lastRev = d.DeleteDeployment.Rev
	case d.AdvanceDeployment != nil:
		w.subject = kvSubject(s.bus.Deployments, d.AdvanceDeployment.Key)
		w.lastRev = d.AdvanceDeployment.Rev
		w.encode = func() ([]byte, error) { return events.Encode(d.AdvanceDeployment.D) }
	case d.Event != nil:
		// Best effort as ever: an event lost never blocks scheduling.
		w.subject, w.afterPrevious, w.bestEffort = events.Event(d.Event.Type), d.Event.AfterPrevious, true
		w.encode = func() ([]byte, error) { return events.MarshalEvent(d.Event.Type, d.Event.Payload) }
	default:
		return
	}
	s.outbox = append(s.outbox, w)
}

// commandEncoder encodes an agent command when it is flushed. A launch
// command's app is encoded now, once for all the launches of that app
// queued with it: thousands of launches hold one copy of the app's JSON
// between them, not one copy of the app each. Callers hold s.mu.
func (s *Scheduler) commandEncoder(cmd events.Command) func() ([]byte, error) {
	if cmd.Launch == nil {
		return func() ([]byte, error) { return events.Encode(cmd) }
	}
	app, err := json.Marshal(cmd.Launch.App)
	if err != nil {
		return func() ([]byte, error) { return nil, fmt.Errorf("events: encode the app of launch %s: %w", cmd.ID, err) }
	}
	if shared, ok := s.launchApps[string(app)]; ok {
		app = shared
	} else {
		if s.launchApps == nil {
			s.launchApps = map[string][]byte{}
		}
		s.launchApps[string(app)] = app
	}
	// Every field of LaunchSpec but App (TestOutboxKeepsEveryLaunchField).
	ports, env := cmd.Launch.HostPorts, cmd.Launch.Env
	cmd.Launch = nil
	return func() ([]byte, error) {
		c := cmd
		c.Launch = &events.LaunchSpec{HostPorts: ports, Env: env}
		return events.EncodeLaunch(c, app)
	}
}

// flushBatch bounds the publishes awaiting acknowledgement at once.
const flushBatch = 2000

// result is what became of one write of a flush.
type result int

const (
	unsent  result = iota // not acknowledged: retried at the next pass
	landed                // acknowledged
	refused               // its revision check failed: never retried
)

// flush publishes everything queued by the current term, in order;
// concurrent flushes take turns, and writes of an ended term are dropped
// (a KV write carries no epoch: a deposed leader's must never land). Writes
// JetStream did not acknowledge go back to the front of the queue for the
// next pass (commands are deduplicated by id and KV writes are idempotent),
// unless a later write of the same subject landed; after maxAttempts a write
// is dropped and the next reconciliation decides afresh.
func (s *Scheduler) flush(ctx context.Context) {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	epoch := s.epoch
	batch := s.outbox[:0] // filtered in place: the outbox can hold a pass of thousands
	for _, w := range s.outbox {
		if w.epoch == epoch && epoch != 0 {
			batch = append(batch, w)
		}
	}
	s.outbox = nil
	s.launchApps = nil // what is taken holds the apps it shares
	s.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	res := make([]result, len(batch))
	for i := 0; i < len(batch) && ctx.Err() == nil; {
		n := min(flushBatch, len(batch)-i)
		for j := i + 1; j < i+n; j++ {
			if batch[j].afterPrevious { // a run ends before a write that waits
				n = j - i
				break
			}
		}
		if batch[i].afterPrevious && i > 0 && res[i-1] != landed {
			res[i] = res[i-1] // the write it follows did not land: nor does it
		} else {
			s.publish(ctx, batch[i:i+n], res[i:i+n])
			for j := i; j < i+n; j++ {
				if res[j] != unsent {
					batch[j].data = nil // only what is retried is kept
				}
			}
		}
		i += n
	}
	if ctx.Err() != nil {
		return
	}
	s.retry(epoch, batch, res)
}

// retry queues again, at the front, what was not acknowledged, unless a
// later write of the same subject landed.
func (s *Scheduler) retry(epoch uint64, batch []write, res []result) {
	landedAfter := map[string]bool{}
	var retry []write
	for i := len(batch) - 1; i >= 0; i-- {
		switch {
		case res[i] == landed:
			landedAfter[batch[i].subject] = true
		case res[i] == refused:
		case !landedAfter[batch[i].subject] && batch[i].attempts+1 < maxAttempts:
			w := batch[i]
			w.attempts++
			if w.afterPrevious && i > 0 && res[i-1] == landed {
				w.afterPrevious = false // what it waited for is done
			}
			retry = append(retry, w)
		case !landedAfter[batch[i].subject]:
			s.logger.Warn("dropping a write after repeated failures", "subject", batch[i].subject)
		}
	}
	if len(retry) == 0 {
		return
	}
	slices.Reverse(retry)
	s.logger.Warn("publishes not acknowledged, retrying at the next pass", "count", len(retry))
	s.mu.Lock()
	if s.epoch == epoch {
		s.outbox = append(retry, s.outbox...)
	}
	s.mu.Unlock()
}

// publish sends a batch and marks in res what JetStream acknowledged or
// refused. Publishing does not retry by itself: a resend after the rest of
// the batch went out could land a key's older write after its newer one.
func (s *Scheduler) publish(ctx context.Context, batch []write, res []result) {
	futures := make([]jetstream.PubAckFuture, len(batch))
	for i := range batch {
		if !batch[i].encoded(s.logger) {
			res[i] = refused
			continue
		}
		w := batch[i]
		msg := &nats.Msg{Subject: w.subject, Data: w.data, Header: nats.Header{}}
		if w.del {
			msg.Header.Set(events.HeaderKVOperation, events.KVOperationDelete)
		}
		if w.lastRev != 0 {
			msg.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(w.lastRev, 10))
		}
		if w.bestEffort {
			if err := s.nc.PublishMsg(msg); err != nil {
				s.logger.Warn("cannot publish event", "subject", w.subject, "error", err)
			}
			res[i] = landed // or lost: either way not retried
			continue
		}
		opts := []jetstream.PublishOpt{jetstream.WithRetryAttempts(0)}
		if w.msgID != "" {
			opts = append(opts, jetstream.WithMsgID(w.msgID))
		}
		f, err := s.bus.JS.PublishMsgAsync(msg, opts...)
		if err != nil {
			s.logger.Warn("cannot publish", "subject", w.subject, "error", err)
			continue
		}
		futures[i] = f
	}
	timeout := time.NewTimer(5 * time.Second)
	defer timeout.Stop()
	for i, f := range futures {
		if f == nil {
			continue
		}
		select {
		case <-f.Ok():
			res[i] = landed
		case err := <-f.Err():
			if revisionChanged(err) {
				res[i] = refused
				s.logger.Warn("write refused: the key changed since it was read", "subject", batch[i].subject, "error", err)
				continue
			}
			s.logger.Warn("publish not acknowledged", "subject", batch[i].subject, "error", err)
		case <-timeout.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// encoded encodes w's message if it is not yet, and says whether it has
// one; a write that cannot be encoded is logged and never sent.
func (w *write) encoded(logger *slog.Logger) bool {
	if w.encode == nil {
		return true
	}
	data, err := w.encode()
	if err != nil {
		// Nothing a write holds is meant to fail encoding: decide's own
		// types, and apps the api validated and encoded before.
		logger.Error("cannot encode a write", "subject", w.subject, "error", err)
		return false
	}
	w.data, w.encode = data, nil // a retry sends what was encoded
	return true
}

// revisionChanged: JetStream refused a write whose expected last sequence
// no longer held (10071; 10164 on replicated streams).
func revisionChanged(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
}
