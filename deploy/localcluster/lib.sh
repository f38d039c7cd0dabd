# shellcheck shell=bash
# The local cluster's pieces, shared by up.sh, down.sh and ctl.sh.
#
# Layout (everything the cluster makes is named here, so down.sh can find it):
#   bridge drover0, 10.77.0.1/24, and the masters' addresses 10.77.0.2-4 on it
#   masterM: drover nats (:4222 clients, :6222 routes, :8222 monitor), api (:8080), scheduler
#   hostN:   netns drover-lc-hostN with eth0 = 10.77.0.(10+N), veth dlc-hostN on the bridge;
#            its own dockerd (containerd namespace drover-lc-hostN on the shared containerd,
#            cgroup parent /drover-lc-hostN) and a drover agent, both inside the netns
#   state:   $DROVER_LC_DIR (default /var/lib/drover-localcluster): binaries, logs, pids,
#            the daemons' data and exec roots, the NATS stores

LC_DIR=${DROVER_LC_DIR:-/var/lib/drover-localcluster}
case $LC_DIR in /?*/?*) ;; *) echo "DROVER_LC_DIR must be an absolute path two levels deep or more, not '$LC_DIR'" >&2; exit 1 ;; esac
LC_DIR=${LC_DIR%/}
LC_NET=10.77.0
LC_BRIDGE=drover0
LC_MASTERS=3
LC_TAG=drover-localcluster # iptables comment
LC_HTDOCS=/var/nfsshare/htdocs
LC_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LC_BIN=$LC_DIR/bin/drover

# lock: one up.sh or down.sh at a time (flock on this file: nothing to clean up).
lock() {
  exec 9<"${BASH_SOURCE[0]}"
  flock -w 600 9 || die "another up.sh or down.sh has held the cluster for 10 minutes"
}

log() { printf '%s localcluster: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

master_addr() { echo "$LC_NET.$((1 + $1))"; }
host_addr() { echo "$LC_NET.$((10 + $1))"; }
host_name() { echo "host$1"; }
netns_name() { echo "drover-lc-host$1"; }
veth_name() { echo "dlc-host$1"; }
cgroup_parent() { echo "drover-lc-host$1"; }
ctrd_ns() { echo "drover-lc-host$1"; }
host_dir() { echo "$LC_DIR/host$1"; }
docker_sock() { echo "$(host_dir "$1")/docker.sock"; }
hdocker() { local i=$1; shift; docker -H "unix://$(docker_sock "$i")" "$@"; }

nats_urls() {
  local m urls=()
  for m in $(seq 1 "$LC_MASTERS"); do urls+=("nats://$(master_addr "$m"):4222"); done
  (IFS=,; echo "${urls[*]}")
}

# containerd_sock is the containerd every host's dockerd shares: the one the
# system dockerd runs, or the system containerd service.
containerd_sock() {
  local s
  for s in ${DROVER_LC_CONTAINERD:-} /var/run/docker/containerd/containerd.sock /run/containerd/containerd.sock; do
    if [ -S "$s" ]; then echo "$s"; return; fi
  done
  return 1
}

# hosts lists the numbers of the hosts that exist (a netns or a state dir).
hosts() {
  {
    ip netns list 2>/dev/null | awk '{print $1}' | sed -n 's/^drover-lc-host\([0-9][0-9]*\)$/\1/p'
    for d in "$LC_DIR"/host*; do [ -d "$d" ] && basename "$d" | sed -n 's/^host\([0-9][0-9]*\)$/\1/p'; done
  } | sort -n | uniq
}

# --- processes -------------------------------------------------------------

pidfile() { echo "$LC_DIR/pids/$1.pid"; }

# alive NAME: the process NAME was started as still runs (and is no zombie).
alive() {
  local f pid state
  f=$(pidfile "$1")
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  state=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ] || return 1
  # The pid is still ours (not reused): every process the cluster starts has
  # the state directory on its command line.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$LC_DIR/"
}

