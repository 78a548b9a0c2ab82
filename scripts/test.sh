#!/usr/bin/env bash
# The test command (CI runs exactly this): install with the dev extra, lint, run the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
# the browser test drives Debian's chromium (playwright's own browser download cannot work here)
if ! command -v chromium >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null \
    || echo "could not install chromium: the browser test will fail" >&2
fi
# the progress tests run against a real PostgreSQL server they start from Debian's binaries (initdb, pg_ctl)
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >/dev/null \
    || echo "could not install postgresql: the PostgreSQL progress tests will be skipped" >&2
fi
export HF_HUB_OFFLINE=1
export PAPERDOJO_REQUIRE_LLM=1  # the LLM tests run against a real llama.cpp server: never skip them here
.venv/bin/ruff check src tests app.py bench
.venv/bin/mypy
.venv/bin/python -m pytest -q -rs "$@"
