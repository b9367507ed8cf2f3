#!/usr/bin/env bash
# Regenerates every sample in this directory, byte for byte the same on every run
# (fixed key seeds, a fixed clock, one commit per entry).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/.."
swift build --product tiaki-samples
"$(swift build --show-bin-path)/tiaki-samples" --out "$here" "$@"
