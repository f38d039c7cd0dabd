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
	subject string
	data    []byte
	msgID   string // dedup id (commands)
	del     bool   // a KV delete marker
}

// The leader decides under s.mu and queues what it decided in the outbox;
// flush publishes the queue after the lock is released, pipelined (async
// publishes, acknowledged in bulk), in the order it was queued. So no
// network round trip ever runs under the lock, and thousands of launches
// cost one pass, not thousands of round trips.

func kvSubject(kv jetstream.KeyValue, key string) string { return "$KV." + kv.Bucket() + "." + key }

// queuePut queues a KV put. Callers hold s.mu.
func (s *Scheduler) queuePut(kv jetstream.KeyValue, key string, data []byte) {
	s.outbox = append(s.outbox, write{subject: kvSubject(kv, key), data: data})
}

// queueDelete queues a KV delete. Callers hold s.mu.
func (s *Scheduler) queueDelete(kv jetstream.KeyValue, key string) {
	s.outbox = append(s.outbox, write{subject: kvSubject(kv, key), del: true})
}

// flushBatch bounds the publishes awaiting acknowledgement at once.
const flushBatch = 2000

// flush publishes everything queued, in order. Concurrent flushes take
// turns. Writes JetStream did not acknowledge go back to the front of the
// queue for the next flush (commands are deduplicated by id and KV writes
// are idempotent, so a write stored but not acknowledged may be sent twice),
// unless a later write of the same key in the batch succeeded.
func (s *Scheduler) flush(ctx context.Context) {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	batch := s.outbox
	s.outbox = nil
	s.mu.Unlock()
	var failed []write
	for len(batch) > 0 && ctx.Err() == nil {
		n := min(len(batch), flushBatch)
		failed = append(failed, s.publish(ctx, batch[:n])...)
		batch = batch[n:]
	}
	if len(failed) == 0 || ctx.Err() != nil {
		return
	}
	s.logger.Warn("publishes not acknowledged, retrying", "count", len(failed))
	s.mu.Lock()
	s.outbox = append(failed, s.outbox...)
	s.mu.Unlock()
	s.poke()
}

// publish sends a batch and returns the writes to retry.
func (s *Scheduler) publish(ctx context.Context, batch []write) []write {
	futures := make([]jetstream.PubAckFuture, len(batch))
	for i, w := range batch {
		msg := &nats.Msg{Subject: w.subject, Data: w.data, Header: nats.Header{}}
		if w.del {
			msg.Header.Set("KV-Operation", "DEL")
		}
		var opts []jetstream.PublishOpt
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
	ok := make([]bool, len(batch))
	timeout := time.NewTimer(5 * time.Second)
	defer timeout.Stop()
wait:
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
			break wait
		case <-ctx.Done():
			return nil
		}
	}
	// Retry what failed, unless a later write of the same subject landed.
	landedAfter := map[string]bool{}
	var retry []write
	for i := len(batch) - 1; i >= 0; i-- {
		switch {
		case ok[i]:
			landedAfter[batch[i].subject] = true
		case !landedAfter[batch[i].subject]:
			retry = append(retry, batch[i])
		}
	}
	slices.Reverse(retry)
	return retry
}
