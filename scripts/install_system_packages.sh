#!/usr/bin/env bash
# Debian packages the test suite needs, installed when missing and we are root:
#   chromium             the upload page test (Playwright drives it; no browser download)
#   prometheus           the scrape test and promtool's checks of the rules
#   redis-server         the shared rate-limit test starts its own on a free port
#   libavif-bin          avifenc makes the AVIF files (12-bit, 4:4:4, film grain) whose
#                        decode memory the budget test measures
#   podman, mmdebstrap   the container image test: a Debian base made here (no registry is
#                        reachable), the Dockerfile built on it, its root run as a pod would
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
{ [ -x /usr/bin/prometheus ] && [ -x /usr/bin/promtool ]; } || missing+=(prometheus)
[ -x /usr/bin/redis-server ] || missing+=(redis-server)
[ -x /usr/bin/avifenc ] || missing+=(libavif-bin)
[ -x /usr/bin/podman ] || missing+=(podman)
[ -x /usr/bin/mmdebstrap ] || missing+=(mmdebstrap)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "note: not root, so ${missing[*]} is not installed; the tests that need it will skip" >&2
  exit 0
fi
echo "installing Debian packages: ${missing[*]}"
apt-get update -qq
# policy-rc.d 101: packages must not start their own daemons (Prometheus would take :9090).
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
