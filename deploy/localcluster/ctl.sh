#!/usr/bin/env bash
# ctl.sh COMMAND ARGS: look at the local cluster and inject the failures of
# the scenario (seed/README.md), the way an operator would cause them.
#
#   status                  what runs
#   docker N ARGS...        docker CLI on host N's daemon, e.g. `ctl.sh docker 1 ps`
#   kill-task N             docker kill every Drover container on host N
#   docker-stop N           stop host N's Docker daemon (SIGTERM, as `systemctl stop docker`)
#   docker-start N          start it again
#   poweroff N              host N loses power: agent, daemon and containers SIGKILLed
#   poweron N               host N boots: daemon and agent start again
#   cut N / heal N          take host N's network link down / up
#   kill-master M [ROLE..]  SIGKILL master M's nats, api, scheduler (or the ROLEs named)
#   stop-master M [ROLE..]  stop them as a shutdown does (SIGTERM, SIGKILL after 10 s)
#   start-master M          start whatever of master M is not running
#   leader                  the leading scheduler, as /v2/leader says
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

num() { case ${1:-} in '' | *[!0-9]*) die "$cmd: need a number, got '${1:-}'" ;; esac; }
cmd=${1:-}
shift || true
case $cmd in
status)
  for m in $(seq 1 "$LC_MASTERS"); do
    for role in nats api scheduler; do
      if alive "master$m-$role"; then s=up; else s=down; fi
      printf 'master%s %-9s %s\n' "$m" "$role" "$s"
    done
  done
  for i in $(hosts); do
    for role in dockerd agent; do
      if alive "host$i-$role"; then s=up; else s=down; fi
      printf 'host%-3s %-9s %s\n' "$i" "$role" "$s"
    done
    state=$(cat "/sys/class/net/$(veth_name "$i")/operstate" 2>/dev/null || echo absent)
    printf 'host%-3s %-9s %s\n' "$i" link "$state"
  done
  ;;
docker) num "${1:-}"; i=$1; shift; hdocker "$i" "$@" ;;
kill-task)
  num "${1:-}"
  ids=$(hdocker "$1" ps -q --filter label=drover.task-id)
  [ -z "$ids" ] || hdocker "$1" kill $ids
  ;;
docker-stop) num "${1:-}"; stop "host$1-dockerd" 30 ;;
docker-start) num "${1:-}"; docker_start "$1"; docker_wait "$1"; docker_image "$1" ;;
poweroff) num "${1:-}"; poweroff "$1" ;;
poweron) num "${1:-}"; host_up "$1" ;;
cut) num "${1:-}"; ip link set "$(veth_name "$1")" down ;;
heal) num "${1:-}"; ip link set "$(veth_name "$1")" up ;;
kill-master) num "${1:-}"; master_kill "$@" ;;
stop-master) num "${1:-}"; master_stop "$@" ;;
start-master)
  num "${1:-}"
  master_start "$1"
  wait_for 60 "api of master$1" curl -fsS -m 2 "http://$(master_addr "$1"):8080/v2/ping"
  ;;
leader)
  for m in $(seq 1 "$LC_MASTERS"); do
    curl -fsS -m 2 "http://$(master_addr "$m"):8080/v2/leader" && echo && exit 0
  done
  die "no api answered"
  ;;
*) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; [ -z "$cmd" ] || exit 2 ;;
esac
