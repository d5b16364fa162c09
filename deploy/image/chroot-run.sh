#!/usr/bin/env bash
# Run a container image tarball without a container runtime: unpack its layers into a directory and
# run its entrypoint there under chroot, as the image's user, the way `docker run` would (minus
# cgroups, seccomp and a network namespace). For checking an image on a machine with no Docker
# daemon, e.g. the one Jib writes to modules/server/target/jib-image.tar.
#
#   deploy/image/chroot-run.sh [--dir DIR] IMAGE.tar [ARGS...]
#
# IMAGE.tar is in `docker save` format (manifest.json, a config, gzip or plain tar layers), which is
# what `jib:buildTar` writes. DIR (default target/image/rootfs) is emptied first, then each layer is
# applied in order, whiteouts included (`.wh.NAME` deletes NAME from the layers below, `.wh..wh..opq`
# empties its directory). ARGS replace the image's Cmd, as with `docker run IMAGE ARGS`.
#
# The command runs in new mount and PID namespaces (its /proc shows only its own processes, and when
# the entrypoint, PID 1 there, exits, everything it started goes with it) and in the host's network
# namespace, so its ports are this machine's ports. The environment is exactly the image's Env;
# the user is the image's User, which must be numeric (UID[:GID]) because chroot resolves names on
# the host. /dev is the host's (bound), /etc/hosts and /etc/resolv.conf are copied from the host.
# This script execs unshare: its PID is the process to signal, and SIGTERM to the entrypoint
# (unshare's only child) stops the container the way `docker stop` does.
#
# Needs root, util-linux (unshare), coreutils (chroot) and jq.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dir="$root/target/image/rootfs"
if [ "${1:-}" = "--dir" ]; then dir="$2"; shift 2; fi
[ $# -ge 1 ] || { echo "usage: deploy/image/chroot-run.sh [--dir DIR] IMAGE.tar [ARGS...]" >&2; exit 2; }
image="$1"; shift
[ -f "$image" ] || { echo "chroot-run.sh: no image tarball at $image" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "chroot-run.sh: must run as root (chroot, mount)" >&2; exit 1; }
command -v jq >/dev/null || { echo "chroot-run.sh: jq not found (apt-get install jq)" >&2; exit 1; }

meta="$(mktemp -d)"
trap 'rm -rf "$meta"' EXIT
tar -C "$meta" -xf "$image" manifest.json 2>/dev/null \
  || { echo "chroot-run.sh: $image is not a docker-save image tarball (no manifest.json)" >&2; exit 1; }
config_name="$(jq -r '.[0].Config' "$meta/manifest.json")"
tar -C "$meta" -xf "$image" "$config_name"
config="$meta/$config_name"

rm -rf "$dir"
mkdir -p "$dir"
while IFS= read -r layer; do
  tar -C "$meta" -xf "$image" "$layer"
  # Whiteouts apply to the layers below this one, so before this one's files land.
  while IFS= read -r entry; do
    entry="${entry#./}"
    name="$(basename "$entry")"
    parent="$dir/$(dirname "$entry")"
    if [ "$name" = ".wh..wh..opq" ]; then
      find "$parent" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
    elif [ "${name#.wh.}" != "$name" ]; then
      rm -rf "${parent:?}/${name#.wh.}"
    fi
  done < <(tar --warning=no-unknown-keyword -tf "$meta/$layer" | grep -E '(^|/)\.wh\.[^/]+$' || true)
  tar -C "$dir" --numeric-owner --warning=no-unknown-keyword --exclude='.wh.*' -xf "$meta/$layer"
  rm -f "$meta/$layer"
done < <(jq -r '.[0].Layers[]' "$meta/manifest.json")

mapfile -t entrypoint < <(jq -r '.config.Entrypoint // [] | .[]' "$config")
mapfile -t cmd < <(jq -r '.config.Cmd // [] | .[]' "$config")
mapfile -t env < <(jq -r '.config.Env // [] | .[]' "$config")
user="$(jq -r '.config.User // "0:0"' "$config")"
workdir="$(jq -r '.config.WorkingDir // "/"' "$config")"
[ $# -gt 0 ] && cmd=("$@")
[[ "$user" =~ ^[0-9]+(:[0-9]+)?$ ]] || { echo "chroot-run.sh: image user '$user' is not numeric UID[:GID]" >&2; exit 1; }
[ "${user#*:}" != "$user" ] || user="$user:$user"
[ "$workdir" = "/" ] || [ -z "$workdir" ] || { echo "chroot-run.sh: WorkingDir $workdir is not supported (chroot starts in /)" >&2; exit 1; }
[ ${#entrypoint[@]} -gt 0 ] || [ ${#cmd[@]} -gt 0 ] || { echo "chroot-run.sh: the image has neither Entrypoint nor Cmd" >&2; exit 1; }

mkdir -p "$dir/proc" "$dir/dev" "$dir/etc"
cp /etc/hosts /etc/resolv.conf "$dir/etc/" 2>/dev/null || true
echo "chroot-run.sh: $image unpacked in $dir; running as $user: ${entrypoint[*]} ${cmd[*]}" >&2
# The mounts are made inside the new mount namespace, so they vanish with it; chroot switches to
# the user only after it has entered the root, and resolves the entrypoint with the image's PATH.
exec /usr/bin/env -i "${env[@]}" HOSTNAME="$(hostname)" /usr/bin/unshare --mount --pid --fork --kill-child \
  --propagation private /bin/sh -c '
    set -e
    root="$1"; spec="$2"; shift 2
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    exec /usr/sbin/chroot --userspec="$spec" --groups="${spec#*:}" "$root" "$@"' \
  chroot-run "$dir" "$user" "${entrypoint[@]}" "${cmd[@]}"
