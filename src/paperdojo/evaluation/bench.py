"""`paperdojo bench`: the performance figures in one run, as ratios against baselines run in it too.

- ingest: cold ingest of a folder of PDFs (ours) against the usual LangChain pipeline (PyPDFLoader ->
  RecursiveCharacterTextSplitter(1000, 200) -> HuggingFaceEmbeddings -> FAISS) on the same PDFs,
  and the torch backend of ours; then a warm re-run and one PDF added;
- queries: retrieval and extractive answer latency (p50/p95) on the dev questions;
- app: seconds from `python app.py` to a served page, and its memory;
- scale: the whole retriever on a synthetic library (100k, 1M passages; see evaluation/scale.py):
  build time, disk, start to first answer, memory, hybrid query p50/p95, recall@10 against exact;
- vectors: exact, HNSW and IVF-PQ indexes alone on synthetic vectors (100k, 1M): build time, memory,
  p50 query time and recall@10 against exact search.

Benchmarks are not tests: they are run by hand and print what they measured.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from paperdojo.library import store
from paperdojo.settings import Settings

log = logging.getLogger(__name__)
Say = Callable[[str], None]


def _ms(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return statistics.median(samples), samples[min(len(samples) - 1, int(0.95 * len(samples)))]


def peak_rss_mb() -> float:
    """This process's peak resident set size in MiB (getrusage's ru_maxrss: KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- scale
