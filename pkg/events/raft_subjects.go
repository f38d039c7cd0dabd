package events

import (
	"fmt"
	"strings"
)

// JetStream's own subjects for moving Raft group leaders (nats-server 2.11+)
// and for hearing of their elections. The leading scheduler uses them to
// keep leaders off the NATS node of its own master (services/scheduler,
// raftplace.go).
const (
	// jsAdvisoryPrefix begins JetStream's advisories: $JS.EVENT.ADVISORY.<...>.
	jsAdvisoryPrefix = "$JS.EVENT.ADVISORY."
	// StreamLeaderElectedAll matches the advisory of every stream's leader
	// election: $JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED.<stream>
	StreamLeaderElectedAll = jsAdvisoryPrefix + "STREAM.LEADER_ELECTED.*"
	// ConsumerLeaderElectedAll matches the advisory of every consumer's
	// leader election: $JS.EVENT.ADVISORY.CONSUMER.LEADER_ELECTED.<stream>.<consumer>
	ConsumerLeaderElectedAll = jsAdvisoryPrefix + "CONSUMER.LEADER_ELECTED.*.*"
)

// LeaderStreamProbe is the subject the scheduler holding the lock probes
// the leader bucket's stream on: $KV.leader.probe, a key nobody writes or
// follows. Sent with HeaderExpectedStream naming no stream, it is refused
// by the stream's leader and never stored; "no responders" means the
// stream has no leader (LeaderKeySubject cannot tell: agents follow it by
// plain subscription, so a write there without a leader gets no answer
// rather than "no responders").
const LeaderStreamProbe = KVPrefix + BucketLeader + ".probe"

// HeaderExpectedStream makes JetStream refuse a publish that does not
// reach the stream named (nats.go's jetstream.ExpectedStreamHdr).
const HeaderExpectedStream = "Nats-Expected-Stream"

// StreamLeaderStepdown is the request that makes a stream's leader step
// down: $JS.API.STREAM.LEADER.STEPDOWN.<stream>. Its body may name the
// server to hand leadership to (StepdownRequest).
func StreamLeaderStepdown(stream string) string {
	return JSAPIPrefix + "STREAM.LEADER.STEPDOWN." + stream
}

// MetaLeaderStepdown is the request that makes the JetStream meta group's
// leader step down: $JS.API.META.LEADER.STEPDOWN. nats-server answers it
// only for the system account (drover nats sends it, internal/metaplace).
const MetaLeaderStepdown = JSAPIPrefix + "META.LEADER.STEPDOWN"

// ConsumerLeaderStepdown is the request that makes a consumer's leader step
// down: $JS.API.CONSUMER.LEADER.STEPDOWN.<stream>.<consumer>.
func ConsumerLeaderStepdown(stream, consumer string) string {
	return JSAPIPrefix + "CONSUMER.LEADER.STEPDOWN." + stream + "." + consumer
}

// StepdownRequest is the body of a leader stepdown naming the server that
// should lead next (nats-server's JSApiLeaderStepdownRequest).
type StepdownRequest struct {
	Placement StepdownPlacement `json:"placement"`
}

// StepdownPlacement names the preferred next leader by server name.
type StepdownPlacement struct {
	Preferred string `json:"preferred"`
}

// ParseLeaderElected returns the stream, and the consumer for a consumer's
// election, of a leader-elected advisory subject.
func ParseLeaderElected(subject string) (stream, consumer string, err error) {
	rest, ok := strings.CutPrefix(subject, jsAdvisoryPrefix)
	if !ok {
		return "", "", fmt.Errorf("%w: %q is no advisory", ErrBadSubject, subject)
	}
	tok := strings.Split(rest, ".")
	switch {
	case len(tok) == 3 && tok[0] == "STREAM" && tok[1] == "LEADER_ELECTED" && tok[2] != "":
		return tok[2], "", nil
	case len(tok) == 4 && tok[0] == "CONSUMER" && tok[1] == "LEADER_ELECTED" && tok[2] != "" && tok[3] != "":
		return tok[2], tok[3], nil
	}
	return "", "", fmt.Errorf("%w: %q is no leader election advisory", ErrBadSubject, subject)
}
