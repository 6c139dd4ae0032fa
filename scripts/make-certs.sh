#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Makes a local certificate authority and one certificate per role, for
# mutual TLS between chord's programs, with the openssl command line:
#   DIR/ca.pem, DIR/ca.key                   the CA (keep ca.key offline)
#   DIR/supernode.pem/.key, node.pem/.key    servers that are also clients
#   DIR/client.pem/.key                      chordctl and other clients
#   DIR/token, DIR/client-token              random cluster and client tokens
# Every server certificate names localhost, chord (the name to give
# --tls-server-name where addresses change), 127.0.0.1 and ::1, plus each
# extra NAME given (host names or IP addresses the daemons advertise, such
# as the compose services' names). Keys are EC P-256; certificates last
# DAYS days (default 825). Files that exist are kept unless --force.
#   make-certs.sh [--force] [--days N] DIR [NAME...]
set -euo pipefail

force=0
days=825
while [ $# -gt 0 ]; do
  case $1 in
  --force) force=1 ;;
  --days)
    days=${2:?--days needs a value}
    shift
    ;;
  -h | --help)
    sed -n '3,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  -*)
    echo "make-certs.sh: unknown option $1" >&2
    exit 2
    ;;
  *) break ;;
  esac
  shift
done
dir=${1:?usage: make-certs.sh [--force] [--days N] DIR [NAME...]}
shift
command -v openssl >/dev/null || {
  echo "make-certs.sh: openssl is missing (apt-get install openssl)" >&2
  exit 1
}
if [ -e "$dir/ca.pem" ] && [ "$force" -eq 0 ]; then
  echo "make-certs.sh: $dir/ca.pem exists; --force to make new ones" >&2
  exit 0
fi
mkdir -p "$dir"
umask 077

san="DNS:localhost,DNS:chord,IP:127.0.0.1,IP:::1"
for name in "$@"; do
  if [[ $name =~ ^[0-9.]+$ || $name == *:* ]]; then
    san="$san,IP:$name"
  else
    san="$san,DNS:$name"
  fi
done

newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
  -out "$1" 2>/dev/null; }

newkey "$dir/ca.key"
openssl req -x509 -new -key "$dir/ca.key" -sha256 -days "$days" \
  -subj "/CN=chord local CA $(date -u +%Y%m%dT%H%M%SZ)" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out "$dir/ca.pem"

for role in supernode node client; do
  newkey "$dir/$role.key"
  ext="$dir/$role.ext"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [ "$role" = client ]; then
      echo "extendedKeyUsage=clientAuth"
    else
      echo "extendedKeyUsage=serverAuth,clientAuth"
      echo "subjectAltName=$san"
    fi
  } >"$ext"
  openssl req -new -key "$dir/$role.key" -subj "/CN=chord $role" \
    -out "$dir/$role.csr"
  openssl x509 -req -in "$dir/$role.csr" -CA "$dir/ca.pem" \
    -CAkey "$dir/ca.key" -CAcreateserial -days "$days" -sha256 \
    -extfile "$ext" -out "$dir/$role.pem" 2>/dev/null
  rm -f "$dir/$role.csr" "$ext"
done
rm -f "$dir/ca.srl"
for t in token client-token; do
  openssl rand -hex 32 >"$dir/$t"
done
# Readable by the containers' unprivileged user; the CA key stays private.
chmod 644 "$dir"/*.pem "$dir"/supernode.key "$dir"/node.key \
  "$dir"/client.key "$dir"/token "$dir"/client-token
echo "make-certs.sh: CA, supernode, node and client certificates and tokens in $dir"
