package scheduler

import (
	"context"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// write is one message the leader owes JetStream: a command, or a key put or
// deleted in a bucket (a KV write is a message on $KV.<bucket>.<key>).
type write struct {
	subject  string
	data     []byte
	msgID    string // dedup id (commands)
	del      bool   // a KV delete marker
	epoch    uint64 // the term that decided it; other terms' writes are dropped
	attempts int
}

// maxAttempts bounds how often one write is tried before it is dropped:
// retries run at the pace of reconciliation (every 500 ms or so), and a
// stream electing a new leader after a NATS node died refuses writes for up
// to 20 s, which must not cost a launch; a write that never lands (say, too
// large) stops being retried after about a minute.
const maxAttempts = 120

// The leader decides under s.mu and queues what it decided in the outbox;
// flush publishes the queue after the lock is released, pipelined (async
// publishes, acknowledged in bulk), in the order it was queued. So no
// network round trip ever runs under the lock, and thousands of launches
// cost one pass, not thousands of round trips.

func kvSubject(kv jetstream.KeyValue, key string) string { return "$KV." + kv.Bucket() + "." + key }

// queuePut queues a KV put. Callers hold s.mu.
func (s *Scheduler) queuePut(kv jetstream.KeyValue, key string, data []byte) {
	s.outbox = append(s.outbox, write{subject: kvSubject(kv, key), data: data, epoch: s.epoch})
}

// queueDelete queues a KV delete. Callers hold s.mu.
func (s *Scheduler) queueDelete(kv jetstream.KeyValue, key string) {
	s.outbox = append(s.outbox, write{subject: kvSubject(kv, key), del: true, epoch: s.epoch})
}

// flushBatch bounds the publishes awaiting acknowledgement at once.
const flushBatch = 2000

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
	var batch []write
	for _, w := range s.outbox {
		if w.epoch == epoch && epoch != 0 {
			batch = append(batch, w)
		}
	}
	s.outbox = nil
	s.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	ok := make([]bool, len(batch))
	for i := 0; i < len(batch) && ctx.Err() == nil; i += flushBatch {
		s.publish(ctx, batch[i:min(i+flushBatch, len(batch))], ok[i:min(i+flushBatch, len(batch))])
	}
	if ctx.Err() != nil {
		return
	}
	// Retry what failed, unless a later write of the same subject landed.
	landedAfter := map[string]bool{}
	var retry []write
	for i := len(batch) - 1; i >= 0; i-- {
		switch {
		case ok[i]:
			landedAfter[batch[i].subject] = true
		case !landedAfter[batch[i].subject] && batch[i].attempts+1 < maxAttempts:
			w := batch[i]
			w.attempts++
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

// publish sends a batch and marks in ok what JetStream acknowledged.
// Publishing does not retry by itself: a resend after the rest of the batch
// went out could land a key's older write after its newer one.
func (s *Scheduler) publish(ctx context.Context, batch []write, ok []bool) {
	futures := make([]jetstream.PubAckFuture, len(batch))
	for i, w := range batch {
		msg := &nats.Msg{Subject: w.subject, Data: w.data, Header: nats.Header{}}
		if w.del {
			msg.Header.Set("KV-Operation", "DEL")
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
			ok[i] = true
		case err := <-f.Err():
			s.logger.Warn("publish not acknowledged", "subject", batch[i].subject, "error", err)
		case <-timeout.C:
			return
		case <-ctx.Done():
			return
		}
	}
}
