#!/usr/bin/env bash
# Runs every Kestrel test, after installing whatever is missing:
# formatting and lints, unit and integration tests (including the desktop
# window under Xvfb), the wasm32 build of the shared crates, the web build,
# and the browser tests in headless Chromium. Screenshots and logs of the
# window and browser tests land in target/test-artifacts/.
#
# Tests that need the OS keychain get a real Secret Service of their own:
# each starts gnome-keyring-daemon inside a private `dbus-run-session` with
# a temporary HOME, unlocked non-interactively, so no test touches the
# keyring of the person running them (server/tests/keychain.rs, and every
# `kestrel serve` the browser tests start; see tests/e2e/harness.mjs).

set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh

step() { say "$1"; shift; "$@"; }

# One feature set for every native build, so nothing compiles twice.
NATIVE=(--workspace --features kestrel-app/desktop)
ARTIFACTS="$PWD/target/test-artifacts"
mkdir -p "$ARTIFACTS"

need_keyring() {
  command -v dbus-run-session >/dev/null && command -v gnome-keyring-daemon >/dev/null || {
    echo "The key tests need dbus-run-session and gnome-keyring-daemon (scripts/setup.sh installs them)." >&2
    return 1
  }
}
step "Checking the Secret Service tools" need_keyring
step "Checking formatting" cargo fmt --all -- --check
step "Linting" cargo clippy "${NATIVE[@]}" --all-targets --locked -- -D warnings
step "Unit, integration and desktop tests" cargo test "${NATIVE[@]}" --locked
step "Linting the wasm32 client build" \
  cargo clippy --locked --target wasm32-unknown-unknown -p kestrel-shared -p kestrel-kernels -p kestrel-app \
  --features kestrel-app/web -- -D warnings
step "Building the web client" dx build --web --package kestrel-app --features web --locked
step "Building the binaries the browser tests drive" cargo build "${NATIVE[@]}" --bins --locked

say "Browser tests (headless Chromium)"
(
  cd tests/e2e
  KESTREL_BIN="$PWD/../../target/debug/kestrel" \
  MOCK_BIN="$PWD/../../target/debug/mock-anthropic" \
  KESTREL_PUBLIC_DIR="$PWD/../../target/dx/kestrel/debug/web/public" \
  KESTREL_ARTIFACTS="$ARTIFACTS" \
    node --test --test-concurrency=1 ./*.test.mjs
)
say "All tests passed. Screenshots: $ARTIFACTS"
