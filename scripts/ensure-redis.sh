#!/usr/bin/env bash
# Installs Debian's redis-server package when redis-server is missing (idempotent). The bench's
# serve suite runs its Redis peer against it, after checking the peer's Lua scripts against the
# engines' state machines (packages/bench/src/peers/redis-equivalence.mjs); CI requires both.
set -euo pipefail

if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-redis: redis-server is missing and apt-get is not available;" >&2
  echo "install Redis with this system's package manager so that redis-server is on the PATH." >&2
  exit 1
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo_cmd=(sudo -n)
  else
    echo "ensure-redis: run as root (or with passwordless sudo) to apt-get install redis-server" >&2
    exit 1
  fi
fi

echo "== installing redis-server (Debian package)"
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq redis-server >/dev/null
# The package's own service is not needed: the bench starts its own redis-server on a free port.
redis-server --version
