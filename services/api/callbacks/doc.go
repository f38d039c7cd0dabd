// Package callbacks is Marathon's HTTP callback event subscriber
// (`--event_subscriber http_callback`): /v2/eventSubscriptions registers
// callback URLs, and every Marathon event is POSTed as JSON to each of them.
//
// Registrations live in the subscribers bucket, shared by every api
// replica; each replica follows it. The replicas with callbacks on share
// one durable consumer of the events stream (events.CallbackConsumer), so
// JetStream hands each event to one replica, which POSTs it to every URL:
// once per URL, however many replicas run. Each URL has a worker of its
// own with a bounded queue: a slow or dead subscriber delays only itself,
// and what its queue cannot hold is dropped and counted, never queued
// without bound.
package callbacks
