// Package api is Drover's REST API: Marathon 1.x's /v2 dialect served by
// echo, over the JetStream buckets of pkg/events.
//
// Writes go straight to the buckets by compare-and-set (an app is created
// with KV Create and deleted with KV Delete at the revision read), and each
// one records the deployment it starts. Reads come from an in-memory read
// model that watches the apps, instances, deployments and leader buckets, so
// that no request scans a bucket. After a write, the handler waits (briefly)
// until the read model has caught up with it, so that a client reads its own
// writes from the replica it wrote through. Any number of replicas may run:
// they share nothing but JetStream.
//
// One HTTPErrorHandler turns errors into Marathon's error bodies
// ({"message": ..., "details": [...]}); a 5xx body never carries internals.
package api
