#!/usr/bin/env bash
# A local Kvasir cluster: one gateway node and the requested decode/prefill nodes, each its own JVM
# on 127.0.0.1, formed through Akka Cluster Bootstrap with config discovery (every node is given
# the management ports of all nodes as contact points; no seed nodes), the path Kubernetes takes.
#
#   deploy/local/cluster.sh up [--decode N] [--prefill N] [--model PATH] [--regions eu,us] [-- extra serve args]
#   deploy/local/cluster.sh status
#   deploy/local/cluster.sh roll [--all] [--pause SECONDS]
#   deploy/local/cluster.sh down
#
# `roll` is a rolling restart (an upgrade, once the build has changed): one node at a time, it
# sends SIGTERM (the node drains: no new turns, its streams finish or resume on another node, then
# it leaves), waits for it to exit, starts it again with the same arguments and waits until it is
# ready before the next. Workers only, unless --all: a gateway's restart refuses new connections
# while it is down, which only a load balancer in front of several gateways hides.
#
# With --regions, each region (an Akka data center) gets its own gateway and its own decode and
# prefill nodes, and turns stay in the region whose gateway they enter (see policy.md).
#
# State (pids, ports, one log per node) lives in .kvasir/cluster/ under the repository root.
# Each node runs in its own process group; `down` stops exactly the groups `up` recorded, waits
# until every process in them has exited (SIGKILL after the stop timeout), and forgets the
# cluster only then, so `status` never calls a cluster down while a node still runs.
#
# Environment: KVASIR_CLUSTER_DIR (state dir), KVASIR_CLUSTER_HTTP_PORT (8080),
# KVASIR_CLUSTER_MANAGEMENT_PORT (8558), KVASIR_CLUSTER_REMOTE_PORT (25520): node i uses base + i;
# KVASIR_CLUSTER_READY_TIMEOUT (seconds to wait for the gateway's /ready, 300);
# KVASIR_CLUSTER_STOP_TIMEOUT (seconds `down` and `roll` wait after SIGTERM before SIGKILL, 30);
# KVASIR_CLUSTER_SETTLE_TIMEOUT (seconds `roll` waits for a replica to move back to a restarted node, 60);
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
stop_timeout="${KVASIR_CLUSTER_STOP_TIMEOUT:-30}"
# Held by `up` while it starts nodes and by `down` while it stops them, so a `down` issued during an
# `up` sees every node `up` starts. Beside the state dir, which `up` recreates.
lock_file="${state%/}.lock"

die() { echo "cluster.sh: $*" >&2; exit 1; }

