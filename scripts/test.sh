#!/usr/bin/env bash
# The test command: set up what is missing, then ruff, mypy (strict), the import contracts
# (import-linter) and pytest.
# Extra arguments go to pytest, e.g. scripts/test.sh tests/config -k include
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

# A real browser for the UI's tests (Playwright drives Debian's chromium; it downloads none).
if [ ! -x /usr/bin/chromium ]; then
  echo "setup: installing Debian's chromium package (the UI's browser tests)"
  as_root apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >/dev/null
fi

# PostgreSQL, the shared store of several scheduler replicas: the store's tests start
# throwaway clusters with its initdb/pg_ctl (none is started as a service here).
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  echo "setup: installing Debian's postgresql package (the store's PostgreSQL tests)"
  as_root apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql >/dev/null
fi

# Apache Thrift's compiler: the Thrift API's tests generate an independent client from our
# IDL with it (tests/api/thrift).
if ! command -v thrift >/dev/null; then
  echo "setup: installing Debian's thrift-compiler package (the Thrift API's tests)"
  as_root apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq thrift-compiler >/dev/null
fi

echo "== ruff"
.venv/bin/ruff check .
echo "== mypy (strict)"
.venv/bin/mypy
echo "== import contracts (import-linter)"
.venv/bin/lint-imports --no-cache
echo "== pytest"
.venv/bin/python -m pytest "$@"
