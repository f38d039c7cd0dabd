#!/usr/bin/env bash
# up.sh [N]: bring up Drover's local cluster on this Linux machine (as root):
# three masters (a 3-node NATS JetStream cluster, an api and a scheduler each)
# and N hosts (default 3), each a network namespace with its own address, its
# own Docker daemon and a drover agent. Idempotent: run again, it starts what
# is missing or dead and leaves what runs alone. down.sh removes it all.
#
#   DROVER_LC_DIR   state directory (default /var/lib/drover-localcluster)
#   DROVER_BIN      a drover binary to use instead of building ./cmd/drover
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
lock

n=${1:-3}
case $n in '' | *[!0-9]*) die "usage: up.sh [N hosts]" ;; esac
[ "$n" -ge 1 ] && [ "$n" -le 200 ] || die "N must be 1..200"
[ "$(id -u)" = 0 ] || die "run as root: the cluster needs network namespaces and Docker daemons"
for c in ip nsenter iptables dockerd docker setsid; do
  command -v "$c" >/dev/null || die "$c is required"
done
[ -n "${DROVER_BIN:-}" ] || command -v go >/dev/null || die "go is required (or DROVER_BIN)"
containerd_sock >/dev/null || die "no containerd socket found (set DROVER_LC_CONTAINERD)"

mkdir -p "$LC_DIR"
log "building drover and the httpd image from $LC_REPO"
build_binaries
htdocs
net_up

log "starting masters 1-$LC_MASTERS ($(master_addr 1)..$(master_addr "$LC_MASTERS"))"
for m in $(seq 1 "$LC_MASTERS"); do master_start "$m"; done

log "starting hosts 1-$n ($(host_addr 1)..$(host_addr "$n"))"
for i in $(seq 1 "$n"); do
  host_net_up "$i"
  docker_start "$i"
done
for i in $(seq 1 "$n"); do
  docker_wait "$i"
  docker_image "$i"
  agent_start "$i"
done

for m in $(seq 1 "$LC_MASTERS"); do
  wait_for 60 "api of master$m" curl -fsS -m 2 "http://$(master_addr "$m"):8080/v2/ping"
done
for m in $(seq 1 "$LC_MASTERS"); do
  for role in nats api scheduler; do alive "master$m-$role" || die "master$m-$role died: see $LC_DIR/logs/master$m-$role.log"; done
done
for i in $(seq 1 "$n"); do
  for role in dockerd agent; do alive "host$i-$role" || die "host$i-$role died: see $LC_DIR/logs/host$i-$role.log"; done
done

cat <<MSG
Drover local cluster is up: $LC_MASTERS masters, $n hosts.
  API:    $(for m in $(seq 1 "$LC_MASTERS"); do printf 'http://%s:8080 ' "$(master_addr "$m")"; done)
  NATS:   $(nats_urls)
  hosts:  $(for i in $(seq 1 "$n"); do printf 'host%s=%s ' "$i" "$(host_addr "$i")"; done)
  docker: docker -H unix://$(docker_sock 1) ps   (host1; likewise for the others)
  logs:   $LC_DIR/logs
Try:   curl -H 'Content-Type: application/json' -d@examples/test-docker.json http://$(master_addr 1):8080/v2/apps
Stop:  deploy/localcluster/down.sh
MSG
