#!/usr/bin/env bash
# The main job: install, build the index if there is none (the reading list, plus the shared PDFs
# when ../shared is there), then serve the app on http://127.0.0.1:7860 (PAPERDOJO_APP_PORT).
# Extra arguments go to `paperdojo ingest` and force an ingest first (e.g. --retry, --rebuild).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}"
dirs=()
for d in ../shared/corpus/pdf ../shared/corpus/extra; do
  [ -d "$d" ] && dirs+=(--pdf-dir "$d")
done
home="${PAPERDOJO_HOME:-.}"
if [ ! -f "$home/index/CURRENT" ] || [ "$#" -gt 0 ]; then
  .venv/bin/paperdojo ingest "${dirs[@]}" "$@" || true
fi
.venv/bin/paperdojo papers
exec .venv/bin/python app.py "${dirs[@]}"
