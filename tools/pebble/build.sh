#!/usr/bin/env bash
# Builds the end-to-end tests' ACME CA from the Go module pinned in go.mod next to this script, so that
# only the Go module proxy is needed (no download site, no Debian package: Debian 12's pebble is 2.4,
# without certificate profiles, ARI overrides or a configurable validity period):
#
#   github.com/letsencrypt/pebble/v2/cmd/pebble                -> pebble
#   github.com/letsencrypt/pebble/v2/cmd/pebble-challtestsrv   -> pebble-challtestsrv
#
# Output: $PEBBLE_DIR/bin (default: <repo>/.pebble/bin), where dev/env/pebble.ts looks first. The
# directory gets its own '.gitignore' ('*'), so it never shows up in git. A stamp file records a hash of
# go.mod, go.sum, this script and the Go version; when it matches and both binaries exist, nothing is
# rebuilt. Set PEBBLE_FORCE=1 to rebuild anyway.
#
# Change the version: go get -tool github.com/letsencrypt/pebble/v2/cmd/pebble@vX.Y.Z in this directory
# (pebble-challtestsrv comes from the same module), then go mod tidy.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
pebble_dir="${PEBBLE_DIR:-$repo/.pebble}"
bin_dir="$pebble_dir/bin"
stamp="$pebble_dir/build.stamp"
module=github.com/letsencrypt/pebble/v2
programs=(pebble pebble-challtestsrv)

command -v go >/dev/null || { echo "build.sh: 'go' is not on PATH (Go >= 1.25 needed)" >&2; exit 1; }

hash="$(
  {
    go version
    sha256sum "$here/go.mod" "$here/go.sum" "$here/build.sh" | sed "s#  $here/#  #"
  } | sha256sum | cut -d' ' -f1
)"

up_to_date=1
[[ "${PEBBLE_FORCE:-0}" == 1 ]] && up_to_date=0
[[ -f "$stamp" && "$(cat "$stamp")" == "$hash" ]] || up_to_date=0
for name in "${programs[@]}"; do
  [[ -x "$bin_dir/$name" ]] || up_to_date=0
done
if [[ $up_to_date == 1 ]]; then
  echo "pebble: up to date in $bin_dir"
  exit 0
fi

mkdir -p "$pebble_dir"
printf '*\n' >"$pebble_dir/.gitignore"
tmp="$(mktemp -d "$pebble_dir/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

export GOFLAGS="-mod=readonly -buildvcs=false -trimpath"
export CGO_ENABLED=0
version="$(cd "$here" && go list -m -f '{{.Version}}' "$module")"
for name in "${programs[@]}"; do
  echo "pebble: building $name $version"
  # main.version is what `pebble -version` prints (pebble-challtestsrv has none).
  (cd "$here" && nice -n 10 go build -ldflags "-s -w -X main.version=$version" -o "$tmp/$name" "$module/cmd/$name")
done

mkdir -p "$bin_dir"
for name in "${programs[@]}"; do
  mv -f "$tmp/$name" "$bin_dir/$name"
done
printf '%s\n' "$hash" >"$stamp"
echo "pebble: built into $bin_dir"
