#!/usr/bin/env bash
# A local Kvasir cluster: one gateway node and the requested decode/prefill nodes, each its own JVM
# on 127.0.0.1, joined through the gateway's remoting port as seed.
#
#   deploy/local/cluster.sh up [--decode N] [--prefill N] [--model PATH] [-- extra serve args]
#   deploy/local/cluster.sh status
#   deploy/local/cluster.sh down
#
# State (pids, ports, one log per node) lives in .kvasir/cluster/ under the repository root.
# `down` stops exactly the processes `up` recorded, and nothing else.
#
# Environment: KVASIR_CLUSTER_DIR (state dir), KVASIR_CLUSTER_HTTP_PORT (8080),
# KVASIR_CLUSTER_MANAGEMENT_PORT (8558), KVASIR_CLUSTER_REMOTE_PORT (25520): node i uses base + i;
# KVASIR_CLUSTER_READY_TIMEOUT (seconds to wait for the gateway's /ready, 300);
# KVASIR_BIN (the launcher, default ./kvasir).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
state="${KVASIR_CLUSTER_DIR:-$root/.kvasir/cluster}"
nodes_file="$state/nodes"
kvasir="${KVASIR_BIN:-$root/kvasir}"
http_base="${KVASIR_CLUSTER_HTTP_PORT:-8080}"
mgmt_base="${KVASIR_CLUSTER_MANAGEMENT_PORT:-8558}"
remote_base="${KVASIR_CLUSTER_REMOTE_PORT:-25520}"
ready_timeout="${KVASIR_CLUSTER_READY_TIMEOUT:-300}"

die() { echo "cluster.sh: $*" >&2; exit 1; }

usage() {
  sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}

# A pid is ours only while it is alive and still the node we started: a `serve` with that node's
# remoting port on its command line (pids get reused; the launcher execs the JVM under the same pid).
is_ours() {
  local pid="$1" remote="$2" args
  args="$(ps -p "$pid" -o args= 2>/dev/null)" || return 1
  [[ "$args" == *" serve "* && "$args" == *"--remote-port $remote"* ]]
}

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

http_code() {
  curl -s -o /dev/null -m 2 -w '%{http_code}' "$1" 2>/dev/null || true
}

live_nodes() {
  [ -f "$nodes_file" ] || return 0
  local name pid roles http mgmt remote log
  while read -r name pid roles http mgmt remote log; do
    if is_ours "$pid" "$remote"; then echo "$name $pid"; fi
  done < "$nodes_file"
}

