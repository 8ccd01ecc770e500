#!/usr/bin/env bash
# The dashboard's test (tests/integration/test_dashboard_browser.py) drives headless Chromium; install
# Debian's `chromium` package if /usr/bin/chromium is missing.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if ! command -v apt-get >/dev/null; then
  echo "the dashboard test needs Chromium at /usr/bin/chromium (no apt-get here to install it)" >&2
  exit 1
fi
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -q
$SUDO apt-get install -y -q chromium
