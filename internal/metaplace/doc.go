// Package metaplace keeps the JetStream meta group's leader off the NATS
// node of the leading scheduler's master.
//
// A new leading scheduler creates its consumers as its term starts, and an
// agent sets its own up: both need the meta leader. When the leading
// scheduler's master crashes and its NATS node led the meta group, the new
// leader waits nats-server's election timeout (random 4-9 s) for one. The
// scheduler moves the leaders of the streams and consumers it needs off its
// master (services/scheduler, raftplace.go) but cannot move the meta leader:
// nats-server answers $JS.API.META.LEADER.STEPDOWN for the system account
// only. drover nats runs the node in-process, so it acts with the server's
// own authority: it follows the leader record (events.LeaderRecord
// NATSServer) and, while it leads the meta group and the leading scheduler
// is beside it, hands the meta leadership to a current peer.
//
// Decide is the decision, pure; Steward gathers its inputs from the
// embedded server and the leader record, asks for the stepdown and logs it.
package metaplace
