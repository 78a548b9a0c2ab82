#!/usr/bin/env bash
# The main job: install, build the index if there is none (the reading list, plus the shared PDFs
# when ../shared is there), then show the library. Extra arguments go to `paperdojo ingest`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}"
args=()
for d in ../shared/corpus/pdf ../shared/corpus/extra; do
  [ -d "$d" ] && args+=(--pdf-dir "$d")
done
home="${PAPERDOJO_HOME:-.}"
if [ ! -f "$home/index/CURRENT" ] || [ "$#" -gt 0 ]; then
  .venv/bin/paperdojo ingest "${args[@]}" "$@" || true
fi
.venv/bin/paperdojo papers
