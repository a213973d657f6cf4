#!/usr/bin/env bash
# The README's first command: installs what is missing (tools/install.sh), then brings the whole proxy up
# on this machine (npm run demo) until Ctrl-C, which takes everything down again.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install.sh
exec npm run --silent demo