def synthetic(n: int, dim: int = 384, seed: int = 0) -> np.ndarray:
    """Unit vectors with structure like sentence embeddings: 1,000 topics, 20,000 subtopics, points.

    Uniform random vectors have no real neighbours and flat clusters have only a few; a hierarchy
    gives every point close and farther neighbours. The topics and subtopics are the same for every
    seed; `seed` draws other points around them (queries).
    """
    fixed = np.random.default_rng(12345)
    topics = fixed.standard_normal((1000, dim), dtype=np.float32) / np.sqrt(dim)
    spread = fixed.standard_normal((20_000, dim), dtype=np.float32) / np.sqrt(dim)
    subs = topics[fixed.integers(0, 1000, 20_000)] + 0.7 * spread
    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        noise = rng.standard_normal((m, dim), dtype=np.float32) / np.sqrt(dim)
        block = subs[rng.integers(0, len(subs), m)] + 0.8 * noise
        out[start : start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def bench_index(index: faiss.Index, vectors: np.ndarray | None, queries: np.ndarray, truth: np.ndarray,
                k: int = 10) -> dict:
    """Single-query latency and recall@10 against exact search; `vectors` re-score IVF-PQ hits."""
    found, times = [], []
    for q in queries:
        t = time.perf_counter()
        _, ids = store.search_faiss(index, q[None, :], k, vectors)
        times.append((time.perf_counter() - t) * 1000)
        found.append(ids[0])
    recall = float(np.mean([len(set(f) & set(t)) / k for f, t in zip(found, truth, strict=True)]))
    p50, p95 = _ms(times)
    return {"memory_mb": round(faiss.serialize_index(index).nbytes / 2**20, 1), "p50_ms": round(p50, 2),
            "p95_ms": round(p95, 2), "recall@10": round(recall, 3)}


def bench_scale(sizes: list[int], say: Say, n_queries: int = 200) -> list[dict]:
    """Build time, memory, p50/p95 query latency (ms) and recall@10 against exact search of
    each FAISS index kind (flat, HNSW, IVF-PQ with and without exact re-scoring) over `sizes`
    synthetic vectors, with `n_queries` queries; a row per (size, kind)."""
    rows = []
    for n in sizes:
        say(f"scale: {n:,} synthetic vectors ...")
        vectors = synthetic(n)
        queries = synthetic(n_queries, seed=1 + n)
        exact = faiss.IndexFlatIP(vectors.shape[1])
        exact.add(vectors)
        truth = exact.search(queries, 10)[1]
        del exact
        for kind in ("flat", "hnsw", "ivfpq"):
            started = time.perf_counter()
            index = store.build_faiss(vectors, kind)
            build = {"n": n, "index": kind, "build_s": round(time.perf_counter() - started, 1),
                     "auto": store.index_kind(n) == kind}
            variants: list[tuple[str, np.ndarray | None]] = [(kind, None)]
            if kind == "ivfpq":  # the codes alone, and re-scored with the exact vectors (memory-mapped)
                variants = [("ivfpq (codes only)", None), ("ivfpq + exact re-score", vectors)]
            for name, exact_vectors in variants:
                row = {**build, "index": name, **bench_index(index, exact_vectors, queries, truth)}
                say(f"  {json.dumps(row)}")
                rows.append(row)
            del index
    return rows


# --------------------------------------------------------------------------- ingest
def _home(root: Path, name: str, **kw: Any) -> Settings:
    home = root / name
    home.mkdir(parents=True, exist_ok=True)
    (home / "papers.toml").write_text("")
    return Settings(home=home, reading_list=home / "papers.toml", **kw)


class BenchError(ValueError):
    """A bench argument that cannot be used (a --pdf-dir that is not a folder or has no PDFs)."""


def pdf_files(pdf_dirs: list[Path]) -> list[Path]:
    """The PDFs of the folders as absolute paths (relative folders are taken from the working
    directory: the bench links them into a temporary folder). Raises BenchError for a folder
    that is missing or holds no PDF."""
    pdfs = []
    for folder in pdf_dirs:
        if not folder.is_dir():
            raise BenchError(f"--pdf-dir {folder}: not a folder")
        found = sorted(p.resolve() for p in folder.glob("*.pdf"))
        if not found:
            raise BenchError(f"--pdf-dir {folder}: no PDF in it")
        pdfs += found
    return sorted(pdfs)


def _cold_ours(pdfs_dir: Path, root: Path, name: str) -> tuple[float, int]:
    from paperdojo.library.ingest import ingest

    t = time.perf_counter()
    report = ingest(_home(root, name), [pdfs_dir])
    return time.perf_counter() - t, report.total_chunks


def _cold_usual(pdfs: list[Path], model: str) -> tuple[float, Any]:
    from paperdojo.evaluation.baseline import Baseline

    t = time.perf_counter()
    base = Baseline({p.stem: p for p in pdfs}, model)
    return time.perf_counter() - t, base


def bench_ingest(pdf_dirs: list[Path], say: Say, baseline: bool = True, torch: bool = True,
                 pairs: int = 3) -> dict:
    """Cold ingest, ours against the usual pipeline in `pairs` alternating pairs (ours, usual, ours,
    usual, ...: drift of a shared machine hits both sides alike) with the median of the per-pair
    ratios; then ours on torch, a warm re-run and one PDF added. Raises BenchError for bad folders."""
    from paperdojo.library.ingest import ingest

    pdfs = pdf_files(pdf_dirs)
    out: dict = {"pdfs": len(pdfs)}
    with tempfile.TemporaryDirectory(prefix="paperdojo-bench-") as tmp:
        root = Path(tmp)
        held_out = pdfs[-1]
        first = root / "pdfs"
        first.mkdir()
        for p in pdfs[:-1]:
            os.symlink(p, first / p.name)
        all_dirs = [first, root / "last"]
        (root / "last").mkdir()
        os.symlink(held_out, root / "last" / held_out.name)
        every = root / "all"
        every.mkdir()
        for p in pdfs:
            os.symlink(p, every / p.name)
        ours, usual, ratios = [], [], []
        model = Settings().embed_model
        for n in range(pairs if baseline else 1):
            say(f"ingest: pair {n + 1}: ours, cold, {len(pdfs)} PDFs ...")
            seconds, out["chunks"] = _cold_ours(every, root, f"cold-{n}")
            ours.append(round(seconds, 1))
            say(f"ingest: pair {n + 1}: ours {ours[-1]} s (load average {os.getloadavg()[0]:.1f})")
            if baseline:
                say(f"ingest: pair {n + 1}: the usual LangChain pipeline, cold ...")
                seconds, base = _cold_usual(pdfs, model)
                usual.append(round(seconds, 1))
                ratios.append(round(usual[-1] / ours[-1], 2))
                say(f"ingest: pair {n + 1}: the usual pipeline {usual[-1]} s, ratio {ratios[-1]} "
                    f"(load average {os.getloadavg()[0]:.1f})")
                out["baseline_parse_s"] = round(base.parse_s, 1)
                out["baseline_chunks"] = base.n_chunks
        out["ours_cold_s"] = statistics.median(ours)
        out["ours_cold_runs_s"] = ours
        if baseline:
            out["baseline_cold_s"] = statistics.median(usual)
            out["baseline_cold_runs_s"] = usual
            out["pairs"] = len(ratios)
            out["pair_ratios"] = ratios
            out["speedup_vs_baseline"] = statistics.median(ratios)  # median of the paired ratios
        settings = _home(root, "ours")
        ingest(settings, all_dirs)
        t = time.perf_counter()
        ingest(settings, all_dirs)
        out["ours_warm_s"] = round(time.perf_counter() - t, 2)
        settings_b = _home(root, "add")
        # the 26 come from the embedding cache of the run above (that run kept all 27 in it; this
        # setup keeps only its own 26), so the timed run below still embeds the added paper
        settings_b.index_dir.mkdir(parents=True)
        shutil.copy(settings.index_dir / "embed-cache.sqlite", settings_b.index_dir / "embed-cache.sqlite")
        ingest(settings_b, [first])
        t = time.perf_counter()
        added = ingest(settings_b, all_dirs)
        out["one_pdf_added_s"] = round(time.perf_counter() - t, 1)
        out["one_pdf_embedded_docs"] = added.embedded_docs
        out["one_pdf_cached_vectors"] = added.cached_vectors  # 0: it was really embedded
        if torch:
            say("ingest: ours with the torch backend, cold ...")
            t = time.perf_counter()
            ingest(_home(root, "torch", embed_backend="torch"), all_dirs)
            out["ours_torch_cold_s"] = round(time.perf_counter() - t, 1)
            out["speedup_vs_torch"] = round(out["ours_torch_cold_s"] / out["ours_cold_s"], 2)
    return out


# --------------------------------------------------------------------------- queries
def bench_queries(settings: Settings, questions_file: Path, say: Say) -> dict:
    """Retrieval and extractive answer latency over the dev questions (after one warm-up): answers
    first as a fresh process gives them (`answer_*`), then with every quotable sentence embedded
    ahead, as the app does in the background after loading (`answer_warm_*`; `sentences_s` is the
    time that takes)."""
    from paperdojo.answering.answer import Answerer
    from paperdojo.answering.retrieve import Retriever
    from paperdojo.evaluation.evaluate import load_questions
    from paperdojo.library.embed import Embedder

    questions = [q.question for q in load_questions(questions_file)]
    index = store.load_index(settings.index_dir)
    retriever = Retriever.from_settings(index, Embedder(settings), settings)
    answerer = Answerer(retriever, settings.min_similarity)
    answerer.answer("warm up")
    say(f"queries: {len(questions)} questions, retrieval then extractive answers ...")
    search, answer = [], []
    for q in questions:
        t = time.perf_counter()
        retriever.search(q, 5)
        search.append((time.perf_counter() - t) * 1000)
    for q in questions:
        answer.append(answerer.answer(q).ms)
    say("queries: embedding every quotable sentence, as the app does after loading ...")
    t = time.perf_counter()
    answerer.sentences.warm(answerer.quotable_sentences())
    sentences_s = time.perf_counter() - t
    warm = [answerer.answer(q).ms for q in questions]
    (s50, s95), (a50, a95), (w50, w95) = _ms(search), _ms(answer), _ms(warm)
    return {"questions": len(questions), "chunks": len(index.chunks), "retrieval_p50_ms": round(s50, 1),
            "retrieval_p95_ms": round(s95, 1), "answer_p50_ms": round(a50, 1), "answer_p95_ms": round(a95, 1),
            "sentences_s": round(sentences_s, 1), "answer_warm_p50_ms": round(w50, 1),
            "answer_warm_p95_ms": round(w95, 1)}


# --------------------------------------------------------------------------- app start
def bench_app(settings: Settings, say: Say, root: Path) -> dict:
    """Seconds from `python app.py` to a served page (index loaded, model warm), and its memory."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PAPERDOJO_HOME": str(settings.home),
           "PAPERDOJO_READING_LIST": str(settings.reading_list)}
    say("app: starting python app.py ...")
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(root / "app.py"), "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.perf_counter() - started > 180:
                    return {"error": "the app did not start"}
                time.sleep(0.1)
        start_s = time.perf_counter() - started
        rss = int(Path(f"/proc/{proc.pid}/status").read_text().split("VmRSS:")[1].split()[0]) / 1024
    finally:
        proc.terminate()
        proc.wait(20)
    return {"app_start_s": round(start_s, 1), "app_rss_mb": round(rss)}


def run(settings: Settings, pdf_dirs: list[Path], questions: Path | None, sizes: list[int], say: Say,
        parts: set[str], baseline: bool = True, pairs: int = 3, torch: bool = True) -> dict:
    """The benches named in `parts` ("ingest", "queries", "app", "scale", "vectors"), each only when
    its input is given; {part: figures}. `say` reports progress; `pairs` paired ingest runs against
    the baseline (`baseline`), `torch` also times the torch embedding backend."""
    report: dict = {}
    root = Path(__file__).resolve().parents[2]
    if "ingest" in parts and pdf_dirs:
        report["ingest"] = bench_ingest(pdf_dirs, say, baseline, torch, pairs)
    if "queries" in parts and questions:
        report["queries"] = bench_queries(settings, questions, say)
    if "app" in parts and (root / "app.py").exists():
        report["app"] = bench_app(settings, say, root)
    if "scale" in parts and sizes:
        from paperdojo.evaluation import scale

        report["scale"] = scale.bench_scale(settings, sizes, say)
    if "vectors" in parts and sizes:
        report["vectors"] = bench_scale(sizes, say)
    shutil.rmtree(Path(tempfile.gettempdir()) / "paperdojo-bench", ignore_errors=True)
    return report
