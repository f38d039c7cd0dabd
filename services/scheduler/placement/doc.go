// Package placement decides where tasks run. It is a pure function of a
// snapshot: agents with their resources and the tasks already on them in,
// a Result out (launches, and for what cannot be placed, how many agents were
// rejected for which reason). It imports neither NATS nor Docker.
package placement
