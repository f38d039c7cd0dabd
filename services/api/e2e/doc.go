// Package e2e runs the api with a real scheduler and agent (on the
// in-memory runtime) on one in-process JetStream, and watches its events
// the way an operator does: with the real `nats` CLI and with /v2/events.
package e2e
