// Package view is Marathon's JSON of what the api serves: apps with their
// embeds, tasks, groups, deployments, the launch queue, the cluster view
// and /v2/info, built from the read model's State (package readmodel).
// It reads, never writes: the handlers of package api choose what to show
// and answer it.
package view
