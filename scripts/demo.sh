#!/usr/bin/env bash
# The demo: set up what is missing, then show the .aurora language on the examples.
# (The provider issue turns this into the full demo: scheduler + Airflow + a deployed job.)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

for file in dags_examples/*.aurora; do
  echo "== aurora config list $file"
  .venv/bin/aurora config list "$file"
  for key in $(.venv/bin/aurora config list "$file"); do
    echo "== aurora job inspect $key $file"
    .venv/bin/aurora job inspect "$key" "$file"
  done
done