# spawn NAME NETNS CMD...: start CMD detached (its own session, output in
# logs/NAME.log), inside network namespace NETNS unless it is "-".
spawn() {
  local name=$1 netns=$2
  shift 2
  mkdir -p "$LC_DIR/pids" "$LC_DIR/logs"
  # 9<&-: the lock's descriptor stays with this script, not the daemons.
  if [ "$netns" = - ]; then
    setsid "$@" >>"$LC_DIR/logs/$name.log" 2>&1 </dev/null 9<&- &
  else
    setsid nsenter --net="/var/run/netns/$netns" -- "$@" >>"$LC_DIR/logs/$name.log" 2>&1 </dev/null 9<&- &
  fi
  echo $! >"$(pidfile "$name")"
}

# signal NAME SIG: send SIG to the process NAME, if it runs.
signal() {
  alive "$1" || return 0
  kill -s "$2" "$(cat "$(pidfile "$1")")" 2>/dev/null || true
}

# stop NAME [SECONDS]: SIGTERM, then SIGKILL after SECONDS (default 10).
stop() {
  local name=$1 wait=${2:-10} i
  alive "$name" || { rm -f "$(pidfile "$name")"; return 0; }
  signal "$name" TERM
  for i in $(seq 1 $((wait * 10))); do
    alive "$name" || break
    sleep 0.1
  done
  signal "$name" KILL
  for i in $(seq 1 50); do alive "$name" || break; sleep 0.1; done
  rm -f "$(pidfile "$name")"
}

