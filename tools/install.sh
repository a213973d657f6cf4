#!/usr/bin/env bash
# Installs what the tests and the demo need on a Debian 12 machine, as root: Debian packages, the npm
# packages (npm ci, when package-lock.json is newer than the installed tree), the Pulumi CLI with its
# Node.js language host, and the end-to-end environment's ACME CA (Pebble and pebble-challtestsrv), both
# built from the Go module proxy (reused once built). Used by .ci/run and tools/demo.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== Debian packages"
export DEBIAN_FRONTEND=noninteractive
apt_get() { apt-get -o DPkg::Lock::Timeout=300 "$@"; }
# haproxy: checks every rendered configuration; shellcheck: the host scripts; the rest: the end-to-end
# environment's Docker engine, SSH host, DNS-01 zone (bind9: named, tsig-keygen; bind9-utils: named-checkconf;
# bind9-dnsutils: dig, nsupdate) and image builds (debootstrap; the certbot image's pip trusts what
# ca-certificates trusts here), and its clients; the fleet's hosts (dev/env/fleet.ts: iproute2 and iptables
# for their namespaces and test network, keepalived for the keepalived image, rsync between hosts). Not
# Debian's pebble: it is 2.4, and the tests need a current Pebble (built below).
packages=(haproxy openssl shellcheck docker.io openssh-server openssh-client bind9 bind9-utils bind9-dnsutils debootstrap curl iproute2 iptables keepalived rsync ca-certificates)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    apt_get update -q
    apt_get install -y -q "${missing[@]}"
fi
haproxy -v | sed -n 1p  # sed reads all of it: head could close the pipe early, failing it under pipefail

echo "== npm packages"
# npm writes node_modules/.package-lock.json on every install: an older one means the lock changed since.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json || -n "${CI:-}" ]]; then
    npm ci --no-audit --no-fund
else
    echo "node_modules is up to date with package-lock.json"
fi

echo "== Pulumi CLI and Node.js language host, built from the Go module proxy (cached once built)"
# The pinned CLI's and Pebble's modules need Go 1.25 or newer; Debian 12's own golang is 1.19 (README, "The
# two commands").
go_version="$(go env GOVERSION 2>/dev/null || true)"
if [[ ! "$go_version" =~ ^go1\.(2[5-9]|[3-9][0-9])(\.|$) && ! "$go_version" =~ ^go[2-9] ]]; then
    echo "tools/install.sh: Go 1.25 or newer is needed to build the Pulumi CLI and Pebble, found ${go_version:-no go on PATH} (README: The two commands)" >&2
    exit 1
fi
tools/pulumi-engine/build.sh

echo "== Pebble and pebble-challtestsrv (the end-to-end tests' ACME CA), built from the Go module proxy (cached once built)"
tools/pebble/build.sh
