package events

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Stream names.
const (
	StreamHeartbeats = "DROVER_HEARTBEATS"
	StreamCommands   = "DROVER_COMMANDS"
	StreamStatus     = "DROVER_STATUS"
	StreamEvents     = "DROVER_EVENTS"
	StreamRequests   = "DROVER_REQUESTS"
)

// Bucket names.
const (
	BucketApps        = "apps"
	BucketDeployments = "deployments"
	BucketInstances   = "instances"
	BucketAgents      = "agents"
	BucketLeader      = "leader"
	BucketQueue       = "queue"
	// BucketSubscribers holds the HTTP callback subscriptions of
	// /v2/eventSubscriptions, one key per URL (SubscriberKey), shared by
	// every api replica.
	BucketSubscribers = "subscribers"
	// BucketPortClaims holds the dynamic service ports taken by apps, one
	// key per port (PortClaimKey), each created by compare-and-set, so two
	// api replicas never hand out the same one.
	BucketPortClaims = "portclaims"
)

// LeaderKey is the key in BucketLeader that schedulers race for.
const LeaderKey = "scheduler"

// LeaderKeySubject is the subject every write of LeaderKey is published on
// ($KV.<bucket>.<key>): a plain subscription follows the leader with no
// JetStream consumer, so thousands of agents can follow it cheaply. A
// message with a HeaderKVOperation header (DEL, PURGE) is a deletion. It is
// KVSubject(BucketLeader, LeaderKey), as a constant.
const LeaderKeySubject = KVPrefix + BucketLeader + "." + LeaderKey

// StatusConsumer is the durable consumer of StreamStatus that the leading
// scheduler reads; only one scheduler consumes it at a time.
const StatusConsumer = "scheduler-status"

// RequestsConsumer is the durable consumer of StreamRequests the leader reads.
const RequestsConsumer = "scheduler-requests"

// CallbackConsumer is the durable consumer of StreamEvents that the api
// replicas with HTTP callbacks on share: JetStream hands each event to one
// of them, which POSTs it to every subscriber, so each event goes to each
// URL once however many replicas run.
const CallbackConsumer = "api-callbacks"

// SubscriberKey is the BucketSubscribers key of a callback URL: the hex
// SHA-256 of the URL (a URL holds characters no key may).
func SubscriberKey(callbackURL string) string {
	sum := sha256.Sum256([]byte(callbackURL))
	return hex.EncodeToString(sum[:])
}

// PortClaimKey is the BucketPortClaims key of a service port: "p10000".
func PortClaimKey(port int) string { return "p" + strconv.Itoa(port) }

// PortFromClaimKey is the inverse of PortClaimKey.
func PortFromClaimKey(key string) (int, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(key, "p"))
	if err != nil || !strings.HasPrefix(key, "p") || n < 1 || n > 65535 || PortClaimKey(n) != key {
		return 0, fmt.Errorf("events: invalid port claim key %q", key)
	}
	return n, nil
}

// AgentCommandConsumer is the durable consumer name of an agent's commands.
func AgentCommandConsumer(agentID string) string { return "agent-" + agentID }

// AppKey is the apps bucket key of a normalised app id ("/grp/web" -> "grp/web").
func AppKey(appID string) string { return strings.TrimPrefix(appID, "/") }

// AppIDFromKey is the inverse of AppKey.
func AppIDFromKey(key string) string { return "/" + key }

// InstanceKey is the instances bucket key of a task id. Task ids are made by
// the scheduler from characters NATS keys accept.
func InstanceKey(taskID string) string { return taskID }

// ValidKey reports whether s is a key NATS KV accepts.
func ValidKey(s string) error {
	if s == "" || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") || strings.Contains(s, "..") {
		return fmt.Errorf("events: invalid key %q", s)
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9',
			r == '-', r == '/', r == '_', r == '=', r == '.':
		default:
			return fmt.Errorf("events: invalid key %q", s)
		}
	}
	return nil
}
