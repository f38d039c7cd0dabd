// Package scheduler is Drover's scheduler: one leader at a time (see
// leader.go) keeps the running tasks equal to the apps' desired state. It
// watches the apps and deployments buckets, takes agents' heartbeats and
// task status reports, decides with the pure package decide (which places
// with package placement), and publishes what it decided, launch and kill
// commands fenced by its epoch among it. README.md has the pipeline.
package scheduler
