"""The index on disk: FAISS vectors + our own JSON metadata store + a manifest. No pickles.

Layout under `index/`:
    CURRENT                 the name of the live generation (replaced atomically)
    gen-000007/             one complete, immutable index
        manifest.json       model, dimension, chunking settings, per-document status and hashes,
                            and the sha256 of every file below
        chunks.json         chunk metadata and text, row i <-> vector i
        vectors.npy         float32, L2-normalized
        faiss.index
        docs.json           cleaned text, pages and sections of each document (for highlighting)
    parts/<doc>/<key>.*     per-document results (parsed doc, chunks, vectors) keyed by the file's
                            hash and the pipeline fingerprint: what makes ingest incremental and
                            lets an interrupted ingest resume where it stopped

A generation is written into a temporary folder and only then named and pointed to, so a kill at
any moment leaves the previous generation live and whole.
"""

from __future__ import annotations

import fcntl
import json
import logging
import mmap
import os
import shutil
import sqlite3
import threading
import time
from array import array
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import overload

import bm25s
import faiss
import numpy as np

from paperdojo.library.lexical import LexicalBuilder, load_bm25
from paperdojo.records import Chunk, ParsedDoc
from paperdojo.util import atomic_write_json, atomic_write_text, sha256_file, sha256_text

log = logging.getLogger(__name__)
FORMAT_VERSION = 2  # of a generation (1: chunks.json + docs.json; 2: meta.sqlite + bm25/ + columns)
PARTS_FORMAT = 1  # of the per-document parts (part of the pipeline fingerprint: changing it re-embeds)
REBUILD_HINT = "rebuild it with `paperdojo ingest --rebuild`"


class IndexProblem(Exception):
    """The index cannot be used; the message says what to do."""


class IndexMissing(IndexProblem):
    """There is no index generation yet (run `paperdojo ingest`)."""
    pass


class IndexCorrupt(IndexProblem):
    """The live generation's files are missing, unreadable or not what the manifest says."""
    pass


class IndexOutdated(IndexProblem):
    """The live generation has the on-disk format of an older paperdojo."""


class IndexBusy(IndexProblem):
    """Another ingest holds the writer lock, or this process serves the index read-only."""
    pass


# --------------------------------------------------------------------------- parts
def part_key(file_sha256: str, fingerprint: dict) -> str:
    """The key of a document's index part: the first 24 hex digits of the SHA-256 of its file's
    SHA-256 and the fingerprint (the settings that change chunks or vectors)."""
    return sha256_text(file_sha256 + json.dumps(fingerprint, sort_keys=True))[:24]


def _part_paths(index_dir: Path, doc_id: str, key: str) -> tuple[Path, Path]:
    folder = index_dir / "parts" / doc_id
    return folder / f"{key}.json", folder / f"{key}.npy"


def save_part(index_dir: Path, key: str, doc: ParsedDoc, chunks: list[Chunk],
              vectors: np.ndarray) -> None:
    """Vectors first, metadata last: a part counts only once its JSON exists."""
    meta_path, vec_path = _part_paths(index_dir, doc.doc_id, key)
    vec_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = vec_path.with_suffix(".npy.part")
    with open(tmp, "wb") as fh:
        np.save(fh, vectors.astype(np.float32))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, vec_path)
    payload = {"doc": doc.to_json(), "chunks": [c.to_json() for c in chunks],
               "vectors_sha256": sha256_file(vec_path)}
    atomic_write_text(meta_path, json.dumps(payload, ensure_ascii=False))


def load_part(index_dir: Path, doc_id: str, key: str) -> tuple[ParsedDoc, list[Chunk], np.ndarray] | None:
    """A saved part, or None when absent or damaged (then it is simply made again)."""
    meta_path, vec_path = _part_paths(index_dir, doc_id, key)
    if not meta_path.exists() or not vec_path.exists():
        return None
    try:
        payload = json.loads(meta_path.read_text(encoding="utf-8"))
        if sha256_file(vec_path) != payload["vectors_sha256"]:
            raise ValueError("vectors do not match their checksum")
        vectors = np.load(vec_path, allow_pickle=False)
        chunks = [Chunk.from_json(c) for c in payload["chunks"]]
        if vectors.shape[0] != len(chunks):
            raise ValueError(f"{vectors.shape[0]} vectors for {len(chunks)} chunks")
        return ParsedDoc.from_json(payload["doc"]), chunks, vectors
    except (ValueError, KeyError, TypeError, OSError) as exc:
        log.warning("cached part of %s is damaged (%s); it will be made again", doc_id, exc)
        return None


