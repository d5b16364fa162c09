#!/usr/bin/env bash
# Check a built Kvasir image without Docker: run it with chroot-run.sh (its own entrypoint, its own
# user, default `serve` on the embedded model), wait until Akka Management says /ready, then ask
# the OpenAI API for /v1/models and one chat completion, check the server runs as the image's
# User, and stop it with SIGTERM as `docker stop` would. Prints the figures the image README quotes.
#
#   deploy/image/check.sh [IMAGE.tar]      (default modules/server/target/jib-image.tar)
#
# Not part of `./kvasir test` or any Maven phase: it needs root and the image tarball, which only
# the `image` profile builds (see modules/server/README-image.md, "Without a registry").
# Environment: KVASIR_CHECK_HTTP_PORT (18080), KVASIR_CHECK_MANAGEMENT_PORT (18558),
# KVASIR_CHECK_REMOTE_PORT (35520): the host's ports, since the container shares its network;
# KVASIR_CHECK_READY_TIMEOUT (seconds, 300); KVASIR_CHECK_KEEP=1 keeps the unpacked root filesystem.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
image="${1:-$root/modules/server/target/jib-image.tar}"
http="${KVASIR_CHECK_HTTP_PORT:-18080}"
mgmt="${KVASIR_CHECK_MANAGEMENT_PORT:-18558}"
remote="${KVASIR_CHECK_REMOTE_PORT:-35520}"
ready_timeout="${KVASIR_CHECK_READY_TIMEOUT:-300}"
dir="$root/target/image/check-rootfs"
log="$root/target/image/check.log"
mkdir -p "$(dirname "$log")"

now_ms() { echo $(($(date +%s%N) / 1000000)); }
fail() { echo "check.sh: FAIL: $*" >&2; [ -f "$log" ] && tail -20 "$log" >&2; exit 1; }

[ -f "$image" ] || { echo "check.sh: no image tarball at $image (build it with -Pimage, see modules/server/README-image.md)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "check.sh: must run as root (chroot-run.sh chroots and mounts)" >&2; exit 1; }
command -v jq >/dev/null || { echo "check.sh: jq not found (apt-get install jq)" >&2; exit 1; }
expected_user="$(tar -xOf "$image" config.json 2>/dev/null | jq -r '.config.User' 2>/dev/null)" \
  || { echo "check.sh: $image is not a docker-save image tarball with a config.json" >&2; exit 1; }
echo "check.sh: image $image ($(du -h "$image" | cut -f1)), user $expected_user" >&2

# The container's only process tree: unshare (pid), its child the entrypoint (java).
"$root/deploy/image/chroot-run.sh" --dir "$dir" "$image" serve --host 127.0.0.1 --port "$http" \
  --management-port "$mgmt" --remote-port "$remote" >"$log" 2>&1 &
pid=$!
stop() {
  if kill -0 "$pid" 2>/dev/null; then
    local child
    child="$(cat "/proc/$pid/task/$pid/children" 2>/dev/null | tr -s ' ' '\n' | head -n 1 || true)"
    [ -n "$child" ] && kill -TERM "$child" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -KILL "$pid" 2>/dev/null || true   # --kill-child takes the container's processes with it
    wait "$pid" 2>/dev/null || true
  fi
  [ "${KVASIR_CHECK_KEEP:-0}" = 1 ] || rm -rf "$dir"
}
trap stop EXIT

# The clock starts once the layers are unpacked, when chroot-run.sh says what it runs.
until grep -q '^chroot-run.sh: .* running as' "$log" 2>/dev/null; do
  kill -0 "$pid" 2>/dev/null || fail "chroot-run.sh exited before starting the image"
  sleep 0.2
done
start=$(now_ms)
until curl -sf -o /dev/null "http://127.0.0.1:$mgmt/ready"; do
  kill -0 "$pid" 2>/dev/null || fail "the server exited before it was ready"
  [ $(($(now_ms) - start)) -lt $((ready_timeout * 1000)) ] || fail "not ready after ${ready_timeout}s"
  sleep 0.2
done
ready_ms=$(($(now_ms) - start))

java_pid="$(cat "/proc/$pid/task/$pid/children" | tr -s ' ' '\n' | head -n 1)"
uid="$(awk '/^Uid:/ {print $2}' "/proc/$java_pid/status")"
gid="$(awk '/^Gid:/ {print $2}' "/proc/$java_pid/status")"
[ "$uid:$gid" = "$expected_user" ] || fail "the server runs as $uid:$gid, the image says $expected_user"
comm="$(cat "/proc/$java_pid/comm")"
[ "$comm" = java ] || fail "the container's process is '$comm', not java"

models="$(curl -sf "http://127.0.0.1:$http/v1/models")" || fail "GET /v1/models"
model="$(echo "$models" | jq -r '.data[0].id')"
[ -n "$model" ] && [ "$model" != null ] || fail "no model in /v1/models: $models"
answer="$(curl -sf "http://127.0.0.1:$http/v1/chat/completions" -H 'Content-Type: application/json' \
  -d "{\"model\":\"$model\",\"max_tokens\":8,\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}")" \
  || fail "POST /v1/chat/completions"
tokens="$(echo "$answer" | jq -r '.usage.completion_tokens')"
[ "$tokens" -ge 1 ] 2>/dev/null || fail "no completion tokens: $answer"

echo "check.sh: ready in $((ready_ms / 1000)).$(printf %03d $((ready_ms % 1000)))s; runs as $uid:$gid (java, PID 1 in its namespace);" \
  "model $model; chat completion: $tokens tokens, finish_reason $(echo "$answer" | jq -r '.choices[0].finish_reason')"
stop
echo "check.sh: OK (stopped with SIGTERM; log $log)"
