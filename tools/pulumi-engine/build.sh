#!/usr/bin/env bash
# Builds the Pulumi engine binaries this stack needs from Go modules pinned in
# the small modules next to this script, so no download site is needed (only
# the Go module proxy):
#
#   cli/          github.com/pulumi/pulumi/pkg/v3/cmd/pulumi      -> pulumi
#   nodejs-host/  .../sdk/v3/nodejs/cmd/pulumi-language-nodejs    -> pulumi-language-nodejs
#
# Output: $PULUMI_ENGINE_DIR/bin (default: <repo>/.pulumi-engine/bin). The
# directory gets its own '.gitignore' ('*'), so it never shows up in git.
# A stamp file records a hash of the go.mod/go.sum files, this script and the
# Go version; when it matches and the binaries exist, nothing is rebuilt.
# Set PULUMI_ENGINE_FORCE=1 to rebuild anyway.
#
# Use:  tools/pulumi-engine/build.sh && export PATH="$PWD/.pulumi-engine/bin:$PATH"
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
engine_dir="${PULUMI_ENGINE_DIR:-$repo/.pulumi-engine}"
bin_dir="$engine_dir/bin"
stamp="$engine_dir/build.stamp"

command -v go >/dev/null || { echo "build.sh: 'go' is not on PATH (Go >= 1.24 needed)" >&2; exit 1; }

# name|module dir|package|module whose version is stamped|-X variable
targets=(
  "pulumi|cli|github.com/pulumi/pulumi/pkg/v3/cmd/pulumi|github.com/pulumi/pulumi/pkg/v3|github.com/pulumi/pulumi/sdk/v3/go/common/version.Version"
  "pulumi-language-nodejs|nodejs-host|github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs|github.com/pulumi/pulumi/sdk/v3|github.com/pulumi/pulumi/sdk/v3/go/common/version.Version"
)
# pulumi-resource-command (github.com/pulumi/pulumi-command/provider) is not
# built: the module proxy reachable here refuses every version of that module.

hash="$(
  {
    go version
    for t in "${targets[@]}"; do
      IFS='|' read -r _ dir _ <<<"$t"
      sha256sum "$here/$dir/go.mod" "$here/$dir/go.sum" | sed "s#  $here/#  #"
    done
    sha256sum "$here/build.sh" | sed "s#  $here/#  #"
  } | sha256sum | cut -d' ' -f1
)"

up_to_date=1
[[ "${PULUMI_ENGINE_FORCE:-0}" == 1 ]] && up_to_date=0
[[ -f "$stamp" && "$(cat "$stamp")" == "$hash" ]] || up_to_date=0
for t in "${targets[@]}"; do
  IFS='|' read -r name _ <<<"$t"
  [[ -x "$bin_dir/$name" ]] || up_to_date=0
done
if [[ $up_to_date == 1 ]]; then
  echo "pulumi-engine: up to date in $bin_dir"
  exit 0
fi

mkdir -p "$engine_dir"
printf '*\n' >"$engine_dir/.gitignore"
tmp="$(mktemp -d "$engine_dir/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

export GOFLAGS="-mod=readonly -buildvcs=false -trimpath"
export CGO_ENABLED=0
for t in "${targets[@]}"; do
  IFS='|' read -r name dir pkg vmod xvar <<<"$t"
  version="$(cd "$here/$dir" && go list -m -f '{{.Version}}' "$vmod")"
  echo "pulumi-engine: building $name $version ($pkg)"
  (cd "$here/$dir" && nice -n 10 go build -ldflags "-s -w -X $xvar=$version" -o "$tmp/$name" "$pkg")
done

mkdir -p "$bin_dir"
for t in "${targets[@]}"; do
  IFS='|' read -r name _ <<<"$t"
  mv -f "$tmp/$name" "$bin_dir/$name"
done
printf '%s\n' "$hash" >"$stamp"
echo "pulumi-engine: built into $bin_dir"
