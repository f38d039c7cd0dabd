// Package readmodel is the api's view of the cluster: it follows the apps,
// instances, deployments, queue, agents and leader buckets with KV watchers
// (and the events stream for task failures, failures.go) and keeps them in
// memory, so that no request scans a bucket.
//
// Handlers read the State inside Model.Read; its values are replaced, never
// modified. After a write, a handler waits with CaughtUp until the model
// has applied the revision it wrote, so that a client reads its own writes
// from the replica it wrote through.
package readmodel