def prune_parts(index_dir: Path, keep: dict[str, str]) -> None:
    """Delete parts of removed documents and of old versions of kept ones."""
    root = index_dir / "parts"
    if not root.exists():
        return
    for folder in root.iterdir():
        for f in folder.iterdir():
            if keep.get(folder.name) != f.name.split(".")[0]:
                f.unlink(missing_ok=True)
        if not any(folder.iterdir()):
            folder.rmdir()


# --------------------------------------------------------------------------- generations
@contextmanager
def writer_lock(index_dir: Path) -> Iterator[None]:
    """One writer at a time; a second ingest gets a clear message instead of a race."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise IndexBusy(f"another ingest is writing {index_dir}; wait for it to finish") from exc
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def current_generation(index_dir: Path) -> Path | None:
    """The folder of the generation index/CURRENT names, or None when there is none."""
    pointer = index_dir / "CURRENT"
    if not pointer.exists():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    return index_dir / name if name else None


FLAT_UNTIL = 200_000  # exact search up to here: p50 about 11 ms on 2 cores, 55 ms at 1M


def index_kind(n: int, requested: str = "auto") -> str:
    """flat (exact) for small corpora, IVF-PQ with exact re-scoring beyond.

    Measured by `paperdojo bench` on 1M synthetic vectors: IVF-PQ + re-score 60 MB in memory (the
    exact vectors stay memory-mapped on disk), recall@10 1.00, p50 0.3 ms, built in 74 s; HNSW
    1.7 GB, recall@10 0.91, p50 0.2 ms, built in 103 s. HNSW stays available by setting.
    """
    if requested == "ivfpq" and n < 1000:
        return "flat"  # too few vectors to train 256 centroids per sub-quantizer
    if requested != "auto":
        return requested
    return "flat" if n < FLAT_UNTIL else "ivfpq"


def build_faiss(vectors: np.ndarray, kind: str = "auto") -> faiss.Index:
    """An inner-product index of the kind asked for (or chosen by size)."""
    n, dim = vectors.shape
    kind = index_kind(n, kind)
    index: faiss.Index
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 64
        index.hnsw.efSearch = 96
    elif kind == "ivfpq":
        nlist = max(1, min(int(4 * np.sqrt(n)), n // 39))
        index = faiss.IndexIVFPQ(faiss.IndexFlatIP(dim), dim, nlist, 48, 8, faiss.METRIC_INNER_PRODUCT)
        sample = vectors[np.sort(np.random.default_rng(0).choice(n, min(n, 100 * nlist), replace=False))]
        index.train(sample)
        index.nprobe = 32
    else:
        index = faiss.IndexFlatIP(dim)
    for start in range(0, n, 100_000):  # in batches: a memory-mapped matrix is not copied whole
        index.add(np.ascontiguousarray(vectors[start : start + 100_000], dtype=np.float32))
    return index


def search_faiss(index: faiss.Index, queries: np.ndarray, k: int, vectors: np.ndarray | None = None,
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (scores, ids). IVF-PQ codes are approximate: with `vectors` (the exact ones, e.g.
    memory-mapped from vectors.npy) ten times as many candidates are re-scored exactly."""
    if not isinstance(index, faiss.IndexIVFPQ) or vectors is None:
        return index.search(queries, k)
    _, ids = index.search(queries, k * 10)
    scores = np.full(ids.shape, -np.inf, dtype=np.float32)
    for row, (q, cand) in enumerate(zip(queries, ids, strict=True)):
        ok = cand >= 0
        scores[row, ok] = vectors[cand[ok]] @ q
    order = np.argsort(-scores, axis=1)[:, :k]
    return np.take_along_axis(scores, order, 1), np.take_along_axis(ids, order, 1)


