// Package decide is the scheduler leader's decisions as pure functions: Pass
// takes the leader's state as plain values (apps and their launch backoff,
// deployments, agents and their last heartbeats, instances, the queue, the
// kill bookkeeping, the clock, how far the leader trusts its own view, the
// silent-majority brake, the configuration) and returns what to do
// (Decisions: records to write and delete, commands, events, and the state
// that changes with them). Status, KillTasks, Relaunch and Stray decide on
// a status report, the api's kill request, a new term and a deposed
// leader's late write, through the same rules.
//
// It reads no clock and touches no network: it imports neither NATS nor
// Docker (imports_test.go keeps it so). The scheduler package mirrors the
// buckets, reads heartbeats, applies the decisions and publishes them.
package decide
