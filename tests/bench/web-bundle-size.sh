#!/usr/bin/env bash
# web-bundle-size.sh: owns the web bundle-size measurement. Builds the
# release web bundle exactly as shipped (`dx build --web --release --package
# kestrel-app --features web --locked`, with scripts/setup.sh's environment:
# NO_DOWNLOADS=1, wasm-opt and esbuild on PATH), then reports the raw and
# `gzip -9` sizes of the .wasm and .js the page loads, as a markdown table
# and as JSON in target/bench/web.json.
#
# Usage: tests/bench/web-bundle-size.sh [--no-build]
#   --no-build  measure the bundle already in target/dx without rebuilding.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
BUILD=1
for arg in "$@"; do
  case "$arg" in
    --no-build) BUILD=0 ;;
    *) echo "usage: $0 [--no-build]" >&2; exit 2 ;;
  esac
done

# shellcheck source=/dev/null
source "$ROOT/scripts/setup.sh"
set -euo pipefail

BUILD_CMD=(dx build --web --release --package kestrel-app --features web --locked)
BUILD_SECONDS=null
if [ "$BUILD" -eq 1 ]; then
  echo "==> ${BUILD_CMD[*]}" >&2
  started=$(date +%s.%N)
  "${BUILD_CMD[@]}" >&2
  BUILD_SECONDS=$(echo "$(date +%s.%N) - $started" | bc)
fi

PUBLIC="$ROOT/target/dx/kestrel/release/web/public"
[ -f "$PUBLIC/index.html" ] || { echo "no $PUBLIC/index.html: build first" >&2; exit 1; }

# The script the page loads, and the wasm that script fetches: exactly
# this build's files, even if older hashed files linger in assets/.
JS_NAME=$(grep -o 'assets/[^"]*\.js' "$PUBLIC/index.html" | head -n1 | sed 's|.*assets/||')
[ -n "$JS_NAME" ] || { echo "index.html names no assets/*.js" >&2; exit 1; }
WASM_NAME=$(grep -o 'assets/[A-Za-z0-9_.-]*\.wasm' "$PUBLIC/assets/$JS_NAME" | head -n1 | sed 's|.*assets/||')
[ -n "$WASM_NAME" ] || { echo "$JS_NAME names no assets/*.wasm" >&2; exit 1; }

size_of() { stat -c %s "$1"; }
gzip_size_of() { gzip -9 -c "$1" | wc -c; }

declare -A RAW GZ
for f in "$WASM_NAME" "$JS_NAME"; do
  RAW[$f]=$(size_of "$PUBLIC/assets/$f")
  GZ[$f]=$(gzip_size_of "$PUBLIC/assets/$f")
done
TOTAL_RAW=$(( RAW[$WASM_NAME] + RAW[$JS_NAME] ))
TOTAL_GZ=$(( GZ[$WASM_NAME] + GZ[$JS_NAME] ))
LIMIT=$(( 2 * 1000 * 1000 ))
if [ "$TOTAL_GZ" -lt "$LIMIT" ]; then PASS=true; else PASS=false; fi

mb() { echo "scale=3; $1 / 1000000" | bc | sed 's/^\./0./'; }

cat <<EOF
| file | raw bytes | raw MB | gzip -9 bytes | gzip -9 MB |
|---|---|---|---|---|
| $WASM_NAME | ${RAW[$WASM_NAME]} | $(mb "${RAW[$WASM_NAME]}") | ${GZ[$WASM_NAME]} | $(mb "${GZ[$WASM_NAME]}") |
| $JS_NAME | ${RAW[$JS_NAME]} | $(mb "${RAW[$JS_NAME]}") | ${GZ[$JS_NAME]} | $(mb "${GZ[$JS_NAME]}") |
| total | $TOTAL_RAW | $(mb "$TOTAL_RAW") | $TOTAL_GZ | $(mb "$TOTAL_GZ") |

Target: < 2 MB gzip (wasm + js): $( [ "$PASS" = true ] && echo pass || echo FAIL ).
EOF

mkdir -p "$ROOT/target/bench"
cat > "$ROOT/target/bench/web.json" <<EOF
{
  "date_utc": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "command": "${BUILD_CMD[*]}",
  "build_seconds": $BUILD_SECONDS,
  "dx": "$(dx --version 2>/dev/null | head -n1)",
  "wasm_opt": "$(wasm-opt --version 2>/dev/null | head -n1)",
  "wasm": {"file": "$WASM_NAME", "raw_bytes": ${RAW[$WASM_NAME]}, "gzip9_bytes": ${GZ[$WASM_NAME]}},
  "js": {"file": "$JS_NAME", "raw_bytes": ${RAW[$JS_NAME]}, "gzip9_bytes": ${GZ[$JS_NAME]}},
  "total": {"raw_bytes": $TOTAL_RAW, "gzip9_bytes": $TOTAL_GZ},
  "target": {"gzip_limit_bytes": $LIMIT, "pass": $PASS}
}
EOF
echo "wrote target/bench/web.json" >&2
