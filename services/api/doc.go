// Package api is Drover's REST API: Marathon 1.x's /v2 dialect served by
// echo, over the JetStream buckets of pkg/events.
//
// Writes go straight to the buckets by compare-and-set (an app is created
// with KV Create and deleted with KV Delete at the revision read), and each
// one records the deployment it starts. Reads come from an in-memory read
// model that watches the apps, instances, deployments, queue, agents and
// leader buckets (and the events stream for task failures), so that no
// request scans a bucket (package readmodel). After a write, the handler waits (briefly) until
// the read model has caught up with it, so that a client reads its own
// writes from the replica it wrote through. Any number of replicas may run:
// they share nothing but JetStream.
//
// Every change goes through one path (change.go): a handler builds the ops
// from the read model, the change is checked against the running
// deployments (409 unless forced), stamped with a new version, written by
// compare-and-set (a lost race is rebuilt on the winning state), recorded
// as a deployment with Marathon's steps, and announced on drover.events.
// Task kills, launch delay resets and abdication are requests to the
// scheduler leader on its stream: the api never commands agents.
// docs/API.md lists where Drover chose for Marathon.
//
// One HTTPErrorHandler turns errors into Marathon's error bodies
// ({"message": ..., "details": [...]}); a 5xx body never carries internals.
//
// One guard stands in front of every route (package auth): with a
// credentials file it authenticates basic, bearer and login-cookie
// requests and lets viewers read and operators write; with or without, it
// refuses cross-origin writes. auth.Listen serves HTTPS. docs/SECURITY.md
// is the threat model. The steps of a deployment are planned by
// pkg/deployplan, which the scheduler shares.
package api
