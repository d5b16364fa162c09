#!/usr/bin/env bash
# A JDK 25 base image for the Kvasir container image, built offline from the Debian mirror alone
# (no Docker daemon, no container registry), as a `docker save`-format tarball that Jib takes with
# `-Dkvasir.image.base=tar://<file>` (see modules/server/README-image.md, "Without a registry").
#
#   deploy/image/local-base.sh [-o OUT.tar] [--suite trixie] [--mirror URL] [--jdk DIR]
#
# What the image holds: one layer, a Debian `minbase` root filesystem made by mmdebstrap, plus
#   * by default Debian's `openjdk-25-jre-headless` (trixie and its security updates; GPLv2 with the
#     Classpath Exception, like every OpenJDK build), JAVA_HOME=/usr/lib/jvm/java-25-openjdk-amd64;
#   * or, with --jdk DIR, that JDK copied to /opt/java/openjdk (e.g. the machine's Temurin
#     /usr/lib/jvm/temurin-25-jdk-amd64, also GPLv2+CE; its NOTICE and legal/ go in with it), for a
#     mirror without an OpenJDK 25 package;
#   * a user `kvasir` (uid and gid 10001, the image profile's <user>), so the JVM's user.name and
#     user.home are real rather than "?"; the profile sets the numeric user either way.
# No documentation, man pages or locales (path-exclude), no recommended packages. The config sets
# JAVA_HOME and PATH, and nothing else (Jib sets the entrypoint, user and ports).
#
# Needs root (mmdebstrap's root mode chroots into the new tree to run maintainer scripts), mmdebstrap
# (apt-get install mmdebstrap) and sha256sum. The output and its work directory are under target/,
# which git ignores. Environment: KVASIR_BASE_MIRROR (the Debian mirror, http://deb.debian.org).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="$root/target/image/kvasir-base.tar"
suite=trixie
mirror="${KVASIR_BASE_MIRROR:-http://deb.debian.org}"
jdk=""

usage() { grep -m1 '^#   deploy/image/local-base.sh' "$0" | sed 's/^#  *//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    -o) out="$2"; shift 2 ;;
    --suite) suite="$2"; shift 2 ;;
    --mirror) mirror="$2"; shift 2 ;;
    --jdk) [ -d "$2" ] || { echo "local-base.sh: --jdk $2 is not a directory" >&2; exit 1; }
           jdk="$(cd "$2" && pwd)"; shift 2 ;;
    -h|--help) usage ;;
    *) echo "local-base.sh: unknown argument '$1'" >&2; usage ;;
  esac
done

[ "$(id -u)" = 0 ] || { echo "local-base.sh: must run as root (mmdebstrap chroots into the new tree)" >&2; exit 1; }
command -v mmdebstrap >/dev/null || { echo "local-base.sh: mmdebstrap not found (apt-get install mmdebstrap)" >&2; exit 1; }
if [ -n "$jdk" ] && [ ! -x "$jdk/bin/java" ]; then
  echo "local-base.sh: --jdk $jdk has no bin/java" >&2; exit 1
fi

out="$(realpath -m "$out")"
work="$out.work"
rm -rf "$work"
mkdir -p "$work/image"
trap 'rm -rf "$work"' EXIT

# Security updates are part of a base image's job: the suite, its -updates and its -security.
sources=("deb $mirror/debian $suite main" "deb $mirror/debian $suite-updates main"
         "deb $mirror/debian-security $suite-security main")
# The .deb files are kept in target/image/apt-cache between runs (a rebuild downloads nothing
# new) and removed from the image. update-alternatives links the JDK's man pages, so their
# directories must exist although their contents are excluded.
cache="$(dirname "$out")/apt-cache"
mkdir -p "$cache"
hooks=(--skip=download/empty --skip=essential/unlink
       --setup-hook='mkdir -p "$1/var/cache/apt/archives"'
       --setup-hook="sync-in $cache /var/cache/apt/archives"
       --essential-hook='mkdir -p "$1/usr/share/man/man1"'
       --customize-hook="sync-out /var/cache/apt/archives $cache"
       --customize-hook='rm -f "$1"/var/cache/apt/archives/*.deb'
       --customize-hook='chroot "$1" groupadd --gid 10001 kvasir'
       --customize-hook='chroot "$1" useradd --uid 10001 --gid 10001 --home-dir /tmp/kvasir --no-create-home --shell /usr/sbin/nologin kvasir')
if [ -n "$jdk" ]; then
  include=""
  java_home=/opt/java/openjdk
  # copy-in is mmdebstrap's own hook: it copies host paths into the tree, keeping modes.
  hooks+=(--customize-hook='mkdir -p "$1/opt/java"'
          --customize-hook="copy-in $jdk /opt/java"
          --customize-hook="mv \"\$1/opt/java/$(basename "$jdk")\" \"\$1$java_home\"")
else
  # ca-certificates-java builds the JDK's cacerts in its postinst, so HTTPS (hf:// models) works.
  include="--include=openjdk-25-jre-headless"
  java_home=/usr/lib/jvm/java-25-openjdk-amd64
fi

echo "local-base.sh: building the $suite minbase root filesystem (${jdk:-openjdk-25-jre-headless})..." >&2
# The path-excludes keep copyright files (/usr/share/doc/*/copyright): the licences travel with
# the binaries they cover.
mmdebstrap --mode=root --variant=minbase --format=tar $include \
  --aptopt='APT::Install-Recommends "false"' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  "${hooks[@]}" \
  "$suite" "$work/layer.tar" "${sources[@]}"

# `docker save` format: manifest.json naming the config and the layers, the config named by its
# digest, each layer an uncompressed tar whose sha256 is its diff_id. Jib recompresses the layer.
layer_sha="$(sha256sum "$work/layer.tar" | cut -d' ' -f1)"
mkdir -p "$work/image/$layer_sha"
mv "$work/layer.tar" "$work/image/$layer_sha/layer.tar"
created="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
path="$java_home/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
cat > "$work/config.json" <<EOF
{"architecture":"amd64","os":"linux","created":"$created",
 "config":{"Env":["PATH=$path","JAVA_HOME=$java_home","LANG=C.UTF-8"]},
 "rootfs":{"type":"layers","diff_ids":["sha256:$layer_sha"]},
 "history":[{"created":"$created","created_by":"deploy/image/local-base.sh: mmdebstrap $suite minbase, ${jdk:+JDK from }${jdk:-openjdk-25-jre-headless}"}]}
EOF
config_sha="$(sha256sum "$work/config.json" | cut -d' ' -f1)"
mv "$work/config.json" "$work/image/$config_sha.json"
printf '[{"Config":"%s.json","RepoTags":["kvasir-base:25-%s"],"Layers":["%s/layer.tar"]}]\n' \
  "$config_sha" "$suite" "$layer_sha" > "$work/image/manifest.json"

mkdir -p "$(dirname "$out")"
tar -C "$work/image" -cf "$out.partial" manifest.json "$config_sha.json" "$layer_sha"
mv "$out.partial" "$out"
echo "local-base.sh: wrote $out ($(du -h "$out" | cut -f1)); build with -Dkvasir.image.base=tar://$out" >&2
