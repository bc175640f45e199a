#!/usr/bin/env bash
# Headless Chromium for the browser tests comes from Debian (Playwright cannot download browsers here).
set -euo pipefail
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium for browser tests"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || { echo "could not install chromium" >&2; exit 1; }
  else
    echo "/usr/bin/chromium is missing: install Debian's 'chromium' package" >&2; exit 1
  fi
fi
