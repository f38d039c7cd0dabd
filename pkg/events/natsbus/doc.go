// Package natsbus sets up and binds, on NATS JetStream, the streams and
// buckets package events names: Setup creates them, Open binds what another
// process created, and Bus holds the handles. Package events itself stays
// free of NATS, so pure code (the scheduler's decisions) can use its types.
package natsbus