def map_for_random_rows(path: Path) -> np.ndarray:
    """The array of the .npy file at `path`, memory-mapped read-only and advised for random access
    (MADV_RANDOM, where the platform has it).

    An ANN query re-scores a few thousand scattered rows of vectors.npy; without the advice each
    page fault on a cold cache reads the device's whole read-ahead window around it (8 MB here,
    /sys/block/vda/queue/read_ahead_kb), so the first query at 1M passages read all of the 1.5 GB
    file from disk, with it 33 MB (docs/measurements.md, issue 19). Raises what np.load raises."""
    header = np.load(path, mmap_mode="r", allow_pickle=False)  # the header: shape, dtype, data offset
    shape, dtype, offset = header.shape, header.dtype, header.offset
    fortran = header.flags.f_contiguous and not header.flags.c_contiguous
    del header
    with open(path, "rb") as fh:
        mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    if hasattr(mmap, "MADV_RANDOM"):
        mapped.madvise(mmap.MADV_RANDOM)
    return np.ndarray(shape, dtype=dtype, buffer=mapped, offset=offset, order="F" if fortran else "C")


def write_generation(index_dir: Path, manifest: dict, chunks: Iterable[Chunk], vectors: np.ndarray,
                     docs: Mapping[str, dict] | Iterable[tuple[str, dict]],
                     progress: Callable[[str, int, int, str], None] | None = None) -> Path:
    """Write a complete generation and make it current; older generations are removed.

    `chunks` (row i <-> `vectors[i]`, float32 [n, dim], L2-normalized; a memory map is fine) are
    streamed: metadata and text into meta.sqlite, tokens into the BM25 index, so the writer holds
    4 bytes per token rather than the chunks. `docs` are the parsed documents (ParsedDoc.to_json()
    per id). `progress(stage, done, total, what)` is called as the stages advance. Raises
    ValueError when the number of chunks differs from the number of vectors.
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    previous = current_generation(index_dir)
    number = int(previous.name.split("-")[1]) + 1 if previous else 1
    tmp = index_dir / f".tmp-gen-{os.getpid()}-{int(time.time())}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    say = progress or (lambda stage, done, total, what: None)
    n = len(vectors)
    kind = index_kind(n, manifest.get("index_type", "auto"))
    try:
        files = _write_metadata(tmp, chunks, docs, n, say)
        with open(tmp / "vectors.npy", "wb") as fh:
            np.save(fh, vectors if vectors.dtype == np.float32 else vectors.astype(np.float32))
        say("vectors", 0, 1, f"{kind} index of {n:,} vectors")
        faiss.write_index(build_faiss(vectors, kind), str(tmp / "faiss.index"))
        say("vectors", 1, 1, f"{kind} index of {n:,} vectors")
        files += ["vectors.npy", "faiss.index"]
        for name in files:
            _fsync(tmp / name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # a kill leaves it instead: clean_stale removes it
        raise
    manifest = {**manifest, "format": FORMAT_VERSION, "n_chunks": n, "index_type": kind,
                "files": {f: sha256_file(tmp / f) for f in files},
                "sizes": {f: (tmp / f).stat().st_size for f in files}}
    atomic_write_json(tmp / "manifest.json", manifest)
    return _make_current(index_dir, tmp, number)


def _make_current(index_dir: Path, tmp: Path, number: int) -> Path:
    """Move the finished generation folder `tmp` to gen-<number>, point CURRENT at it (readers switch
    on their next load) and remove the older generations; returns the new folder."""
    final = index_dir / f"gen-{number:06d}"
    os.replace(tmp, final)
    atomic_write_text(index_dir / "CURRENT", final.name + "\n")
    for old in index_dir.glob("gen-*"):
        if old != final:
            shutil.rmtree(old, ignore_errors=True)
    return final


def _link_or_copy(src: str, dest: str) -> None:
    """Hard-link `src` at `dest` (a generation's files are never changed in place), or copy it where
    the file system cannot link."""
    try:
        os.link(src, dest)
    except OSError:
        shutil.copy2(src, dest)


def relabel(index_dir: Path, doc_id: str, category: str) -> Path | None:
    """Make a new generation that is the live one with paper `doc_id` in `category`: its files are
    hard-linked (nothing parsed, embedded or re-indexed: milliseconds), only the manifest changes.

    A category lives only in the manifest's `docs` (retrieval filters and interview topics read it
    there), so this is all a category change needs. The caller holds `writer_lock(index_dir)` (with
    its catalog write inside, so an ingest never sees one without the other). Returns the new
    generation's folder, the live one when the paper is already in `category`, or None when there
    is no index or the paper is not in it (the catalog alone holds its category then). Raises
    IndexCorrupt for an unreadable manifest.
    """
    live = current_generation(index_dir)
    manifest = read_manifest(index_dir)
    if live is None or manifest is None or doc_id not in manifest.get("docs", {}):
        return None
    if manifest["docs"][doc_id].get("category") == category:
        return live
    number = int(live.name.split("-")[1]) + 1
    tmp = index_dir / f".tmp-gen-{os.getpid()}-{int(time.time())}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        shutil.copytree(live, tmp, copy_function=_link_or_copy)
        docs = {**manifest["docs"], doc_id: {**manifest["docs"][doc_id], "category": category}}
        (tmp / "manifest.json").unlink()  # a link to the live manifest: replaced, not written through
        atomic_write_json(tmp / "manifest.json", {**manifest, "docs": docs})
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return _make_current(index_dir, tmp, number)


def _fsync(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


_SCHEMA = """
CREATE TABLE chunks (id INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, title TEXT NOT NULL,
    section TEXT NOT NULL, page_start INTEGER NOT NULL, page_end INTEGER NOT NULL,
    char_start INTEGER NOT NULL, char_end INTEGER NOT NULL, text TEXT NOT NULL,
    n_tokens INTEGER NOT NULL, ocr INTEGER NOT NULL);
