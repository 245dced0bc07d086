#!/usr/bin/env bash
# The demo: set up what is missing, then run aurora-scheduler (local backend, with its
# observer) and Airflow side by side, deploy the hello-world service from a DAG, and wait
# until that DAG run succeeded. Ctrl-C stops every job of its scheduler, then the scheduler
# and Airflow. Options go to scripts/demo.py (--help).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
exec .venv/bin/python scripts/demo.py "$@"
