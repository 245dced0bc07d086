#!/usr/bin/env bash
# The test command: set up what is missing, then ruff, mypy (strict), the import contracts
# (import-linter) and pytest.
# Extra arguments go to pytest, e.g. scripts/test.sh tests/config -k include
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

echo "== ruff"
.venv/bin/ruff check .
echo "== mypy (strict)"
.venv/bin/mypy
echo "== import contracts (import-linter)"
.venv/bin/lint-imports --no-cache
echo "== pytest"
.venv/bin/python -m pytest "$@"
