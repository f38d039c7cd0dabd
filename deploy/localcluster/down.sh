#!/usr/bin/env bash
# down.sh: remove Drover's local cluster and everything up.sh made: the
# processes, every host's containers and Docker daemon, their containerd
# namespaces, cgroups and mounts, the network namespaces, veths, the drover0
# bridge and its iptables rule, the state directory, and /var/nfsshare/htdocs
# when up.sh created it. Idempotent: safe to run on a half-built or absent cluster.
set -uo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
lock

[ "$(id -u)" = 0 ] || die "run as root"
hs=$(hosts)

# Masters' schedulers first (nothing new gets launched), then agents and apis.
for m in $(seq 1 "$LC_MASTERS"); do stop "master$m-scheduler" 5; done
for i in $hs; do stop "host$i-agent" 5; done
for m in $(seq 1 "$LC_MASTERS"); do stop "master$m-api" 5; done

for i in $hs; do
  if alive "host$i-dockerd"; then
    ids=$(timeout 20 docker -H "unix://$(docker_sock "$i")" ps -aq 2>/dev/null)
    [ -z "$ids" ] || timeout 60 docker -H "unix://$(docker_sock "$i")" rm -f $ids >/dev/null 2>&1
  fi
  stop "host$i-dockerd" 20
  # Whatever a killed daemon left: docker-proxy, fuse-overlayfs, containers.
  pids=$( (netns_pids "$i"; cgroup_pids "$i") | sort -u | tr '\n' ' ')
  [ -z "${pids// /}" ] || kill -9 $pids 2>/dev/null
done
for m in $(seq 1 "$LC_MASTERS"); do stop "master$m-nats" 10; done
for f in "$LC_DIR"/pids/*.pid; do [ -e "$f" ] && stop "$(basename "$f" .pid)" 5; done

# containerd: tasks of killed daemons, then the namespaces themselves.
if sock=$(containerd_sock) && command -v ctr >/dev/null; then
  for ns in $(ctr -a "$sock" namespaces ls -q 2>/dev/null | grep '^drover-lc-host'); do
    for id in $(ctr -a "$sock" -n "$ns" tasks ls -q 2>/dev/null); do
      ctr -a "$sock" -n "$ns" tasks kill -a -s SIGKILL "$id" >/dev/null 2>&1
      ctr -a "$sock" -n "$ns" tasks rm -f "$id" >/dev/null 2>&1
    done
    for id in $(ctr -a "$sock" -n "$ns" containers ls -q 2>/dev/null); do
      ctr -a "$sock" -n "$ns" containers rm "$id" >/dev/null 2>&1
    done
    ctr -a "$sock" namespaces rm "$ns" >/dev/null 2>&1 || log "containerd namespace $ns not removed"
  done
fi

# Mounts under the state directory (daemons' data roots, overlay mounts,
# container network namespaces), deepest first, then the hosts' netns.
awk '{print $5}' /proc/self/mountinfo | grep -E "^$LC_DIR(/|$)" | sort -r | while read -r mnt; do
  umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || log "cannot unmount $mnt"
done
for i in $hs; do
  ip link del "$(veth_name "$i")" 2>/dev/null
  ip netns del "$(netns_name "$i")" 2>/dev/null
done
for d in /sys/fs/cgroup/*/drover-lc-host* /sys/fs/cgroup/drover-lc-host*; do
  [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
done

ip link del "$LC_BRIDGE" 2>/dev/null
while iptables -D FORWARD -i "$LC_BRIDGE" -o "$LC_BRIDGE" -m comment --comment "$LC_TAG" -j ACCEPT 2>/dev/null; do :; done

if [ -f "$LC_DIR/created-htdocs" ]; then
  made=$(cat "$LC_DIR/created-htdocs")
  case $made in /var/nfsshare* | "$LC_HTDOCS"*) rm -rf -- "$made" ;; esac
fi
rm -rf -- "$LC_DIR"
log "down: no cluster left"
exit 0
