#!/usr/bin/env bash
# Installs what building and testing Kestrel needs, skipping whatever is
# already there, then exports the environment the build uses. Sourced by
# run.sh and test.sh; safe to run again (a second run installs nothing).
#
# Installs: Debian packages (WebKitGTK and GTK for the desktop build,
# libdbus for the keychain client, Xvfb and ImageMagick for the desktop
# test, Chromium for the browser tests, gnome-keyring for the key tests,
# Node.js), the wasm32 target, dioxus-cli (dx) at DX_VERSION, wasm-bindgen-cli
# at exactly the version in Cargo.lock, esbuild (for dx) and binaryen's
# wasm-opt (for release web builds) from npm, and the browser tests' npm
# packages. dx never downloads anything itself (NO_DOWNLOADS=1).

set -euo pipefail

KESTREL_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DX_VERSION="0.7.10"
ESBUILD_VERSION="0.27.3"
BINARYEN_VERSION="132.0.0"
KESTREL_TOOLS="${KESTREL_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/kestrel-tools}"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_apt_packages() {
  local wanted=(
    # building the desktop app
    pkg-config build-essential libssl-dev libwebkit2gtk-4.1-dev libgtk-3-dev libxdo-dev
    librsvg2-dev libayatana-appindicator3-dev
    # the OS keychain client (Secret Service over D-Bus)
    libdbus-1-dev
    # the desktop window under test, and its screenshot
    xvfb xauth dbus dbus-x11 libgl1-mesa-dri fonts-dejavu-core imagemagick
    # the browser tests
    chromium
    # a real Secret Service for the key tests, in a private D-Bus session
    gnome-keyring dbus-daemon
  )
  command -v npm >/dev/null 2>&1 || wanted+=(nodejs npm)
  local missing=()
  for package in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    say "Installing Debian packages: ${missing[*]}"
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
}

install_rust_tools() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "Adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  if ! dx --version 2>/dev/null | grep -q "^dioxus $DX_VERSION "; then
    say "Installing dioxus-cli $DX_VERSION (takes about 15 minutes on 2 cores, once)"
    cargo install dioxus-cli --version "$DX_VERSION" --locked
  fi
  local bindgen
  bindgen="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$KESTREL_ROOT/Cargo.lock")"
  if ! wasm-bindgen --version 2>/dev/null | grep -q " $bindgen\$"; then
    say "Installing wasm-bindgen-cli $bindgen (the version in Cargo.lock)"
    # Not --locked: that lockfile pins a webpki-roots release the registry
    # no longer serves. The version itself is pinned exactly.
    cargo install wasm-bindgen-cli --version "=$bindgen"
  fi
}

install_node_tools() {
  if ! "$KESTREL_TOOLS/node_modules/.bin/esbuild" --version 2>/dev/null | grep -qx "$ESBUILD_VERSION" \
    || [ ! -x "$KESTREL_TOOLS/node_modules/.bin/wasm-opt" ]; then
    say "Installing esbuild $ESBUILD_VERSION and binaryen $BINARYEN_VERSION into $KESTREL_TOOLS"
    mkdir -p "$KESTREL_TOOLS"
    npm install --prefix "$KESTREL_TOOLS" --no-audit --no-fund --loglevel=error \
      "esbuild@$ESBUILD_VERSION" "binaryen@$BINARYEN_VERSION"
  fi
  if [ ! -d "$KESTREL_ROOT/tests/e2e/node_modules/playwright-core" ]; then
    say "Installing the browser tests' packages (playwright-core; no browser download)"
    (cd "$KESTREL_ROOT/tests/e2e" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  fi
}

install_apt_packages
export PATH="$HOME/.cargo/bin:$KESTREL_TOOLS/node_modules/.bin:$PATH"
install_rust_tools
install_node_tools

# dx: use the tools above, never fetch its own, send no telemetry.
export NO_DOWNLOADS=1 TELEMETRY=false DX_TELEMETRY_ENABLED=false
