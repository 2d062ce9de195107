#!/usr/bin/env bash
# Builds and starts Kestrel, after installing whatever is missing. Opens the
# desktop window; on a machine without a display it serves the web UI on
# 127.0.0.1 and prints its address. Extra arguments go to `kestrel`
# (for example `scripts/run.sh serve --port 8080`).
#
# Without ANTHROPIC_API_KEY you can add a key in Settings, or try Kestrel
# against the bundled mock server (see README.md).

set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh

say "Building the web client"
dx build --web --release --package kestrel-app --features web --locked
say "Building Kestrel"
cargo build --release --locked -p kestrel-app --features desktop

export DIOXUS_PUBLIC_PATH="$PWD/target/dx/kestrel/release/web/public"
exec target/release/kestrel "$@"
