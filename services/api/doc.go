// Package api is Drover's REST API: Marathon 1.x's /v2 dialect served by
// echo, over the JetStream buckets of pkg/events. It holds the server, the
// routes and the handlers; each concern they lean on is a package below:
//
//   - readmodel: the in-memory view of the buckets (and of task failures on
//     the events stream) that every read comes from, so that no request
//     scans a bucket. After a write, the handler waits (briefly) until the
//     read model has caught up with it, so that a client reads its own
//     writes from the replica it wrote through. Any number of replicas may
//     run: they share nothing but JetStream.
//   - change: the one write path. A handler builds the ops from the read
//     model (write.go is the handlers' common skeleton); the change is
//     checked against the running deployments (409 unless forced), stamped
//     with a new version, written by compare-and-set (a lost race is
//     rebuilt on the winning state), recorded as a deployment with
//     Marathon's steps (planned by pkg/deployplan, which the scheduler
//     shares), and announced on drover.events.
//   - view: Marathon's JSON of apps, tasks, groups, deployments, the queue
//     and the cluster.
//   - apierr: the errors handlers return and Marathon's error body each
//     becomes ({"message": ..., "details": [...]}); a 5xx body never
//     carries internals. One HTTPErrorHandler (errors.go) writes them.
//   - auth: the guard in front of every route. With a credentials file it
//     authenticates basic, bearer and login-cookie requests and lets viewers
//     read and operators write; with or without, it refuses cross-origin
//     writes. auth.Listen serves HTTPS. docs/SECURITY.md is the threat
//     model.
//   - sse (/v2/events), metrics (/metrics, /metrics/prometheus), labels (?label=) and listcache
//     (GET /v2/apps' encoded answers).
//
// Task kills, launch delay resets and abdication are requests to the
// scheduler leader on its stream: the api never commands agents.
// docs/API.md lists where Drover chose for Marathon.
package api
