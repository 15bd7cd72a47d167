#!/usr/bin/env bash
# Installs what the cluster tests and benchmarks run against when it is missing (idempotent):
# nats-server (the cluster's log: packages/reliability's cluster suites, pnpm cluster-demo, the
# bench's cluster suite) and etcd (the bench's peer). Debian packages: nats-server, etcd-server.
#
#   --if-possible   where they cannot be installed here (no apt-get, not root and no sudo), say so
#                   in one line each and exit 0: the suites that need them then skip, each with
#                   one loud line (the README's test command on a machine without root)
set -euo pipefail

optional=false
[ "${1:-}" = "--if-possible" ] && optional=true

missing=()
command -v nats-server >/dev/null 2>&1 || missing+=(nats-server)
command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
[ "${#missing[@]}" -eq 0 ] && exit 0

cannot() {
  if $optional; then
    echo "ensure-cluster-peers: cannot install ${missing[*]} here ($1); the cluster suites that need them will skip, each saying so" >&2
    exit 0
  fi
  echo "ensure-cluster-peers: ${missing[*]} missing and $1; install them (Debian: apt-get install ${missing[*]}; macOS: brew install nats-server etcd)" >&2
  exit 1
}

command -v apt-get >/dev/null 2>&1 || cannot "apt-get is not available"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo_cmd=(sudo -n)
  else
    cannot "installing needs root"
  fi
fi

echo "== installing ${missing[*]} (Debian packages)"
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
nats-server --version
etcd --version | head -1