usage() {
  sed -n '2,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}

# The live processes of a node, one pid a line: the recorded pid and, when the node leads its own
# process group (pgid not "-"), every member of that group, but only those whose command line is
# that node's `serve` with its remoting port (pids and groups get reused). The launcher execs the
# JVM under the recorded pid; a launcher that does not, or one still building, leaves a child.
node_pids() {
  local pid="$1" pgid="$2" remote="$3"
  ps -e -o pid= -o pgid= -o args= 2>/dev/null | awk -v pid="$pid" -v g="$pgid" -v port="--remote-port $remote" '
    { args = $0; sub(/^[ \t]*[0-9]+[ \t]+[0-9]+[ \t]+/, "", args); args = " " args " " }
    ($1 == pid || (g != "-" && $2 == g)) && index(args, " serve ") && index(args, " " port " ") { print $1 }'
}

is_ours() {
  [ -n "$(node_pids "$@")" ]
}

# Sends a signal to a node: its whole process group when it leads one (children included), else its pid.
signal_node() {
  local sig="$1" pid="$2" pgid="$3"
  if [ "$pgid" != "-" ]; then
    kill "-$sig" -- "-$pgid" 2>/dev/null || true
  else
    kill "-$sig" "$pid" 2>/dev/null || true
  fi
}

# The node's process group when it leads its own, else "-" (then only its pid is ever signalled,
# never the group of this script). setsid runs in the child after the fork: give it a moment.
own_group() {
  local pid="$1" pgid="" tries
  for tries in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
    pgid="$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')" || true
    if [ "$pgid" = "$pid" ] || ! command -v setsid >/dev/null; then break; fi
    sleep 0.1
  done
  if [ "$pgid" = "$pid" ]; then echo "$pid"; else echo "-"; fi
}

# Takes the lock (when flock exists; without it `up` and `down` must not overlap).
lock() {
  command -v flock >/dev/null || return 0
  mkdir -p "$(dirname "$lock_file")"
  exec 9>"$lock_file"
  flock -w "$1" 9 || die "another cluster.sh holds $lock_file"
}

unlock() {
  command -v flock >/dev/null || return 0
  exec 9>&-
}

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

http_code() {
  curl -s -o /dev/null -m 2 -w '%{http_code}' "$1" 2>/dev/null || true
}

# A state file written before nodes had their own process group has no pgid column: give it "-",
# so a cluster started by the older script can still be seen and stopped.
upgrade_nodes_file() {
  [ -f "$nodes_file" ] || return 0
  if awk '$3 !~ /^([0-9]+|-)$/ { old = 1 } END { exit !old }' "$nodes_file"; then
    awk '$3 !~ /^([0-9]+|-)$/ { $3 = "- " $3 } { print }' "$nodes_file" > "$nodes_file.new"
    mv "$nodes_file.new" "$nodes_file"
  fi
}

live_nodes() {
  [ -f "$nodes_file" ] || return 0
  local name pid pgid roles http mgmt remote log
  while read -r name pid pgid roles http mgmt remote log; do
    if is_ours "$pid" "$pgid" "$remote"; then echo "$name $pid"; fi
  done < "$nodes_file"
}

cmd_up() {
  local decode=1 prefill=0 model="" regions="" extra=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --regions) [ $# -ge 2 ] || die "--regions needs names, e.g. eu,us"; regions="$2"; shift 2 ;;
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

  lock 60
  if [ -n "$(live_nodes)" ]; then
    die "a cluster is already running (see '$0 status'); run '$0 down' first"
  fi
  rm -rf "$state"
  mkdir -p "$state"

  # name roles region: the gateway first, then decode and prefill nodes; with
  # regions, that set once per region ("-" is the one default region)
  local plan=() region_list=("-")
  local i r
  if [ -n "$regions" ]; then
    IFS=',' read -r -a region_list <<< "$regions"
    for r in "${region_list[@]}"; do
      [[ "$r" =~ ^[A-Za-z0-9][A-Za-z0-9_-]*$ ]] || die "region '$r' must be letters, digits, '_' or '-'"
    done
  fi
  for r in "${region_list[@]}"; do
    local prefix=""
    [ "$r" != "-" ] && prefix="$r-"
    plan+=("${prefix}gateway gateway $r")
    for ((i = 1; i <= decode; i++)); do plan+=("${prefix}decode-$i decode $r"); done
    for ((i = 1; i <= prefill; i++)); do plan+=("${prefix}prefill-$i prefill $r"); done
  done

  for ((i = 0; i < ${#plan[@]}; i++)); do
    for port in $((http_base + i)) $((mgmt_base + i)) $((remote_base + i)); do
      port_free "$port" || die "port $port on 127.0.0.1 is in use (set KVASIR_CLUSTER_*_PORT to move the range)"
    done
  done

  # Build once, before any node starts, so the JVMs do not race to build the same tree.
  if [ -z "${KVASIR_BIN:-}" ]; then
    echo "cluster.sh: making sure kvasir is built..." >&2
    "$kvasir" --help > "$state/build.log" 2>&1 9>&- || true
    [ -f "$root/modules/server/target/lib/.built" ] || die "kvasir did not build; see $state/build.log"
  fi

  # Every node's management endpoint: bootstrap probes them, and once all have answered the node
  # with the lowest one forms the cluster and the others join it.
  local contact_points="" n=${#plan[@]}
  for ((i = 0; i < n; i++)); do contact_points+="${contact_points:+,}127.0.0.1:$((mgmt_base + i))"; done
  for ((i = 0; i < ${#plan[@]}; i++)); do
    local name roles region http mgmt remote log pid pgid
    read -r name roles region <<< "${plan[$i]}"
    http=$((http_base + i)); mgmt=$((mgmt_base + i)); remote=$((remote_base + i))
    log="$state/$name.log"
    local args=(serve --roles "$roles" --port "$http" --management-port "$mgmt" --remote-port "$remote"
                --contact-points "$contact_points" --required-contact-points "$n")
    [ "$region" != "-" ] && args+=(--region "$region")
    [ -n "$model" ] && args+=(--model "$model")
    # One replica per worker node of each pool: sharding spreads them over the nodes of the role.
    args+=(--decode-replicas "$(( decode > 0 ? decode : 1 ))" --prefill-replicas "$prefill")
    args+=("${extra[@]+"${extra[@]}"}")
    printf '%s\0' "${args[@]}" > "$state/$name.args" # kept for `roll`, exactly as given
    : > "$log"
    read -r pid pgid <<< "$(start_node "$name" "$log")"
    echo "$name $pid $pgid $roles $http $mgmt $remote $log" >> "$nodes_file"
    echo "started $name (pid $pid, roles $roles, http $http, management $mgmt, remote $remote)"
  done
  unlock

  local gateway_http=$http_base deadline=$((SECONDS + ready_timeout))
  echo "waiting for http://127.0.0.1:$gateway_http/ready ..."
  while [ "$(http_code "http://127.0.0.1:$gateway_http/ready")" != "200" ]; do
    if [ ! -f "$nodes_file" ]; then
      echo "cluster.sh: the cluster was taken down while it started" >&2
      exit 1
    fi
    local name pid pgid roles http mgmt remote log
    while read -r name pid pgid roles http mgmt remote log; do
      if ! is_ours "$pid" "$pgid" "$remote"; then
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
# The cluster is forgotten only once every process of every node has exited; a node that survives
# even SIGKILL keeps its line in the state, `status` shows it, and `down` exits non-zero.
cmd_down() {
  local keep="${1:-}"
  lock 120
  if [ ! -f "$nodes_file" ]; then
    echo "no cluster state in $state"
    [ "$keep" = keep-logs ] || rm -rf "$state"
    return 0
  fi
  # The recorded nodes, in arrays shared with await_exit.
  n_name=(); n_pid=(); n_pgid=(); n_remote=()
  local name pid pgid roles http mgmt remote log i
  while read -r name pid pgid roles http mgmt remote log; do
    n_name+=("$name"); n_pid+=("$pid"); n_pgid+=("$pgid"); n_remote+=("$remote")
  done < "$nodes_file"
  trap 'echo "cluster.sh: interrupted; nodes may still be stopping: see status, run down again" >&2; exit 130' INT TERM

  # SIGTERM to the workers before the gateway: the node list backwards.
  for ((i = ${#n_name[@]} - 1; i >= 0; i--)); do
    if is_ours "${n_pid[$i]}" "${n_pgid[$i]}" "${n_remote[$i]}"; then
      signal_node TERM "${n_pid[$i]}" "${n_pgid[$i]}"
      echo "stopping ${n_name[$i]} (pid ${n_pid[$i]})"
    fi
  done
  # A JVM drains and leaves the cluster on SIGTERM, which can take a while; wait for all at once.
  local alive
  alive="$(await_exit "$stop_timeout")"
  if [ -n "$alive" ]; then
    for i in $alive; do
      echo "${n_name[$i]} (pid ${n_pid[$i]}) did not exit within ${stop_timeout}s of SIGTERM; sending SIGKILL"
      signal_node KILL "${n_pid[$i]}" "${n_pgid[$i]}"
    done
    alive="$(await_exit 10)"
  fi
  trap - INT TERM
  if [ -n "$alive" ]; then
    : > "$nodes_file.left"
    for i in $alive; do
      echo "cluster.sh: ${n_name[$i]} still runs after SIGKILL (pids" \
        "$(node_pids "${n_pid[$i]}" "${n_pgid[$i]}" "${n_remote[$i]}" | tr '\n' ' '))" >&2
      grep "^${n_name[$i]} " "$nodes_file" >> "$nodes_file.left" || true
    done
    mv "$nodes_file.left" "$nodes_file" # status keeps showing what still runs
    return 1
  fi
  if [ "$keep" = keep-logs ]; then
    rm -f "$nodes_file"
    echo "cluster down; logs kept in $state"
  else
    rm -rf "$state"
    echo "cluster down"
  fi
}

# Waits up to $1 seconds for the nodes in n_* to exit, saying every 5 s (on stderr) who is left;
# prints the indices of the nodes still alive at the end, nothing when all are gone.
await_exit() {
  local deadline=$((SECONDS + $1)) next_note=$((SECONDS + 5)) left i who
  while :; do
    left=()
    for i in "${!n_name[@]}"; do
      if is_ours "${n_pid[$i]}" "${n_pgid[$i]}" "${n_remote[$i]}"; then left+=("$i"); fi
    done
    if [ ${#left[@]} -eq 0 ] || [ $SECONDS -ge $deadline ]; then break; fi
    if [ $SECONDS -ge $next_note ]; then
      who=""
      for i in "${left[@]}"; do who+=" ${n_name[$i]}"; done
      echo "waiting for$who to exit ($((deadline - SECONDS))s left)" >&2
      next_note=$((SECONDS + 5))
    fi
    sleep 1
  done
  echo "${left[*]+"${left[*]}"}"
}

# Starts a node with the arguments recorded for it (by `up`), logging to $2; prints "pid pgid".
# Its own session and process group, so `down` can signal the node with whatever it spawned.
# `9>&-`: the node must not inherit the lock, or it would hold it for its whole life.
start_node() {
  local name="$1" log="$2" args=()
  [ -f "$state/$name.args" ] || die "no recorded arguments for $name (a cluster started by an older cluster.sh: run down and up)"
  mapfile -d '' args < "$state/$name.args"
  echo "$kvasir ${args[*]}" >> "$log"
  if command -v setsid >/dev/null; then
    setsid nohup "$kvasir" "${args[@]}" >> "$log" 2>&1 < /dev/null 9>&- &
  else
    nohup "$kvasir" "${args[@]}" >> "$log" 2>&1 < /dev/null 9>&- &
  fi
  local pid=$!
  echo "$pid $(own_group "$pid")"
}

# Waits until the node answers /ready (gateways on the API port, workers on the management port).
await_ready() {
  local name="$1" roles="$2" http="$3" mgmt="$4" pid="$5" pgid="$6" remote="$7" url deadline=$((SECONDS + ready_timeout))
  if [[ "$roles" == *gateway* ]]; then url="http://127.0.0.1:$http/ready"; else url="http://127.0.0.1:$mgmt/ready"; fi
  while [ "$(http_code "$url")" != "200" ]; do
    is_ours "$pid" "$pgid" "$remote" || die "$name exited while starting; see $state/$name.log"
    [ $SECONDS -lt $deadline ] || die "$name was not ready after ${ready_timeout}s ($url); see $state/$name.log"
    sleep 1
  done
}

# Waits until every replica the gateway knows of is up, and (for up to settle_timeout) until the
# restarted node hosts one again: Cluster Sharding moves replicas back to it by rebalancing, and
# draining the next node before that would leave its replicas to load with nothing else ready.
await_replicas() {
  local name="$1" remote="$2" gateway_mgmt="$3" models all not_up deadline=$((SECONDS + ready_timeout))
  local settle=$((SECONDS + ${KVASIR_CLUSTER_SETTLE_TIMEOUT:-60}))
  while :; do
    models="$(curl -s -m 2 "http://127.0.0.1:$gateway_mgmt/admin/models" 2>/dev/null || true)"
    all="$(grep -o '"state":"[a-z_]*"' <<< "$models" || true)"
    not_up="$(grep -v '"state":"up"' <<< "$all" || true)"
    if [ -n "$all" ] && [ -z "$not_up" ]; then
      if grep -q "\"node\":\"akka://[^\"]*:$remote\"" <<< "$models"; then
        return 0
      fi
      if [ $SECONDS -ge $settle ]; then
        echo "roll: no replica moved back to $name within ${KVASIR_CLUSTER_SETTLE_TIMEOUT:-60}s; going on"
        return 0
      fi
    fi
    [ $SECONDS -lt $deadline ] || die "replicas not all up after ${ready_timeout}s: $(tr '\n' ' ' <<< "${not_up:-no answer from the gateway}")"
    sleep 1
  done
}

cmd_roll() {
  local all="" pause=5
  while [ $# -gt 0 ]; do
    case "$1" in
      --all) all=1; shift ;;
      --pause) [ $# -ge 2 ] && [[ "$2" =~ ^[0-9]+$ ]] || die "--pause needs seconds"; pause="$2"; shift 2 ;;
      -h|--help) usage 0 ;;
      *) die "unknown option '$1' (see --help)" ;;
    esac
  done
  [ -f "$nodes_file" ] || die "no cluster (no state in $state)"
  local rows=() row
  mapfile -t rows < "$nodes_file"
  # Workers first (the node list backwards, as `down` stops them), gateways last and only with --all.
  local order=() i
  for ((i = ${#rows[@]} - 1; i >= 0; i--)); do
    read -r _ _ _ roles _ <<< "${rows[$i]}"
    [[ "$roles" == *gateway* ]] || order+=("$i")
  done
  if [ -n "$all" ]; then
    for ((i = ${#rows[@]} - 1; i >= 0; i--)); do
      read -r _ _ _ roles _ <<< "${rows[$i]}"
      [[ "$roles" == *gateway* ]] && order+=("$i")
    done
  fi
  [ ${#order[@]} -gt 0 ] || die "no worker nodes to roll (a one-node cluster has only its gateway: use --all)"
  # The first gateway's management port answers /admin/models for the whole cluster.
  local gateway_mgmt=""
  for row in "${rows[@]}"; do
    read -r _ _ _ roles _ mgmt _ <<< "$row"
    if [[ "$roles" == *gateway* ]]; then gateway_mgmt="$mgmt"; break; fi
  done
  [ -n "$gateway_mgmt" ] || die "no gateway in the cluster state"
  local name pid pgid roles http mgmt remote log started=$SECONDS
  for i in "${order[@]}"; do
    read -r name pid pgid roles http mgmt remote log <<< "${rows[$i]}"
    is_ours "$pid" "$pgid" "$remote" || die "$name (pid $pid) is not running; roll needs a whole cluster (see status)"
    echo "roll: draining $name (pid $pid) at +$((SECONDS - started))s"
    n_name=("$name"); n_pid=("$pid"); n_pgid=("$pgid"); n_remote=("$remote")
    signal_node TERM "$pid" "$pgid"
    if [ -n "$(await_exit "$stop_timeout")" ]; then
      echo "roll: $name did not exit within ${stop_timeout}s of SIGTERM; sending SIGKILL" >&2
      signal_node KILL "$pid" "$pgid"
      [ -z "$(await_exit 10)" ] || die "$name still runs after SIGKILL"
    fi
    lock 60
    read -r pid pgid <<< "$(start_node "$name" "$log")"
    rows[$i]="$name $pid $pgid $roles $http $mgmt $remote $log"
    printf '%s\n' "${rows[@]}" > "$nodes_file.new" && mv "$nodes_file.new" "$nodes_file"
    unlock
    echo "roll: restarted $name (pid $pid) at +$((SECONDS - started))s; waiting until it is ready"
    await_ready "$name" "$roles" "$http" "$mgmt" "$pid" "$pgid" "$remote"
    if [[ "$roles" != *gateway* ]]; then await_replicas "$name" "$remote" "$gateway_mgmt"; fi
    echo "roll: $name ready at +$((SECONDS - started))s"
    sleep "$pause"
  done
  echo "roll: done, ${#order[@]} node(s) in $((SECONDS - started))s"
}

cmd_status() {
  if [ ! -f "$nodes_file" ]; then
    echo "no cluster (no state in $state)"
    return 0
  fi
  local name pid pgid roles http mgmt remote log alive ready
  printf '%-12s %-8s %-8s %-18s %-6s %-6s %-6s %s\n' NODE PID STATE ROLES HTTP MGMT REMOTE READY
  while read -r name pid pgid roles http mgmt remote log; do
    if is_ours "$pid" "$pgid" "$remote"; then alive=up; else alive=down; fi
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

upgrade_nodes_file
case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down ;;
  status) shift; cmd_status ;;
  roll) shift; cmd_roll "$@" ;;
  -h|--help|help) usage 0 ;;
  "") usage 1 ;;
  *) echo "cluster.sh: unknown command '$1' (up, down, status, roll)" >&2; exit 1 ;;
esac
