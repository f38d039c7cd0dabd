// Package agent is Drover's agent service: one per host, it runs the tasks the
// scheduler leader sends it on the host's container runtime and reports what
// happens to them.
//
// The agent
//   - publishes a Heartbeat every second (core NATS, captured by the
//     heartbeats stream): its resources, attributes, policy, the runtime's
//     health and every task the runtime holds;
//   - consumes its commands (launch, kill) from a durable pull consumer on
//     the commands stream, refusing any whose epoch is below the highest it
//     has seen (fencing a deposed leader), and running commands of different
//     tasks concurrently but never two of one task at once;
//   - reports every task state change, from command results and from the
//     runtime's own events, as a TaskStatus on the status stream;
//   - runs the health and readiness checks of its running tasks (checks.go)
//     and reports their results: in a TaskStatus (state TASK_RUNNING)
//     whenever a check's Alive or ConsecutiveFailures changes or the task
//     becomes ready, and in every heartbeat. The scheduler decides what to
//     do about an unhealthy task.
//
// Health checks run next to the task, one goroutine per check, their probes
// bounded by Config.MaxConcurrentChecks: HTTP, HTTPS and TCP connect to the
// agent's address (127.0.0.1 when it is a hostname that does not resolve)
// and the task's host port, as Marathon's checks do from outside; the
// MESOS_ variants connect to the container's IP and port, as Mesos' do from
// inside the task's network (the host's address and port without one);
// COMMAND runs /bin/sh -c in the container through a runtime that is an
// Execer. Failures before the first success within gracePeriodSeconds are
// not counted. Readiness checks run until the task is first ready.
//
// A task's checks come from its launch. A runtime that is a CheckRecaller
// keeps them with the task (the Docker runtime, in a container label), so
// that an agent restarted keeps checking the tasks it adopts.
//
// The runtime is the small Runtime interface: services/agent/docker runs
// Docker containers through the Engine API; services/agent/command runs
// apps without an image as commands on the host, in sandboxes, where the
// agent's policy allows host commands; Routed sends each task to one of
// the two; services/agent/memruntime keeps fake tasks in memory for tests
// and the scale simulator.
package agent
