// Package events is the only place where Drover's JetStream names exist: the
// streams, key-value buckets and subjects the services talk through, a builder
// and a parser for every subject, and one versioned Go type per message. It
// imports no NATS: package natsbus sets the streams and buckets up (Setup)
// and binds them (Open). See DESIGN.md for who writes and reads what.
package events
