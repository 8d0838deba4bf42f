#!/usr/bin/env bash
# Debian packages the test suite needs, installed when missing and we are root.
# Chromium drives the upload page test (Playwright uses it; no browser download).
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "note: not root, so ${missing[*]} is not installed; the tests that need it will skip" >&2
  exit 0
fi
echo "installing Debian packages: ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
