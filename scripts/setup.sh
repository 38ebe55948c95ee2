#!/usr/bin/env bash
# Installs and builds whatever is missing, and nothing else: Debian packages
# from image-build/packages.txt, npm packages (npm ci), the native module
# (napi build), the TypeScript (tsc -b) and the console (vite build).
# Idempotent; a few seconds when everything is already there.
#   scripts/setup.sh              everything
#   scripts/setup.sh --build-only skip the Debian packages
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf 'setup: %s\n' "$*" >&2; }

# --- Debian packages ------------------------------------------------------
install_debian_packages() {
  local wanted missing=()
  wanted=$(grep -v '^[[:space:]]*#' image-build/packages.txt | awk 'NF { print $1 }')
  # One dpkg-query for the whole list; packages it does not know are missing.
  local installed
  installed=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' $wanted 2>/dev/null | awk '$2 == "installed" { print $1 }' || true)
  for p in $wanted; do
    grep -qx "$p" <<<"$installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    log "missing Debian packages: ${missing[*]}"
    log "run as root (sudo npm test / sudo npm start) so they can be installed"
    exit 1
  fi
  log "installing ${#missing[@]} Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  local extra=()
  # A qemu-utils newer than the archive's (e.g. from backports) blocks
  # qemu-system-x86 of the release: take both from the same version.
  if printf '%s\n' "${missing[@]}" | grep -qx qemu-system-x86; then
    local qsys qutil
    qsys=$(apt-cache policy qemu-system-x86 | awk '/Candidate:/ { print $2 }')
    qutil=$(dpkg-query -W -f='${Version}' qemu-utils 2>/dev/null || true)
    if [ -n "$qutil" ] && [ "$qutil" != "$qsys" ]; then
      extra+=(--allow-downgrades "qemu-utils=$qsys")
    fi
  fi
  apt-get install -y -q "${missing[@]}" "${extra[@]}"
}

# --- npm ------------------------------------------------------------------
install_npm_packages() {
  local stamp=node_modules/.cairn-lock-sha256
  local want
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  log "npm ci"
  npm ci --no-audit --no-fund
  echo "$want" >"$stamp"
}

# --- native module (Rust, napi-rs) ----------------------------------------
build_native() {
  local out=native/cairn-native.linux-x64-gnu.node
  if [ -f "$out" ] && [ -f native/index.d.ts ] &&
     [ -z "$(find native/src native/Cargo.toml native/Cargo.lock native/build.rs native/package.json -newer "$out" -print -quit)" ]; then
    return 0
  fi
  log "building the native module (release)"
  (cd native && npx napi build --platform --release)
}

# --- TypeScript and console ------------------------------------------------
build_typescript() {
  npx tsc -b
}

build_web_ui() {
  local out=web-ui/dist/index.html
  if [ -f "$out" ] &&
     [ -z "$(find web-ui/src web-ui/index.html web-ui/vite.config.ts web-ui/package.json -newer "$out" -print -quit)" ]; then
    return 0
  fi
  log "building the console"
  npm run build --silent -w web-ui
}

if [ "${1:-}" != "--build-only" ]; then install_debian_packages; fi
install_npm_packages
build_native
build_typescript
build_web_ui
