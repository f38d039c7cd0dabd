// Package change is the api's one write path. A handler builds a Spec (the
// ops on each app) from the read model; the Writer gives its apps' 0
// service ports free ones (ports.go), stamps it with a new version and
// plans its deployment (pkg/deployplan), checks it against the running
// deployments (409 unless forced), writes every app by compare-and-set (a
// lost race is rebuilt on the winning state), records the deployment,
// waits until the read model shows the writes, and announces the change
// on drover.events. Stage does the same without writing, for a dry run.
package change