CREATE TABLE docs (doc_id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE doc_numbers (no INTEGER PRIMARY KEY, doc_id TEXT NOT NULL);
CREATE TABLE sections (no INTEGER PRIMARY KEY, doc_no INTEGER NOT NULL, name TEXT NOT NULL);
CREATE TABLE vocabulary (word TEXT PRIMARY KEY) WITHOUT ROWID;
"""
_COLUMNS = "doc_id, title, section, page_start, page_end, char_start, char_end, text, n_tokens, ocr"
WRITE_BATCH = 20_000  # chunks per batch of the writer (SQLite inserts and BM25 tokenizing)


def _write_metadata(tmp: Path, chunks: Iterable[Chunk], docs: Mapping[str, dict] | Iterable[tuple[str, dict]],
                    n: int, say: Callable[[str, int, int, str], None]) -> list[str]:
    """meta.sqlite (chunks, docs, section and document numbers, vocabulary), chunk_doc.npy and
    chunk_section.npy (int32 [n]: each chunk's document and section number) and bm25/; their names."""
    db = sqlite3.connect(tmp / "meta.sqlite")
    db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + _SCHEMA)
    items = docs.items() if isinstance(docs, Mapping) else docs
    db.executemany("INSERT INTO docs VALUES (?, ?)",
                   ((doc_id, json.dumps(data, ensure_ascii=False)) for doc_id, data in items))
    lexical = LexicalBuilder()
    doc_no: dict[str, int] = {}
    section_no: dict[tuple[str, str], int] = {}
    chunk_doc, chunk_section = array("i"), array("i")
    batch: list[Chunk] = []
    count = 0

    def flush() -> None:
        nonlocal count
        for c in batch:
            chunk_doc.append(doc_no.setdefault(c.doc_id, len(doc_no)))
            chunk_section.append(section_no.setdefault((c.doc_id, c.section), len(section_no)))
        db.executemany(f"INSERT INTO chunks (id, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       ((count + i, c.doc_id, c.title, c.section, c.page_start, c.page_end, c.char_start,
                         c.char_end, c.text, c.n_tokens, int(c.ocr)) for i, c in enumerate(batch)))
        lexical.add(batch)
        count += len(batch)
        batch.clear()
        say("passages", count, n, "passages stored and tokenized")

    for chunk in chunks:
        batch.append(chunk)
        if len(batch) >= WRITE_BATCH:
            flush()
    flush()
    if count != n:
        db.close()
        raise ValueError(f"{count} chunks for {n} vectors: a generation needs one vector per chunk")
    db.executemany("INSERT INTO doc_numbers VALUES (?, ?)", ((no, d) for d, no in doc_no.items()))
    db.executemany("INSERT INTO sections VALUES (?, ?, ?)",
                   ((no, doc_no[d], name) for (d, name), no in section_no.items()))
    db.executemany("INSERT INTO vocabulary VALUES (?)", ((w,) for w in sorted(lexical.vocabulary)))
    db.execute("CREATE INDEX chunk_span ON chunks (doc_id, char_start)")
    db.commit()
    db.close()
    np.save(tmp / "chunk_doc.npy", np.frombuffer(chunk_doc, dtype=np.int32) if n else np.zeros(0, np.int32))
    np.save(tmp / "chunk_section.npy",
            np.frombuffer(chunk_section, dtype=np.int32) if n else np.zeros(0, np.int32))
    say("bm25", 0, 1, f"BM25 index of {n:,} passages")
    bm25_files = [f"bm25/{name}" for name in lexical.save(tmp / "bm25")]
    say("bm25", 1, 1, f"BM25 index of {n:,} passages")
    return ["meta.sqlite", "chunk_doc.npy", "chunk_section.npy", *bm25_files]


