package scheduler

import (
	"context"
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

// flush publishes everything queued, in order. Concurrent flushes take turns.
func (s *Scheduler) flush(ctx context.Context) {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	batch := s.outbox
	s.outbox = nil
	s.mu.Unlock()
	for len(batch) > 0 {
		n := min(len(batch), flushBatch)
		s.publish(ctx, batch[:n])
		batch = batch[n:]
	}
}

func (s *Scheduler) publish(ctx context.Context, batch []write) {
	futures := make([]jetstream.PubAckFuture, 0, len(batch))
	for _, w := range batch {
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
		futures = append(futures, f)
	}
	timeout := time.NewTimer(5 * time.Second)
	defer timeout.Stop()
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			s.logger.Warn("publish not acknowledged", "subject", f.Msg().Subject, "error", err)
		case <-timeout.C:
			s.logger.Warn("publishes not acknowledged within 5s", "pending", len(futures))
			return
		case <-ctx.Done():
			return
		}
	}
}
