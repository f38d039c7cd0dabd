// Package natsutil starts an embedded JetStream node and connects the
// services to NATS, so every process sets both up the same way.
package natsutil