def clean_stale(index_dir: Path) -> None:
    """Remove what an interrupted writer left behind (temporary folders and files)."""
    if not index_dir.exists():
        return
    live = current_generation(index_dir)
    for tmp in index_dir.glob(".tmp-gen-*"):
        shutil.rmtree(tmp, ignore_errors=True)
    for old in index_dir.glob("gen-*"):
        if live is not None and old != live:
            shutil.rmtree(old, ignore_errors=True)
    for stray in (index_dir / "parts").glob("*/*.part"):
        stray.unlink(missing_ok=True)


# --------------------------------------------------------------------------- reading
def read_manifest(index_dir: Path) -> dict | None:
    """The live manifest, or None when there is no index (damage raises IndexCorrupt)."""
    gen = current_generation(index_dir)
    if gen is None:
        return None
    path = gen / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexCorrupt(f"the index manifest {path} is unreadable ({exc}); {REBUILD_HINT}") from exc


class ChunkTable(Sequence[Chunk]):
    """The chunks of a generation (row i <-> vector i), read from meta.sqlite by row when asked for.

    Holds no chunk in memory: `table[i]`, `table[a:b]` and `rows(ids)` read those rows; iterating
    reads them all in batches (what only whole-library tools should do). Safe across threads.
    """

    def __init__(self, db: sqlite3.Connection, n: int, lock: threading.Lock) -> None:
        self._db, self._n, self._lock = db, n, lock

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, i: int) -> Chunk: ...

    @overload
    def __getitem__(self, i: slice) -> list[Chunk]: ...

    def __getitem__(self, i: int | slice) -> Chunk | list[Chunk]:
        if isinstance(i, slice):
            return self.rows(range(*i.indices(self._n)))
        j = int(i) + self._n if i < 0 else int(i)
        if not 0 <= j < self._n:
            raise IndexError(f"chunk {i} of {self._n}")
        return self.rows([j])[0]

    def __iter__(self) -> Iterator[Chunk]:
        for start in range(0, self._n, 4096):
            yield from self.rows(range(start, min(self._n, start + 4096)))

    def _select(self, where: str, args: Sequence[object]) -> list[tuple]:
        with self._lock:
            return self._db.execute(f"SELECT id, {_COLUMNS} FROM chunks WHERE {where}", args).fetchall()

    def rows(self, ids: Iterable[int]) -> list[Chunk]:
        """The chunks of these row numbers, in that order (IndexError for a number out of range)."""
        wanted = [int(i) for i in ids]
        found: dict[int, Chunk] = {}
        for start in range(0, len(wanted), 900):  # SQLite's limit of bound parameters
            part = wanted[start : start + 900]
            marks = ",".join("?" * len(part))
            found.update((r[0], _chunk(r)) for r in self._select(f"id IN ({marks})", part))
        missing = [i for i in wanted if i not in found]
        if missing:
            raise IndexError(f"no chunk {missing[0]} in a table of {self._n}")
        return [found[i] for i in wanted]

    def of_docs(self, doc_ids: Iterable[str]) -> list[Chunk]:
        """Every chunk of these documents, in index order."""
        ids = sorted(set(doc_ids))
        marks = ",".join("?" * len(ids))
        return [_chunk(r) for r in sorted(self._select(f"doc_id IN ({marks})", ids))] if ids else []

    def rows_of_docs(self, doc_ids: Iterable[str]) -> list[int]:
        """The row numbers (= vector rows) of every chunk of these documents, in index order."""
        ids = sorted(set(doc_ids))
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        with self._lock:
            return sorted(r[0] for r in self._db.execute(f"SELECT id FROM chunks WHERE doc_id IN ({marks})",
                                                         ids).fetchall())

    def within(self, doc_id: str, char_start: int, char_end: int) -> list[Chunk]:
        """The chunks of `doc_id` that lie inside [char_start, char_end), by start offset."""
        rows = self._select("doc_id = ? AND char_start >= ? AND char_end <= ?",
                            (doc_id, char_start, char_end))
        return sorted((_chunk(r) for r in rows), key=lambda c: c.char_start)


