package events

// NATS' and JetStream's own subjects and headers, on which Drover's streams
// and buckets sit. nats.go keeps most of them unexported; Drover needs them
// to publish KV writes itself (the scheduler's outbox), to follow a key by
// plain subscription (the agents), and to grant permissions (natsauth).
const (
	// KVPrefix begins the subject of every key-value write: $KV.<bucket>.<key>.
	KVPrefix = "$KV."
	// JSAPIPrefix begins every JetStream API request: $JS.API.<request>.
	JSAPIPrefix = "$JS.API."
	// JSAckPrefix begins the reply subject of every message a JetStream
	// consumer delivers (its acknowledgement): $JS.ACK.<stream>.<consumer>....
	JSAckPrefix = "$JS.ACK."
	// JSFlowControlPrefix begins JetStream's flow-control subjects: $JS.FC.<...>.
	JSFlowControlPrefix = "$JS.FC."
	// inboxPrefix is the prefix of NATS' default reply subjects.
	inboxPrefix = "_INBOX."
	// kvStreamPrefix begins the name of the stream behind a bucket: KV_<bucket>.
	kvStreamPrefix = "KV_"
)

// HeaderKVOperation is the header of a key-value write that removes its key;
// a write without it is a put.
const HeaderKVOperation = "KV-Operation"

// The values of HeaderKVOperation.
const (
	KVOperationDelete = "DEL"   // the key is deleted (its history kept)
	KVOperationPurge  = "PURGE" // the key and its history are removed
)

// KVSubject is the subject a write of key in bucket is published on:
// $KV.<bucket>.<key>. KVSubject(bucket, ">") matches every key.
func KVSubject(bucket, key string) string { return KVPrefix + bucket + "." + key }

// KVStream is the name of the stream behind a bucket: KV_<bucket>.
func KVStream(bucket string) string { return kvStreamPrefix + bucket }

// InboxPrefix is the reply-subject prefix of a user's connection:
// _INBOX.<user>. With it, and permission to subscribe to nothing else under
// _INBOX, no user can read the replies meant for another (JetStream
// answers, KV values, watch deliveries).
func InboxPrefix(user string) string { return inboxPrefix + user }
