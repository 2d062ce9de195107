#!/usr/bin/env bash
# The streaming client benchmark (BENCHMARKS.md, "Streaming clients"):
# installs the official SDKs at pinned versions (skipped when present) into
# $KESTREL_TOOLS (default ~/.cache/kestrel-tools): `anthropic` from PyPI in
# a venv, `@anthropic-ai/sdk` from npm; builds the release binaries with
# the same features as the other benchmarks; runs `stream-bench`, which
# prints one table per case. Extra arguments go to stream-bench
# (e.g. `--runs 3`, `--only 100k`).

set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

PYTHON_SDK_VERSION="2.11.0"
TS_SDK_VERSION="1.11.0"
KESTREL_TOOLS="${KESTREL_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/kestrel-tools}"
VENV="$KESTREL_TOOLS/anthropic-py-$PYTHON_SDK_VERSION"
TS_SDK="$KESTREL_TOOLS/anthropic-ts-$TS_SDK_VERSION"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

if ! "$VENV/bin/python" -c "import anthropic, sys; sys.exit(anthropic.__version__ != '$PYTHON_SDK_VERSION')" 2>/dev/null; then
  say "Installing anthropic $PYTHON_SDK_VERSION (PyPI) into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "anthropic==$PYTHON_SDK_VERSION"
fi
if [ ! -f "$TS_SDK/node_modules/@anthropic-ai/sdk/package.json" ] \
  || ! grep -q "\"version\": \"$TS_SDK_VERSION\"" "$TS_SDK/node_modules/@anthropic-ai/sdk/package.json"; then
  say "Installing @anthropic-ai/sdk $TS_SDK_VERSION (npm) into $TS_SDK"
  mkdir -p "$TS_SDK"
  npm install --prefix "$TS_SDK" --no-audit --no-fund --loglevel=error "@anthropic-ai/sdk@$TS_SDK_VERSION"
fi

say "Building the release binaries"
cargo build --release --locked -p kestrel-bench -p kestrel-app -p kestrel-mock-anthropic \
  --features kestrel-app/desktop

say "Python $("$VENV/bin/python" --version 2>&1 | cut -d' ' -f2), Node $(node --version), anthropic $PYTHON_SDK_VERSION, @anthropic-ai/sdk $TS_SDK_VERSION"
exec target/release/stream-bench --python "$VENV/bin/python" --ts-sdk "$TS_SDK" "$@"
