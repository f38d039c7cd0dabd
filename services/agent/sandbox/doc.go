// Package sandbox is what the agent's runtimes share of their tasks'
// sandboxes, the directories Mesos gives every task: Fetch downloads an
// app's fetch (or uris) into one, as Mesos' fetcher does, within
// FetchLimits; ReadFile serves a file of one to the api (GET
// /v2/tasks/{id}/files/{path}) through an os.Root, so that nothing a task
// made of its sandbox leads a read out of it.
//
// The command runtime (services/agent/command) fetches in a process of
// the task's user, in the task's own directory; the Docker runtime
// (services/agent/docker) fetches in the agent, into the host directory it
// then bind-mounts at /mnt/mesos/sandbox. Both read files here.
package sandbox
