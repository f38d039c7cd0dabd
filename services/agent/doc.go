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
//     runtime's own events, as a TaskStatus on the status stream.
//
// The runtime is the small Runtime interface: services/agent/docker runs
// Docker containers through the Engine API; services/agent/memruntime keeps
// fake tasks in memory for tests and the scale simulator.
package agent
