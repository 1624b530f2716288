#!/usr/bin/env bash
# `npm run setup:browser`: Debian's Chromium for the browser tests (test/browser/), installed with
# apt-get when it is missing (as root, or through sudo without a password). The tests drive it with
# playwright-core; no browser is ever downloaded from elsewhere. CHROMIUM_PATH names another binary.
set -euo pipefail

chromium=${CHROMIUM_PATH:-/usr/bin/chromium}
if [ -x "$chromium" ]; then
  echo "Chromium for the browser tests: $chromium"
  exit 0
fi

fail() {
  echo "setup:browser FAILED: $*" >&2
  exit 1
}

command -v apt-get >/dev/null || fail "no apt-get here: install Chromium yourself and set CHROMIUM_PATH to its binary"
if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  fail "installing Chromium needs root: run \`sudo apt-get install -y chromium\` (Debian's package), then the tests"
fi

echo "Installing Debian's chromium package for the browser tests…"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have no package lists yet: update once if the first attempt cannot find it.
"${as_root[@]}" apt-get install -y -q chromium ||
  { "${as_root[@]}" apt-get update -q && "${as_root[@]}" apt-get install -y -q chromium; } ||
  fail "apt-get install chromium did not succeed (see above)"
[ -x "$chromium" ] || fail "chromium is installed but $chromium is not there: set CHROMIUM_PATH"
echo "Chromium for the browser tests: $chromium"
