// Package events is the only place where Drover's JetStream names exist: the
// streams, key-value buckets and subjects the services talk through, a builder
// and a parser for every subject, one versioned Go type per message, and the
// idempotent setup of all of them. See DESIGN.md for who writes and reads what.
package events
