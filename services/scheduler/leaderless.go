package scheduler

import (
	"context"
	"errors"
	"time"

	"github.com/drover/drover/pkg/events"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// A lock stream without a leader (docs/DESIGN.md, "A leaderless lock keeps
// its term"). When the NATS node leading the leader bucket's stream
// crashes, the others take 4-9 s to elect another: no write to the bucket
// lands meanwhile, the holder's renewals included, and the lock's record
// expires. Ending the term there would cost a change of leadership for a
// crash that did not touch the leader. Two rules let the holder keep it:
//
//   - The holder: a renewal answered "no stream leader" (no responders, or
//     JetStream's 503 "cluster not available"), or one unanswered and
//     followed by a probe answered so (probeLock), extends the lease like a
//     renewal would, from when that try was sent (leaseDeadline), for at
//     most maxLeaderless after the last renewal that landed. Once the
//     stream is back, the record has expired, and the holder rewrites it
//     on the condition that the bucket's last sequence is still its last
//     renewal's (resumeLock): nobody wrote the bucket in between, so
//     nobody held the lock, and the term goes on at its epoch.
//   - Everyone about to take the lock: not while the bucket's stream has
//     had its current leader for less than a TTL (lockHold). A holder's
//     last "no leader" answer was sent before that leader was elected, so
//     its extended deadline (that send + 3/4 TTL) has passed before anyone
//     may take the lock.

// maxLeaderless bounds how long a term outlives its last landed renewal
// while the lock's stream has no leader: an election takes 4-9 s; one that
// takes longer may be a cluster without a quorum, and the term ends.
const maxLeaderless = 15 * time.Second

// errNoLeader: the try reached no leader of the lock's stream.
var errNoLeader = errors.New("the leader bucket's stream has no leader")

// jsClusterNotAvail is nats-server's JSClusterNotAvailErr ("JetStream
// system temporarily unavailable"), answered by a member of a group that
// has no leader.
const jsClusterNotAvail = 10008

// leaderless says whether a write's error means the lock's stream had no
// leader: nobody subscribed to its subjects (the leader subscribes; its
// followers do not), or a member answering that the group has none. A
// timeout is not: an answer lost to a slow or cut-off link says nothing
// about who may write.
func leaderless(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) {
		return true
	}
	var api *jetstream.APIError
	return errors.As(err, &api) && api.ErrorCode == jsClusterNotAvail
}

// leaseDeadline is when a term stops trusting its lock: 3/4 TTL after its
// last landed renewal was sent, or after the last try answered "no
// leader" was sent if that is later and within maxLeaderless of the
// renewal. A zero noLeader means none.
func leaseDeadline(ttl time.Duration, renewed, noLeader time.Time) time.Time {
	d := renewed.Add(ttl * 3 / 4)
	if noLeader.After(renewed) && noLeader.Sub(renewed) <= maxLeaderless {
		if e := noLeader.Add(ttl * 3 / 4); e.After(d) {
			d = e
		}
	}
	return d
}

// lockHold is how long a scheduler must wait before it may take the lock,
// given its stream's cluster information as the stream leader gave it at
// now (its own clock; StreamInfo.TimeStamp): a TTL from the election of the
// stream's leader, none for a stream of fewer than three replicas, and a
// TTL while it has no leader.
func lockHold(ttl time.Duration, ci *jetstream.ClusterInfo, now time.Time) time.Duration {
	if ci == nil || len(ci.Replicas)+1 < minRaftPeers {
		return 0
	}
	if ci.Leader == "" {
		return ttl
	}
	if ci.LeaderSince == nil {
		return 0 // a server before 2.11, which holders do not outlive
	}
	if tenure := now.Sub(*ci.LeaderSince); tenure < ttl {
		return ttl - tenure
	}
	return 0
}

// lockStream reads the lock's stream cluster information, for lockHold.
type lockStream func(ctx context.Context) (*jetstream.ClusterInfo, time.Time, error)

// lockStreamOf reads it through the bucket's status.
func lockStreamOf(kv jetstream.KeyValue) lockStream {
	return func(ctx context.Context) (*jetstream.ClusterInfo, time.Time, error) {
		st, err := kv.Status(ctx)
		if err != nil {
			return nil, time.Time{}, err
		}
		bs, ok := st.(*jetstream.KeyValueBucketStatus)
		if !ok || bs.StreamInfo() == nil {
			return nil, time.Time{}, nil
		}
		return bs.StreamInfo().Cluster, bs.StreamInfo().TimeStamp, nil
	}
}

// probeLock asks whether the lock's stream has a leader: its error is
// leaderless when it has none. A renewal that goes unanswered probes,
// since a write of the lock's own key never hears "no responders" (agents
// subscribe to it).
type probeLock func(ctx context.Context) error

// probeLockOf probes through nc, the lease's connection: a publish on
// events.LeaderStreamProbe the stream's leader refuses unstored (it names
// another stream), and that nobody else hears.
func probeLockOf(nc *nats.Conn) probeLock {
	return func(ctx context.Context) error {
		m := nats.NewMsg(events.LeaderStreamProbe)
		m.Header.Set(events.HeaderExpectedStream, "drover-probe-no-such-stream")
		_, err := nc.RequestMsgWithContext(ctx, m)
		return err
	}
}

// resumeLock writes the record again on the condition that the bucket's
// stream last wrote sequence rev (this term's last renewal): the record
// expired while the stream had no leader, and nothing was written since.
type resumeLock func(ctx context.Context, data []byte, rev uint64) (uint64, error)

// resumeLockOf resumes through js, on the lease's connection.
func resumeLockOf(js jetstream.JetStream, bucket string) resumeLock {
	return func(ctx context.Context, data []byte, rev uint64) (uint64, error) {
		ack, err := js.Publish(ctx, events.KVSubject(bucket, events.LeaderKey), data, jetstream.WithExpectLastSequence(rev))
		if err != nil {
			return 0, err
		}
		return ack.Sequence, nil
	}
}
