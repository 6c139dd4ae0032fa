#!/bin/sh
# SPDX-License-Identifier: MIT
# Starts chord-node in a container: serves on every interface at
# $CHORD_PORT and advertises the container's own address (hostname -i),
# which chord-node needs with a wildcard --listen. Arguments go on to
# chord-node after these.
#   CHORD_PORT       port to serve on (the image sets 7000, compose's
#                    node service 7001; 7001 when unset)
#   CHORD_ADVERTISE  HOST to advertise (the container's address)
#   CHORD_ADVERTISE_NETWORK
#                    an IPv4 CIDR (10.231.0.0/24): advertise the
#                    container's address in it, for a container on several
#                    networks (a swarm task), where hostname -i may list
#                    another network's address first
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
net=${CHORD_ADVERTISE_NETWORK:-}
if [ -z "$host" ] && [ -n "$net" ]; then
  # The container's address inside the IPv4 network A.B.C.D/BITS; "-"
  # when that is no such network.
  all=$(hostname -I 2>/dev/null || true)
  host=$(echo "$all" | tr ' ' '\n' | awk -v net="$net" '
    function num(a,  p) {
      if (split(a, p, ".") != 4) return -1
      return ((p[1] * 256 + p[2]) * 256 + p[3]) * 256 + p[4]
    }
    BEGIN {
      split(net, c, "/")
      if (net !~ /^[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+[/][0-9]+$/ ||
          c[2] + 0 > 32) { print "-"; exit }
      size = 2 ^ (32 - c[2]); base = num(c[1]); base -= base % size
    }
    { n = num($1) }
    n >= 0 && n - n % size == base { print $1; exit }')
  case $host in
    -)
      echo "chord-node-entrypoint: CHORD_ADVERTISE_NETWORK is an IPv4" \
        "network such as 10.231.0.0/24, not \"$net\"" >&2
      exit 2 ;;
    '')
      echo "chord-node-entrypoint: no address of this container is in" \
        "CHORD_ADVERTISE_NETWORK=$net (it has: ${all:-none})" >&2
      exit 1 ;;
  esac
fi
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