cmd_up() {
  local decode=1 prefill=0 model="" extra=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --decode) [ $# -ge 2 ] || die "--decode needs a number"; decode="$2"; shift 2 ;;
      --prefill) [ $# -ge 2 ] || die "--prefill needs a number"; prefill="$2"; shift 2 ;;
      --model) [ $# -ge 2 ] || die "--model needs a path"; model="$2"; shift 2 ;;
      --) shift; extra=("$@"); break ;;
      -h|--help) usage 0 ;;
      *) die "unknown option '$1' (see --help)" ;;
    esac
  done
  [[ "$decode" =~ ^[0-9]+$ ]] || die "--decode must be a number, got '$decode'"
  [[ "$prefill" =~ ^[0-9]+$ ]] || die "--prefill must be a number, got '$prefill'"
  if [ -n "$model" ]; then
    [ -e "$model" ] || die "model '$model' does not exist"
    model="$(cd "$(dirname "$model")" && pwd)/$(basename "$model")"
  fi
  command -v curl >/dev/null || die "curl is needed to wait for the gateway"

  if [ -n "$(live_nodes)" ]; then
    die "a cluster is already running (see '$0 status'); run '$0 down' first"
  fi
  rm -rf "$state"
  mkdir -p "$state"

  # name roles: the gateway first (it is the seed), then decode and prefill nodes
  local plan=("gateway gateway")
  local i
  for ((i = 1; i <= decode; i++)); do plan+=("decode-$i decode"); done
  for ((i = 1; i <= prefill; i++)); do plan+=("prefill-$i prefill"); done

  for ((i = 0; i < ${#plan[@]}; i++)); do
    for port in $((http_base + i)) $((mgmt_base + i)) $((remote_base + i)); do
      port_free "$port" || die "port $port on 127.0.0.1 is in use (set KVASIR_CLUSTER_*_PORT to move the range)"
    done
  done

  # Build once, before any node starts, so the JVMs do not race to build the same tree.
  if [ -z "${KVASIR_BIN:-}" ]; then
    echo "cluster.sh: making sure kvasir is built..." >&2
    "$kvasir" --help > "$state/build.log" 2>&1 || true
    [ -f "$root/modules/server/target/lib/.built" ] || die "kvasir did not build; see $state/build.log"
  fi

  local seed="127.0.0.1:$remote_base"
  for ((i = 0; i < ${#plan[@]}; i++)); do
    local name roles http mgmt remote log pid
    read -r name roles <<< "${plan[$i]}"
    http=$((http_base + i)); mgmt=$((mgmt_base + i)); remote=$((remote_base + i))
    log="$state/$name.log"
    local args=(serve --roles "$roles" --port "$http" --management-port "$mgmt" --remote-port "$remote"
                --seed-nodes "$seed")
    [ -n "$model" ] && args+=(--model "$model")
    # One replica per worker node of each pool: sharding spreads them over the nodes of the role.
    args+=(--decode-replicas "$(( decode > 0 ? decode : 1 ))" --prefill-replicas "$prefill")
    args+=("${extra[@]+"${extra[@]}"}")
    echo "$kvasir ${args[*]}" > "$log"
    nohup "$kvasir" "${args[@]}" >> "$log" 2>&1 < /dev/null &
    pid=$!
    echo "$name $pid $roles $http $mgmt $remote $log" >> "$nodes_file"
    echo "started $name (pid $pid, roles $roles, http $http, management $mgmt, remote $remote)"
  done

  local gateway_http=$http_base deadline=$((SECONDS + ready_timeout))
  echo "waiting for http://127.0.0.1:$gateway_http/ready ..."
  while [ "$(http_code "http://127.0.0.1:$gateway_http/ready")" != "200" ]; do
    local name pid roles http mgmt remote log
    while read -r name pid roles http mgmt remote log; do
      if ! is_ours "$pid" "$remote"; then
        echo "cluster.sh: node $name (pid $pid) exited during startup; last lines of its log:" >&2
        tail -n 20 "$state/$name.log" >&2 || true
        cmd_down keep-logs >&2
        exit 1
      fi
    done < "$nodes_file"
    if [ $SECONDS -ge $deadline ]; then
      echo "cluster.sh: the gateway was not ready after ${ready_timeout}s" >&2
      cmd_down keep-logs >&2
      exit 1
    fi
    sleep 1
  done
  echo "gateway http://127.0.0.1:$gateway_http"
  echo "management http://127.0.0.1:$mgmt_base"
}

# `down keep-logs` (used when `up` fails) stops the nodes but leaves their logs to read.
cmd_down() {
  local keep="${1:-}"
  if [ ! -f "$nodes_file" ]; then
    echo "no cluster state in $state"
    rm -rf "$state"
    return 0
  fi
  local name pid roles http mgmt remote log waited
  # Stop the workers before the gateway (the seed), reading the node list backwards.
  while read -r name pid roles http mgmt remote log; do
    if is_ours "$pid" "$remote"; then
      kill -TERM "$pid" 2>/dev/null || true
      echo "stopping $name (pid $pid)"
    fi
  done < <(tac "$nodes_file" 2>/dev/null || tail -r "$nodes_file")
  while read -r name pid roles http mgmt remote log; do
    waited=0
    while is_ours "$pid" "$remote" && [ $waited -lt 30 ]; do sleep 1; waited=$((waited + 1)); done
    if is_ours "$pid" "$remote"; then
      echo "$name (pid $pid) did not stop in 30s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done < "$nodes_file"
  if [ "$keep" = keep-logs ]; then
    rm -f "$nodes_file"
    echo "cluster down; logs kept in $state"
  else
    rm -rf "$state"
    echo "cluster down"
  fi
}

cmd_status() {
  if [ ! -f "$nodes_file" ]; then
    echo "no cluster (no state in $state)"
    return 0
  fi
  local name pid roles http mgmt remote log alive ready
  printf '%-12s %-8s %-8s %-18s %-6s %-6s %-6s %s\n' NODE PID STATE ROLES HTTP MGMT REMOTE READY
  while read -r name pid roles http mgmt remote log; do
    if is_ours "$pid" "$remote"; then alive=up; else alive=down; fi
    ready="-"
    # Gateways answer /ready on the API port; workers have no API, only the management port.
    if [ "$alive" = up ]; then
      if [[ "$roles" == *gateway* ]]; then
        ready="$(http_code "http://127.0.0.1:$http/ready")"
      else
        ready="$(http_code "http://127.0.0.1:$mgmt/ready")"
      fi
    fi
    printf '%-12s %-8s %-8s %-18s %-6s %-6s %-6s %s\n' "$name" "$pid" "$alive" "$roles" "$http" "$mgmt" "$remote" "$ready"
  done < "$nodes_file"
  echo "logs: $state"
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down ;;
  status) shift; cmd_status ;;
  -h|--help|help) usage 0 ;;
  *) usage 1 ;;
esac
