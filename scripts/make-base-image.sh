#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Makes the debian:bookworm-slim base image locally from Debian's packages,
# for machines where Docker cannot pull from a registry: debootstrap
# --variant=minbase into a folder, trim it as the official slim image is
# trimmed, then `docker import`. Does nothing when the image exists.
#   make-base-image.sh [--force]
# Environment: BASE_IMAGE (debian:bookworm-slim), DEBIAN_MIRROR and
# DEBIAN_SECURITY_MIRROR (default: read from this machine's apt sources,
# else deb.debian.org). Needs root (or sudo) for apt-get and debootstrap.
set -euo pipefail

IMAGE=${BASE_IMAGE:-debian:bookworm-slim}
SUITE=bookworm
FORCE=0
[ "${1:-}" = --force ] && FORCE=1

say() { echo "make-base-image: $*" >&2; }
die() { say "$*"; exit 1; }

if [ $FORCE = 0 ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  say "$IMAGE exists; nothing to do"
  exit 0
fi

SUDO=
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || die "run as root: debootstrap needs it"
  SUDO=sudo
fi

# --- debootstrap -------------------------------------------------------------
if ! command -v debootstrap >/dev/null && [ ! -x /usr/sbin/debootstrap ]; then
  say "installing debootstrap"
  export DEBIAN_FRONTEND=noninteractive
  if ! $SUDO apt-get install -y -qq --no-install-recommends debootstrap \
      >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
  fi
fi
DEBOOTSTRAP=$(command -v debootstrap || echo /usr/sbin/debootstrap)

# --- the mirror, from the machine's apt configuration -------------------------
# Prints "URI SUITE" for every deb source: one-line .list entries and
# deb822 .sources stanzas (Types/URIs/Suites, Enabled: no skipped).
apt_sources() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    # deb [options] URI SUITE COMPONENTS...
    sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" |
      awk '$1 == "deb" && NF >= 3 { print $2, $3 }'
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk '
      function flush(  i, j, nu, ns, u, s) {
        if (types ~ /(^| )deb( |$)/ && enabled !~ /^[Nn]o/) {
          nu = split(uris, u, " "); ns = split(suites, s, " ")
          for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++) print u[i], s[j]
        }
        types = uris = suites = enabled = ""
      }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      tolower($1) == "types:" { $1 = ""; types = $0 }
      tolower($1) == "uris:" { $1 = ""; uris = $0 }
      tolower($1) == "suites:" { $1 = ""; suites = $0 }
      tolower($1) == "enabled:" { enabled = $2 }
      END { flush() }' "$f"
  done
}

mirror_for() { # SUITE: the first URI that serves it
  apt_sources | awk -v s="$1" '$2 == s && $1 ~ /^https?:/ { print $1; exit }'
}

