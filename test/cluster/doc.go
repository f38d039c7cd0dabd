// Package cluster runs the scenario of the document Drover started from
// (seed/README.md) on a local multi-host cluster: deploy/localcluster/up.sh
// makes every host a network namespace with its own address, Docker daemon
// and agent, beside three masters (a 3-node NATS JetStream cluster, api and
// scheduler replicas). The test posts examples/test-docker.json unchanged,
// then kills containers, Docker daemons, hosts, masters and a host's network,
// and times each recovery (docs/BENCHMARKS.md).
//
// It needs root, dockerd, iproute2 and nsenter: elsewhere it skips, unless
// CI=true, where it fails instead.
package cluster
