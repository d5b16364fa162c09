#!/bin/bash
# preStop: drain this node before Kubernetes sends SIGTERM. POST /admin/drain on the management
# port (loopback, with the management token) stops new turns here; running streams finish or
# resume elsewhere, then the node leaves the cluster and exits. This waits while it does, up to
# DRAIN_WAIT seconds (kept below terminationGracePeriodSeconds). Plain bash: the image has no curl.
port="${KVASIR_MANAGEMENT_PORT:-8558}"
wait_s="${DRAIN_WAIT:-90}"
request() { # method path -> prints the status line
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf '%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n' \
    "$1" "$2" "$KVASIR_MANAGEMENT_TOKEN" >&3
  head -n 1 <&3
  exec 3<&-
}
echo "preStop: draining ($(request POST /admin/drain))" > /proc/1/fd/1
for ((i = 0; i < wait_s; i++)); do
  # The management port closes when the node has left and is shutting down.
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || exit 0
  sleep 1
done
