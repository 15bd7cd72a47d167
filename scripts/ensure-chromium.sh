#!/usr/bin/env bash
# Installs Debian's chromium package when /usr/bin/chromium is missing (idempotent). seam-report's
# HTML test drives it headless through playwright-core; playwright's own browser download cannot
# run on machines without outside network, the Debian package can.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: /usr/bin/chromium is missing and apt-get is not available;" >&2
  echo "install Chromium with this system's package manager so that /usr/bin/chromium exists." >&2
  exit 1
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo_cmd=(sudo)
  else
    echo "ensure-chromium: run as root (or install sudo) to apt-get install chromium" >&2
    exit 1
  fi
fi

echo "== installing chromium (Debian package)"
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq chromium >/dev/null
/usr/bin/chromium --version