def _chunk(row: tuple) -> Chunk:
    _, doc_id, title, section, p0, p1, c0, c1, text, n_tokens, ocr = row
    return Chunk(doc_id, title, section, p0, p1, c0, c1, text, n_tokens, bool(ocr))


class DocTexts(Mapping[str, dict]):
    """Parsed documents (ParsedDoc.to_json()) of a generation, read per document when asked for."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock) -> None:
        self._db, self._lock = db, lock

    def __getitem__(self, doc_id: str) -> dict:
        with self._lock:
            row = self._db.execute("SELECT data FROM docs WHERE doc_id = ?", (doc_id,)).fetchone()
        if row is None:
            raise KeyError(doc_id)
        return json.loads(row[0])

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            ids = [r[0] for r in self._db.execute("SELECT doc_id FROM docs ORDER BY rowid")]
        return iter(ids)

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM docs").fetchone()[0])


class Vocabulary(Container[str]):
    """The lower-cased words of every chunk's text and title (`word in vocabulary`), looked up on disk."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock) -> None:
        self._db, self._lock = db, lock

    def __contains__(self, word: object) -> bool:
        if not isinstance(word, str):
            return False
        with self._lock:
            return self._db.execute("SELECT 1 FROM vocabulary WHERE word = ?", (word,)).fetchone() is not None


@dataclass
class LoadedIndex:
    """An open generation. Holds in memory only what every query scans: per chunk its document and
    section number (int32 [n] each), the section names, the BM25 vocabulary and, for an ANN index,
    its codes; chunk text, documents, postings and exact vectors stay on disk (SQLite, memory maps)
    until read. The files stay readable after a newer generation replaces them (open handles)."""

    path: Path
    manifest: dict
    chunks: ChunkTable
    doc_ids: list[str]  # document number -> id
    chunk_doc: np.ndarray  # int32 [n]: the document number of each chunk
    chunk_section: np.ndarray  # int32 [n]: a number per (document, section) pair
    section_names: list[str]  # section number -> its name
    bm25: bm25s.BM25 | None
    vocabulary: Vocabulary
    docs: DocTexts
    vectors: np.ndarray  # float32 [n, dim]: in memory for a flat index, else memory-mapped
    _faiss: faiss.Index | None = None

    @property
    def faiss(self) -> faiss.Index:
        """The FAISS index, read on first use (a flat one is never needed: `vectors` are exact)."""
        if self._faiss is None:
            try:
                self._faiss = faiss.read_index(str(self.path / "faiss.index"))
            except RuntimeError as exc:
                raise IndexCorrupt(f"the index in {self.path} cannot be read ({exc}); {REBUILD_HINT}"
                                   ) from exc
        return self._faiss

    @property
    def exact(self) -> bool:
        """Whether dense search is exact (a flat index: the vectors are scanned, FAISS is not read)."""
        return self.manifest.get("index_type", "flat") == "flat"

    def doc_texts(self) -> DocTexts:
        """Cleaned text, pages and sections per document, each read on demand."""
        return self.docs