MIRROR=${DEBIAN_MIRROR:-$(mirror_for "$SUITE")}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY=${DEBIAN_SECURITY_MIRROR:-$(mirror_for "$SUITE-security")}
SECURITY=${SECURITY:-http://deb.debian.org/debian-security}
MIRROR=${MIRROR%/}
SECURITY=${SECURITY%/}
ARCH=$(dpkg --print-architecture 2>/dev/null || echo amd64)

# --- build the tree ---------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/chord-base.XXXXXX")
cleanup() { $SUDO rm -rf --one-file-system "$WORK"; }
trap cleanup EXIT
ROOTFS=$WORK/rootfs

KEYRING=()
if [ -f /usr/share/keyrings/debian-archive-keyring.gpg ]; then
  KEYRING=(--keyring=/usr/share/keyrings/debian-archive-keyring.gpg)
fi
say "debootstrap --variant=minbase $SUITE from $MIRROR ($ARCH)"
start=$(date +%s)
if ! $SUDO "$DEBOOTSTRAP" --variant=minbase --arch="$ARCH" "${KEYRING[@]}" \
    "$SUITE" "$ROOTFS" "$MIRROR" >"$WORK/debootstrap.log" 2>&1; then
  tail -n 20 "$WORK/debootstrap.log" >&2
  [ -f "$ROOTFS/debootstrap/debootstrap.log" ] &&
    tail -n 20 "$ROOTFS/debootstrap/debootstrap.log" >&2
  die "debootstrap failed"
fi

# What the slim image's build (debuerreotype) sets up and trims.
$SUDO tee "$ROOTFS/etc/apt/sources.list.d/debian.sources" >/dev/null <<EOF
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
$SUDO rm -f "$ROOTFS/etc/apt/sources.list"
$SUDO tee "$ROOTFS/usr/sbin/policy-rc.d" >/dev/null <<'EOF'
#!/bin/sh
# No services start during an image build.
exit 101
EOF
$SUDO chmod 0755 "$ROOTFS/usr/sbin/policy-rc.d"
$SUDO tee "$ROOTFS/etc/dpkg/dpkg.cfg.d/docker" >/dev/null <<'EOF'
# As in the slim image: no docs, man pages or translations.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/man/*
EOF
$SUDO tee "$ROOTFS/etc/dpkg/dpkg.cfg.d/docker-apt-speedup" >/dev/null <<'EOF'
force-unsafe-io
EOF
$SUDO tee "$ROOTFS/etc/apt/apt.conf.d/docker-clean" >/dev/null <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
$SUDO tee "$ROOTFS/etc/apt/apt.conf.d/docker-gzip-indexes" >/dev/null <<'EOF'
Acquire::GzipIndexes "true";
EOF
$SUDO tee "$ROOTFS/etc/apt/apt.conf.d/docker-no-languages" >/dev/null <<'EOF'
Acquire::Languages "none";
EOF
$SUDO tee "$ROOTFS/etc/apt/apt.conf.d/docker-autoremove-suggests" \
  >/dev/null <<'EOF'
Apt::AutoRemove::SuggestsImportant "false";
EOF
# debootstrap takes the release as it was; the slim image also carries
# bookworm-updates and the security fixes.
say "upgrading from $SUITE-updates and $SUITE-security"
if ! $SUDO env DEBIAN_FRONTEND=noninteractive LC_ALL=C chroot "$ROOTFS" \
    sh -c 'apt-get update -qq && apt-get dist-upgrade -y -qq &&
           apt-get clean' >"$WORK/upgrade.log" 2>&1; then
  tail -n 20 "$WORK/upgrade.log" >&2
  die "apt-get dist-upgrade in the new tree failed"
fi
$SUDO find "$ROOTFS/usr/share/doc" -mindepth 1 -not -name copyright \
  -not -type d -delete
$SUDO find "$ROOTFS/usr/share/doc" -mindepth 1 -type d -empty -delete
$SUDO find "$ROOTFS/usr/share/locale" -mindepth 1 -maxdepth 1 \
  -not -name locale.alias -exec rm -rf {} +
$SUDO rm -rf "$ROOTFS"/usr/share/{man,groff,info,linda,lintian}/* \
  "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin \
  "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/cache/debconf/*-old \
  "$ROOTFS"/var/log/* "$ROOTFS"/tmp/* "$ROOTFS"/debootstrap
$SUDO mkdir -p "$ROOTFS/var/lib/apt/lists/partial"
# Device nodes come from the container runtime.
$SUDO find "$ROOTFS/dev" -mindepth 1 -delete
: | $SUDO tee "$ROOTFS/etc/machine-id" >/dev/null
# debootstrap copied these from this machine; Docker provides its own.
$SUDO rm -f "$ROOTFS/etc/hostname" "$ROOTFS/etc/resolv.conf"

# --- import -----------------------------------------------------------------
say "importing as $IMAGE"
$SUDO tar --numeric-owner --xattrs -C "$ROOTFS" -c . |
  docker import --change 'CMD ["bash"]' \
    --message "debootstrap --variant=minbase $SUITE from $MIRROR" \
    - "$IMAGE" >/dev/null
size=$(docker image inspect -f '{{.Size}}' "$IMAGE")
say "$IMAGE made in $(( $(date +%s) - start ))s:" \
  "$(awk -v b="$size" 'BEGIN { printf "%.1f MB", b / 1e6 }')"
