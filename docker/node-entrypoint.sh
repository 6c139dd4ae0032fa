#!/bin/sh
# SPDX-License-Identifier: MIT
# Starts chord-node in a container: serves on every interface at
# $CHORD_PORT and advertises the container's own address (hostname -i),
# which chord-node needs with a wildcard --listen. Arguments go on to
# chord-node after these.
#   CHORD_PORT       port to serve on (the image sets 7000, compose's
#                    node service 7001; 7001 when unset)
#   CHORD_ADVERTISE  HOST to advertise (the container's address)
#   CHORD_SUPERNODE  the supernode, read by chord-node itself
#   CHORD_TOKEN_FILE, CHORD_CLIENT_TOKEN_FILE, CHORD_TLS_CERT, _KEY, _CA,
#   CHORD_TLS_SERVER_NAME
#                    tokens and mutual TLS, read by chord-node itself
#                    (docker-compose.tls.yml sets them)
#   CHORD_STORE      mem (default) or dir: files under
#                    $CHORD_DATA_DIR/<container hostname>
#   CHORD_DATA_DIR   where dir stores live (/var/lib/chord, a volume)
set -eu

port=${CHORD_PORT:-7001}
listen=0.0.0.0
host=${CHORD_ADVERTISE:-}
if [ -z "$host" ]; then
  # The first address of the container's hostname: its primary network.
  host=$(hostname -i 2>/dev/null | awk '{ print $1 }')
fi
case $host in
  '' | 127.* | ::1)
    echo "chord-node-entrypoint: cannot tell this container's address" \
      "(hostname -i gave \"$host\"); set CHORD_ADVERTISE" >&2
    exit 1 ;;
  *:*) host="[$host]"; listen="[::]" ;; # IPv6
esac

store=${CHORD_STORE:-mem}
case $store in
  mem)
    set -- --listen "$listen:$port" --advertise "$host:$port" "$@" ;;
  dir)
    # One directory per container: replicas of a scaled service share the
    # volume, and a stopped container finds its own files when restarted.
    dir=${CHORD_DATA_DIR:-/var/lib/chord}/$(hostname)
    mkdir -p "$dir"
    set -- --listen "$listen:$port" --advertise "$host:$port" \
      --store dir --data-dir "$dir" "$@" ;;
  *)
    echo "chord-node-entrypoint: CHORD_STORE is mem or dir," \
      "not \"$store\"" >&2
    exit 2 ;;
esac
exec chord-node "$@"
