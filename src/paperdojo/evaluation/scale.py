"""`paperdojo bench --only scale`: the whole retriever on a synthetic library of 100k-1M passages.

Per size, a library is made under a temporary folder and written by the same generation writer
as `paperdojo ingest` (store.write_generation), then measured:

- `build_s`: the ingest-side build of the generation (SQLite metadata, BM25, vectors, FAISS);
- `disk_mb`: the size of the generation on disk;
- `start_s`, `rss_mb`: a fresh `paperdojo --home H ask "..."` process, from its start to its answer
  printed, and its peak resident memory (the kernel's ru_maxrss of that child);
- `query_p50_ms`, `query_p95_ms`: hybrid search (`Retriever.search`, k=10) over ~100 queries, in
  this process, after one warm-up query;
- `recall@10`: the share of those top-10 passages that exact hybrid search (every vector scored)
  also ranks in its top 10.

Text is real-looking: passages recombine sentences of the home's indexed papers (their titles and
section names too), so BM25 and the vocabulary see realistic statistics. Vectors come from the
embedder on a sample of the passages; the others are sampled vectors perturbed with Gaussian noise
(cosine to their sample ~0.9, between siblings ~0.8, as neighbouring passages of a paper are).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from paperdojo.library import store
from paperdojo.library.chunk import embedding_text
from paperdojo.library.embed import Embedder
from paperdojo.records import Chunk, Page, ParsedDoc, Section
from paperdojo.settings import Settings

log = logging.getLogger(__name__)
Say = Callable[[str], None]
PASSAGES_PER_DOC = 100  # a paper of the shared corpus has ~100 passages (2,700 for 27 papers)
PASSAGES_PER_PAGE = 8
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


class ScaleBenchError(ValueError):
    """The scale bench cannot run (e.g. no indexed library to take sentences from); the CLI shows
    the message as an error, like every ValueError of a bad input."""


@dataclass
class Source:
    """What synthetic passages are made of: real sentences, titles and section names."""

    sentences: list[str]
    titles: list[str]
    sections: list[str]


def source_from_index(settings: Settings) -> Source:
    """Sentences (20-400 characters), titles and section names of the home's live index.

    Raises ScaleBenchError when the home has no usable index."""
    try:
        index = store.load_index(settings.index_dir, verify=False)
    except store.IndexProblem as exc:
        raise ScaleBenchError(f"the scale bench recombines the sentences of an indexed library: {exc}"
                              ) from exc
    sentences: list[str] = []
    titles, sections = set(), set()
    for chunk in index.chunks:
        sentences += [s for s in _SENTENCE.split(" ".join(chunk.text.split())) if 20 <= len(s) <= 400]
        titles.add(chunk.title)
        sections.add(chunk.section)
    if len(sentences) < 100:
        raise ScaleBenchError(f"the index in {settings.index_dir} holds {len(sentences)} sentences; "
                              "the scale bench needs at least 100 (ingest a few papers first)")
    return Source(sentences, sorted(titles), sorted(sections))


@dataclass
class SyntheticDoc:
    """A generated paper: its id, title, parsed form (ParsedDoc.to_json()) and chunks."""
    doc_id: str
    title: str
    data: dict  # ParsedDoc.to_json()
    chunks: list[Chunk]


def _title(source: Source, rng: np.random.Generator, number: int) -> str:
    """A paper title: a real title's head, the number, six words of a sentence (the rng's first draws)."""
    return f"{source.titles[int(rng.integers(len(source.titles)))].split(':')[0]} {number}: " + \
        " ".join(source.sentences[int(rng.integers(len(source.sentences)))].split()[:6])


def synthetic_doc(source: Source, number: int, n_passages: int, seed: int = 0) -> SyntheticDoc:
    """Document `number` of a synthetic library: the same for the same (number, seed).

    `n_passages` passages of 4 to 8 sentences drawn from the real index's sentences, PASSAGES_PER_PAGE to
    a page, the section changing before a passage with probability 0.15; the chunks are the passages."""
    rng = np.random.default_rng([seed, number])
    doc_id = f"syn{number:07d}"
    title = _title(source, rng, number)
    parts: list[str] = []  # the passages, joined by blank lines at the end (not re-copied each time)
    end = 0  # the length of the text so far
    chunks = []
    pages: list[Page] = []
    sections: list[Section] = []
    section = "Abstract"
    for i in range(n_passages):
        if i and rng.random() < 0.15:
            section = source.sections[int(rng.integers(len(source.sections)))]
        picked = rng.integers(len(source.sentences), size=int(rng.integers(4, 9)))
        passage = " ".join([source.sentences[j] for j in picked.tolist()])
        start = end + (2 if parts else 0)
        parts.append(passage)
        end = start + len(passage)
        page = i // PASSAGES_PER_PAGE + 1
        if i % PASSAGES_PER_PAGE == 0:
            pages.append(Page(page, start, start))
        pages[-1].end = end
        if not sections or sections[-1].title != section:
            sections.append(Section(section, start, start))
        sections[-1].end = end
        chunks.append(Chunk(doc_id, title, section, page, page, start, end, passage, len(passage.split())))
    data = ParsedDoc(doc_id, title, "\n\n".join(parts), pages, sections).to_json()
    return SyntheticDoc(doc_id, title, data, chunks)


def _docs(source: Source, n: int, seed: int) -> Iterator[SyntheticDoc]:
    for number in range((n + PASSAGES_PER_DOC - 1) // PASSAGES_PER_DOC):
        yield synthetic_doc(source, number, min(PASSAGES_PER_DOC, n - number * PASSAGES_PER_DOC), seed)


def synthetic_vectors(embedder: Embedder, source: Source, n: int, path: Path, sample: int, seed: int = 0,
                      with_heading: bool = True, say: Say = log.info) -> np.ndarray:
    """float32 [n, dim] unit vectors in a memory map at `path`: `sample` passages embedded, the
    rest each a vector of its document's few samples plus Gaussian noise (norm 0.5), renormalized."""
    rng = np.random.default_rng(seed)
    texts = []
    for number in rng.choice((n + PASSAGES_PER_DOC - 1) // PASSAGES_PER_DOC, size=sample):
        doc = synthetic_doc(source, int(number), PASSAGES_PER_DOC, seed)
        texts.append(embedding_text(doc.chunks[int(rng.integers(len(doc.chunks)))], with_heading))
    say(f"  embedding a sample of {sample:,} passages ...")
    base = embedder.encode_bulk(texts).astype(np.float32)  # like an index: the bulk backend
    dim = base.shape[1]
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, dim))
    for start in range(0, n, 50_000):
        rows = np.arange(start, min(n, start + 50_000))
        topic = (rows // PASSAGES_PER_DOC) * 7 + rng.integers(0, 4, size=len(rows))  # 4 per document
        noise = rng.standard_normal((len(rows), dim), dtype=np.float32) * (0.5 / np.sqrt(dim))
        block = base[topic % sample] + noise
        out[rows] = block / np.linalg.norm(block, axis=1, keepdims=True)
    out.flush()
    return out


def build_library(settings: Settings, source: Source, n: int, embedder: Embedder, seed: int = 0,
                  sample: int | None = None, say: Say = log.info) -> dict:
    """A synthetic library of `n` passages in `settings.home`, written by store.write_generation.

    Returns {"build_s", "disk_mb", "generation"}; the vectors' memory map is deleted afterwards."""
    settings.home.mkdir(parents=True, exist_ok=True)
    sample = sample or int(np.clip(n // 1000, 200, 1000))
    vec_path = settings.home / "synthetic-vectors.npy"
    vectors = synthetic_vectors(embedder, source, n, vec_path, sample, seed, settings.embed_with_heading, say)
    docs = {}
    for number in range((n + PASSAGES_PER_DOC - 1) // PASSAGES_PER_DOC):
        doc_id = f"syn{number:07d}"
        docs[doc_id] = {"id": doc_id, "title": _title(source, np.random.default_rng([seed, number]), number),
                        "status": "indexed", "category": "synthetic",
                        "chunks": min(PASSAGES_PER_DOC, n - number * PASSAGES_PER_DOC)}
    manifest = {"created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "model": embedder.model_id,
                "dim": int(vectors.shape[1]), "fingerprint": {"synthetic": seed}, "docs": docs,
                "index_type": settings.index_type}
    last = [0.0]

    def progress(stage: str, done: int, total: int, what: str) -> None:
        if time.perf_counter() - last[0] > 10 or done == total:
            last[0] = time.perf_counter()
            say(f"  {stage}: {done:,}/{total:,} {what}")

    started = time.perf_counter()
    gen = store.write_generation(settings.index_dir, manifest,
                                 (c for d in _docs(source, n, seed) for c in d.chunks), vectors,
                                 ((d.doc_id, d.data) for d in _docs(source, n, seed)), progress)
    build_s = time.perf_counter() - started
    del vectors
    vec_path.unlink()
    disk = sum(f.stat().st_size for f in gen.rglob("*") if f.is_file())
    return {"build_s": round(build_s, 1), "disk_mb": round(disk / 2**20), "generation": gen.name}


def queries_from(source: Source, count: int, seed: int = 1) -> list[str]:
    """`count` queries: 5 to 12 words of random sentences of the source."""
    rng = np.random.default_rng(seed)
    out: list[str] = []
    while len(out) < count:
        words = source.sentences[int(rng.integers(len(source.sentences)))].split()
        start = int(rng.integers(max(1, len(words) - 5)))
        query = " ".join(words[start : start + int(rng.integers(5, 13))]).strip(" .,;:")
        if len(query.split()) >= 4:
            out.append(query)
    return out


_LAUNCH = """import atexit, runpy, sys
out = sys.argv[1]
def peak():
    with open(out, "w") as fh, open("/proc/self/status") as status:
        fh.write(status.read())
atexit.register(peak)
sys.argv = ["paperdojo"] + sys.argv[2:]
runpy.run_module("paperdojo.cli", run_name="__main__", alter_sys=True)
"""


def first_answer(settings: Settings, question: str) -> tuple[float, float]:
    """(seconds from start to exit, peak RSS in MB) of a fresh `paperdojo --home H ask QUESTION`.

    The peak is the process's own VmHWM (/proc/self/status, read as it exits): the kernel's
    ru_maxrss of a child also counts the pages it shared with this (large) process before exec."""
    env = {**os.environ, "PAPERDOJO_HOME": str(settings.home),
           "PAPERDOJO_READING_LIST": str(settings.reading_list), "HF_HUB_OFFLINE": "1"}
    status_file = settings.home / "ask-status.txt"
    started = time.perf_counter()
    command = [sys.executable, "-c", _LAUNCH, str(status_file), "--home", str(settings.home), "ask", question]
    proc = subprocess.run(command, env=env, capture_output=True, check=False)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise ScaleBenchError(f"`paperdojo ask` failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
    if not proc.stdout.strip():
        raise ScaleBenchError("`paperdojo ask` printed no answer")
    hwm = re.search(r"VmHWM:\s+(\d+) kB", status_file.read_text())
    if hwm is None:
        raise ScaleBenchError(f"no VmHWM in {status_file}: peak memory is read from Linux's /proc")
    return seconds, int(hwm.group(1)) / 1024


def measure_queries(settings: Settings, embedder: Embedder, queries: list[str], k: int = 10) -> dict:
    """Hybrid search p50/p95 (ms) over `queries`, and recall@10 against exact hybrid search."""
    from paperdojo.answering.retrieve import Retriever

    index = store.load_index(settings.index_dir, verify=False)
    retriever = Retriever.from_settings(index, embedder, settings)
    # every vector scored: what the approximate search is measured against
    reference = Retriever.from_settings(index, embedder, settings, exact_dense=True)
    retriever.search("warm up the embedder and the memory maps", k)
    times, recall = [], []
    for q in queries:
        started = time.perf_counter()
        hits = retriever.search(q, k)
        times.append((time.perf_counter() - started) * 1000)
        truth = {h.chunk.chunk_id for h in reference.search(q, k)}
        recall.append(len({h.chunk.chunk_id for h in hits} & truth) / max(1, len(truth)))
    times.sort()
    return {"query_p50_ms": round(statistics.median(times), 1),
            "query_p95_ms": round(times[min(len(times) - 1, int(0.95 * len(times)))], 1),
            "recall@10": round(float(np.mean(recall)), 3)}


def bench_scale(settings: Settings, sizes: list[int], say: Say, n_queries: int = 100,
                root: Path | None = None, keep: bool = False) -> list[dict]:
    """One row per size (see the module's docstring for the fields). The libraries are built under
    `root` (a temporary folder by default) and deleted unless `keep`."""
    source = source_from_index(settings)
    say(f"scale: {len(source.sentences):,} sentences of {settings.index_dir} recombined into passages")
    embedder = Embedder(settings)
    queries = queries_from(source, n_queries)
    base = Path(tempfile.mkdtemp(prefix="paperdojo-scale-", dir=root))
    rows = []
    try:
        for n in sizes:
            say(f"scale: {n:,} passages: building ...")
            home = base / f"home-{n}"
            home.mkdir()
            (home / "papers.toml").write_text("")
            lib = Settings(home=home, reading_list=home / "papers.toml", embed_model=settings.embed_model,
                           embed_with_heading=settings.embed_with_heading, index_type=settings.index_type,
                           lexical_candidates=settings.lexical_candidates)
            built = build_library(lib, source, n, embedder, say=say)
            say(f"scale: {n:,} passages: built in {built['build_s']} s, {built['disk_mb']:,} MB; "
                "first answer from a fresh process ...")
            start_s, rss_mb = first_answer(lib, queries[0])
            say(f"scale: {n:,} passages: first answer in {start_s:.1f} s, peak RSS {rss_mb:,.0f} MB; "
                f"{len(queries)} queries ...")
            row = {"passages": n, "build_s": built["build_s"], "disk_mb": built["disk_mb"],
                   "start_s": round(start_s, 1), "rss_mb": round(rss_mb),
                   **measure_queries(lib, embedder, queries)}
            say(f"scale: {row}")
            rows.append(row)
            if not keep:
                shutil.rmtree(home, ignore_errors=True)
    finally:
        if not keep:
            shutil.rmtree(base, ignore_errors=True)
    return rows
