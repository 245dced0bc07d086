#!/usr/bin/env bash
# Brings a fresh Debian machine to what the project needs: the system packages the tests and
# the demo use, and a virtual environment with the project installed from pyproject.toml.
# Sourced by scripts/test.sh and scripts/demo.sh; safe to run again (it only does what's missing).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# ZooKeeper (announcer and leader-election tests), from Debian.
if [ ! -f /usr/share/java/zookeeper.jar ]; then
  echo "setup: installing Debian's zookeeper package"
  as_root apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq zookeeper >/dev/null
fi

# The virtual environment, reinstalled when pyproject.toml changes.
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
fi
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "setup: installing the project and its dev tools into .venv (a minute or two)"
  if ! .venv/bin/pip install -q -e '.[dev]' > .venv/install.log 2>&1; then
    grep -v '^WARNING: Location' .venv/install.log | tail -20
    exit 1
  fi
  rm -f .venv/.installed-*
  touch "$stamp"
fi