VERIFY_FULL_BYTES = 64 << 20  # files up to this size are checked against their sha256 at every load


def load_index(index_dir: Path, verify: bool = True, full_check: bool = False) -> LoadedIndex:
    """Open the live index. With `verify`, every file must have its manifest size and files up to
    VERIFY_FULL_BYTES (all with `full_check`, as `paperdojo doctor` does) their sha256: hashing the
    1.5 GB of vectors of a million passages takes seconds, and is left to the doctor.
    Raises IndexMissing, IndexOutdated (an older on-disk format) or IndexCorrupt."""
    manifest = read_manifest(index_dir)
    if manifest is None:
        raise IndexMissing(f"no index in {index_dir}: build it with `paperdojo ingest`")
    gen = current_generation(index_dir)
    assert gen is not None
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexOutdated(
            f"the index in {gen} has the on-disk format {manifest.get('format')} of an older paperdojo "
            f"(this one reads format {FORMAT_VERSION}); run `paperdojo ingest` to rewrite it from the saved "
            "per-paper parts (no parsing or embedding again), or `paperdojo ingest --rebuild`")
    sizes = manifest.get("sizes", {})
    for name, digest in manifest.get("files", {}).items():
        path = gen / name
        if not path.exists():
            raise IndexCorrupt(f"the index is missing {path}; {REBUILD_HINT}")
        size = path.stat().st_size
        if verify and (size != sizes.get(name, size) or (full_check or size <= VERIFY_FULL_BYTES)
                       and sha256_file(path) != digest):
            raise IndexCorrupt(f"the index file {path} is damaged (checksum mismatch); {REBUILD_HINT}")
    n, dim = int(manifest.get("n_chunks", 0)), int(manifest.get("dim") or 0)
    try:
        db = sqlite3.connect(f"file:{gen / 'meta.sqlite'}?mode=ro&immutable=1", uri=True,
                             check_same_thread=False)
        lock = threading.Lock()
        doc_ids = [r[0] for r in db.execute("SELECT doc_id FROM doc_numbers ORDER BY no")]
        section_names = [r[0] for r in db.execute("SELECT name FROM sections ORDER BY no")]
        chunk_doc = np.load(gen / "chunk_doc.npy", allow_pickle=False)
        chunk_section = np.load(gen / "chunk_section.npy", allow_pickle=False)
        # a flat index scans every vector each query: in memory (the only copy, FAISS' is not read);
        # an ANN index re-scores a few thousand: memory-mapped
        exact = manifest.get("index_type", "flat") == "flat"
        vectors = (np.zeros((0, dim), dtype=np.float32) if not n
                   else np.load(gen / "vectors.npy", allow_pickle=False) if exact
                   else map_for_random_rows(gen / "vectors.npy"))
        index = LoadedIndex(gen, manifest, ChunkTable(db, n, lock), doc_ids, chunk_doc, chunk_section,
                            section_names, load_bm25(gen / "bm25"), Vocabulary(db, lock), DocTexts(db, lock),
                            vectors)
        if not index.exact:
            index.faiss  # noqa: B018 - read now: searched by every query
    except IndexCorrupt:
        raise
    except Exception as exc:  # noqa: BLE001 - sqlite3, numpy, bm25s and faiss raise their own errors
        raise IndexCorrupt(f"the index in {gen} cannot be read ({exc}); {REBUILD_HINT}") from exc
    if (len(chunk_doc) != n or len(chunk_section) != n or vectors.shape != (n, dim)
            or (not index.exact and index.faiss.ntotal != n)):
        raise IndexCorrupt(f"the index in {gen} does not match its metadata; {REBUILD_HINT}")
    return index
