#!/usr/bin/env bash
# The test command (CI runs exactly this): install with the dev extra, lint, run the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
export HF_HUB_OFFLINE=1
.venv/bin/ruff check src tests app.py bench
.venv/bin/python -m pytest -q -rs "$@"