# wait_for SECONDS WHAT CMD...: poll CMD every 0.2 s.
wait_for() {
  local secs=$1 what=$2 i
  shift 2
  for i in $(seq 1 $((secs * 5))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  die "$what: not ready within ${secs}s"
}

# --- build -----------------------------------------------------------------

# build_binaries: the drover binary ($DROVER_BIN when given) and the httpd
# stand-in image's context, both static, renamed into place so running
# processes keep their file.
build_binaries() {
  mkdir -p "$LC_DIR/bin" "$LC_DIR/image"
  if [ -n "${DROVER_BIN:-}" ]; then
    cp "$DROVER_BIN" "$LC_BIN.new"
  else
    (cd "$LC_REPO" && CGO_ENABLED=0 go build -o "$LC_BIN.new" ./cmd/drover)
  fi
  mv -f "$LC_BIN.new" "$LC_BIN"
  (cd "$LC_REPO" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$LC_DIR/image/httpd.new" ./cmd/httpd)
  mv -f "$LC_DIR/image/httpd.new" "$LC_DIR/image/httpd"
  cp "$LC_REPO/deploy/httpd/Dockerfile" "$LC_DIR/image/Dockerfile"
}

# htdocs: the example app's read-only volume, one page every host serves
# (all hosts' daemons share this machine's filesystem). Made only when
# missing, and then removed by down.sh.
htdocs() {
  if [ ! -e "$LC_HTDOCS" ]; then
    local top=$LC_HTDOCS
    while [ ! -e "$(dirname "$top")" ]; do top=$(dirname "$top"); done
    mkdir -p "$LC_HTDOCS"
    echo "$top" >"$LC_DIR/created-htdocs"
  fi
  if [ ! -e "$LC_HTDOCS/index.html" ]; then
    cat >"$LC_HTDOCS/index.html" <<'EOF'
<html><body><h1>It works!</h1><p>Served by Drover's local cluster from the read-only volume /var/nfsshare/htdocs.</p></body></html>
EOF
    [ -f "$LC_DIR/created-htdocs" ] || echo "$LC_HTDOCS/index.html" >"$LC_DIR/created-htdocs"
  fi
}

# --- network ---------------------------------------------------------------

net_up() {
  local m
  if ! ip link show "$LC_BRIDGE" >/dev/null 2>&1; then
    ip link add "$LC_BRIDGE" type bridge
  fi
  ip addr replace "$LC_NET.1/24" dev "$LC_BRIDGE"
  for m in $(seq 1 "$LC_MASTERS"); do
    ip addr replace "$(master_addr "$m")/32" dev "$LC_BRIDGE"
  done
  ip link set "$LC_BRIDGE" up
  # Bridged traffic between hosts crosses the FORWARD chain (br_netfilter),
  # whose policy Docker sets to DROP.
  if ! iptables -C FORWARD -i "$LC_BRIDGE" -o "$LC_BRIDGE" -m comment --comment "$LC_TAG" -j ACCEPT 2>/dev/null; then
    iptables -I FORWARD -i "$LC_BRIDGE" -o "$LC_BRIDGE" -m comment --comment "$LC_TAG" -j ACCEPT
  fi
}

host_net_up() {
  local i=$1 ns veth
  ns=$(netns_name "$i") veth=$(veth_name "$i")
  ip netns list | awk '{print $1}' | grep -qx "$ns" || ip netns add "$ns"
  if ! ip link show "$veth" >/dev/null 2>&1; then
    nsenter --net="/var/run/netns/$ns" ip link del eth0 2>/dev/null || true
    ip link add "$veth" type veth peer name eth0 netns "$ns"
  fi
  ip link set "$veth" master "$LC_BRIDGE" up
  nsenter --net="/var/run/netns/$ns" sh -c "
    ip link set lo up &&
    ip addr replace $(host_addr "$i")/24 dev eth0 &&
    ip link set eth0 up &&
    ip route replace default via $LC_NET.1"
}

# --- masters ---------------------------------------------------------------

# The masters listen on the bridge, beyond loopback, without authentication:
# only this machine and its namespaces reach 10.77.0.0/24. (An environment
# twin, so a drover without the flag ignores it.)
export DROVER_INSECURE_NO_AUTH=true

master_start() {
  local m=$1 addr routes=() r name
  addr=$(master_addr "$m")
  for r in $(seq 1 "$LC_MASTERS"); do
    [ "$r" = "$m" ] || routes+=("nats://$(master_addr "$r"):6222")
  done
  mkdir -p "$LC_DIR/master$m/nats"
  name=master$m-nats
  alive "$name" || spawn "$name" - "$LC_BIN" nats --name "n$m" --listen "$addr:4222" \
    --data-dir "$LC_DIR/master$m/nats" --cluster-name drover-lc --cluster-listen "$addr:6222" \
    --routes "$(IFS=,; echo "${routes[*]}")" --monitor "$addr:8222" --sync-always
  name=master$m-api
  alive "$name" || spawn "$name" - "$LC_BIN" api --nats "$(nats_urls)" --replicas 3 --http-addr "$addr:8080"
  name=master$m-scheduler
  # The scheduler connects to the NATS node beside it (the others are learnt
  # from it, for reconnecting): a crash of another master then cuts none of
  # its connections, and it keeps the leaders of what it needs off that node
  # (--colocated-nats, by its environment twin, so a drover without the
  # flag ignores it).
  alive "$name" || spawn "$name" - env DROVER_COLOCATED_NATS="n$m" "$LC_BIN" scheduler --nats "nats://$addr:4222" --replicas 3 \
    --hostname "master$m" --scheduler-id "master$m" --api-address "$addr:8080"
}

# master_kill M [ROLE...]: SIGKILL the master's roles (nats, api, scheduler; all by default).
master_kill() {
  local m=$1 role
  shift
  [ $# -gt 0 ] || set -- nats api scheduler
  for role in "$@"; do signal "master$m-$role" KILL; done
}

# master_stop M [ROLE...]: stop the master's roles the way a shutdown does
# (SIGTERM to each at once, SIGKILL after 10 s), all by default.
master_stop() {
  local m=$1 role
  shift
  [ $# -gt 0 ] || set -- nats api scheduler
  for role in "$@"; do stop "master$m-$role" 10 & done
  wait
}

# --- hosts -----------------------------------------------------------------

docker_start() {
  local i=$1 dir ns driver cfg
  dir=$(host_dir "$i") ns=$(netns_name "$i")
  alive "host$i-dockerd" && return 0
  mkdir -p "$dir/data" "$dir/exec"
  driver=${DROVER_LC_STORAGE_DRIVER:-$(docker info -f '{{.Driver}}' 2>/dev/null || true)}
  cfg='{}'
  [ -z "$driver" ] || cfg="{\"storage-driver\": \"$driver\"}"
  echo "$cfg" >"$dir/daemon.json"
  # A killed daemon leaves its pid file; a daemon refuses to start while the
  # pid there exists (the killed one may not be reaped yet).
  rm -f "$dir/dockerd.pid"
  spawn "host$i-dockerd" "$ns" dockerd --config-file "$dir/daemon.json" \
    --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" \
    -H "unix://$(docker_sock "$i")" --containerd "$(containerd_sock)" \
    --containerd-namespace "$(ctrd_ns "$i")" --containerd-plugins-namespace "$(ctrd_ns "$i")-plugins" \
    --cgroup-parent "/$(cgroup_parent "$i")"
}

docker_wait() { wait_for 60 "dockerd of host$1" hdocker "$1" version; }

# docker_image: the stand-in httpd image, tagged httpd, in the host's daemon:
# built once into host1's daemon (FROM scratch needs no registry), saved, and
# loaded into the others.
docker_image() {
  local i=$1 tar=$LC_DIR/image/httpd.tar
  hdocker "$i" image inspect httpd >/dev/null 2>&1 && return 0
  if [ ! -s "$tar" ]; then
    DOCKER_BUILDKIT=0 hdocker "$i" build -q -t httpd "$LC_DIR/image" >/dev/null
    hdocker "$i" save -o "$tar.new" httpd
    mv -f "$tar.new" "$tar"
  else
    hdocker "$i" load -q -i "$tar" >/dev/null
  fi
}

agent_start() {
  local i=$1
  alive "host$i-agent" && return 0
  spawn "host$i-agent" "$(netns_name "$i")" "$LC_BIN" agent --nats "$(nats_urls)" --replicas 3 \
    --hostname "$(host_name "$i")" --address "$(host_addr "$i")" \
    --docker-host "unix://$(docker_sock "$i")" --privileged-mode auto \
    --docker-sandbox-dir "$(host_dir "$i")/docker-sandboxes" \
    --resources "cpus=2,mem=2048,disk=10000,ports=[31000-32000]"
}

# netns_pids N: every process in host N's network namespace (its agent, its
# dockerd and what that started: docker-proxy, fuse-overlayfs).
netns_pids() {
  local want p
  want="net:[$(stat -L -c %i "/var/run/netns/$(netns_name "$1")" 2>/dev/null)]" || return 0
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/ns/net" 2>/dev/null)" = "$want" ] && echo "${p#/proc/}"
  done
  return 0
}

# cgroup_pids N: every process of host N's containers.
cgroup_pids() {
  local d
  for d in /sys/fs/cgroup/*/"$(cgroup_parent "$1")" /sys/fs/cgroup/"$(cgroup_parent "$1")"; do
    [ -d "$d" ] && find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null
  done
  return 0
}

# poweroff N: host N loses power: its agent, its daemon and its containers
# die at once (SIGKILL), nothing is stopped cleanly.
poweroff() {
  local i=$1 pids
  pids=$( (netns_pids "$i"; cgroup_pids "$i") | sort -u | tr '\n' ' ')
  [ -z "$pids" ] || kill -9 $pids 2>/dev/null || true
  rm -f "$(pidfile "host$i-agent")" "$(pidfile "host$i-dockerd")"
}

host_up() {
  local i=$1
  host_net_up "$i"
  docker_start "$i"
  docker_wait "$i"
  docker_image "$i"
  agent_start "$i"
}
