"""Ingest on a Ray cluster: parse as Ray tasks, chunk and embed in an actor pool (Ray Data).

`ingest.ingest(settings, ..., stage=RayStage(address))` runs the catalog, the downloads (into the
home's cache, with its download log) and the writing of parts and generations exactly as the local
ingest does; only the parse -> chunk -> embed stage runs on the cluster:

    rows {doc_id, title, name, given: the user's file name, data}   (windows of `window` documents)
      -> map(_parse_row)            Ray tasks (PARSE_CPUS each), retried `max_retries` times
      -> map(_EmbedRows)            an actor pool, one actor per CPU (EMBED_CPUS each); each actor
                                    loads the model once (one ONNX Runtime thread), chunks with the
                                    model's tokenizer and embeds; a dead actor is restarted and its
                                    rows retried (`max_restarts`, `max_task_retries`)
      -> the driver saves each document's part as its row arrives (store.save_part via ingest)

The rows carry the files' bytes, so the nodes need no shared file system; they need paperdojo and
its dependencies installed (the same image as the driver). The same code and settings as the local
ingest give the same chunks and vectors (tests/test_ray_ingest.py compares them).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from paperdojo.library.catalog import Paper
from paperdojo.library.chunk import embedding_text
from paperdojo.library.embed import Embedder
from paperdojo.library.ingest import IngestError, Staged, parse_job, user_file_name
from paperdojo.records import Chunk, DocumentError, ParsedDoc
from paperdojo.settings import Settings

log = logging.getLogger(__name__)
# CPU shares: embedding is ~95% of a cold ingest's CPU time (67 CPU-s of embedding against 1.3 s of
# PDFium for the 27 shared PDFs, docs/measurements.md), so each node runs one embedding actor per CPU
# reserving 0.9 of it, and the parse tasks run in the tenth left over (one per CPU at most)
EMBED_CPUS = 0.9
PARSE_CPUS = 0.1


class RayUnavailable(IngestError):
    """Ray is not installed, or the cluster at the given address cannot be reached."""


def _parse_row(row: dict[str, Any], ocr: bool) -> dict[str, Any]:
    """One document's bytes -> its ParsedDoc as JSON, or the reason it failed (a Ray task)."""
    out = {"doc_id": row["doc_id"], "doc": "", "error": "", "own_fault": False}
    with tempfile.TemporaryDirectory(prefix="paperdojo-ray-") as tmp:
        path = Path(tmp) / row["name"]
        path.write_bytes(row["data"])
        try:
            doc = parse_job(str(path), row["doc_id"], row["title"], ocr, row["given"])  # as a local ingest
            if isinstance(doc, DocumentError):
                out["error"], out["own_fault"] = str(doc), True
            else:
                out["doc"] = json.dumps(doc.to_json(), ensure_ascii=False)
        except Exception as exc:  # noqa: BLE001 - one bad file must not sink the run
            log.exception("parsing %s failed", row["doc_id"])
            out["error"] = f"unexpected error: {exc!r}"
    return out


class _EmbedRows:
    """An actor of the pool: the chunker and the embedding model, loaded once (Ray Data callable class)."""

    def __init__(self, settings: Settings, threads: int, engine: str) -> None:
        self.settings = settings.model_copy(update={"embed_workers": 1})  # no process pool inside an actor
        self.embedder = Embedder(self.settings, threads=threads)
        self.embedder.use_engine(engine)  # the driver's choice for the whole run, as a local ingest makes it
        self.chunker = self.embedder.chunker(self.settings)

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        out = {"doc_id": row["doc_id"], "doc": row["doc"], "chunks": "", "vectors": b"", "dim": 0,
               "error": row["error"], "own_fault": row["own_fault"]}
        if out["error"]:
            return out
        doc = ParsedDoc.from_json(json.loads(row["doc"]))
        chunks = self.chunker.chunk(doc)
        if not chunks:
            out["error"], out["own_fault"] = "no answerable text left after cleaning (only references?)", True
            return out
        vectors = self.embedder.encode_bulk([embedding_text(c, self.settings.embed_with_heading)
                                        for c in chunks])
        out["chunks"] = json.dumps([c.to_json() for c in chunks], ensure_ascii=False)
        out["vectors"] = np.ascontiguousarray(vectors, dtype=np.float32).tobytes()
        out["dim"] = int(vectors.shape[1])
        return out


def _result(row: dict[str, Any]) -> Staged:
    if row["error"]:
        return DocumentError(row["error"]) if row["own_fault"] else RuntimeError(row["error"])
    doc = ParsedDoc.from_json(json.loads(row["doc"]))
    chunks = [Chunk.from_json(c) for c in json.loads(row["chunks"])]
    vectors = np.frombuffer(row["vectors"], dtype=np.float32).reshape(len(chunks), int(row["dim"]))
    return doc, chunks, vectors.copy()


class RayStage:
    """The parse -> chunk -> embed stage of `ingest.ingest` as a Ray Data pipeline.

    `address`: a running cluster (`ray://host:10001`, `host:6379` or `auto`); None starts a local
    Ray for this run (`num_cpus`, default every core) and stops it afterwards. When this process is
    already connected to Ray (`ray.init` before), that cluster is used and left running.
    `embed_actors`: the size of the embedding actor pool (default: one per CPU of the cluster);
    `window`: documents per Ray Data pipeline, which bounds the PDF bytes held by the
    driver at once. Raises RayUnavailable when Ray is missing or the cluster cannot be reached.
    """

    def __init__(self, address: str | None = None, embed_actors: int | None = None, window: int = 256,
                 num_cpus: int | None = None, max_retries: int = 3) -> None:
        self.address = address
        self.embed_actors = embed_actors
        self.window = window
        self.num_cpus = num_cpus
        self.max_retries = max_retries

    def _connect(self) -> bool:
        """Connect to (or start) Ray; True when this call started it (and so must stop it)."""
        try:
            import ray
        except ImportError as exc:
            raise RayUnavailable("ingest --ray needs Ray: pip install 'paperdojo[ray]'") from exc
        if ray.is_initialized():
            return False
        kwargs: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False,
                                  "runtime_env": {"env_vars": {"HF_HUB_OFFLINE": "1"}}}
        if self.address:
            kwargs["address"] = self.address
        else:
            kwargs.update(address="local", num_cpus=self.num_cpus or os.cpu_count() or 1,
                          include_dashboard=False, object_store_memory=512 * 2**20)
        try:
            ray.init(**kwargs)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise RayUnavailable(f"cannot reach the Ray cluster at {self.address or 'a new local Ray'}: "
                                 f"{exc}") from exc
        return True

    def _pipeline(self, settings: Settings, window: list[tuple[Paper, Path]], actors: int,
                  engine: str) -> Any:
        """The Ray Data pipeline of one window: rows with the files' bytes -> parse -> chunk and embed."""
        import ray.data

        rows = [{"doc_id": p.id, "title": p.title, "name": path.name, "given": user_file_name(p),
                 "data": path.read_bytes()}
                for p, path in window]
        with warnings.catch_warnings():
            # bounded retries still go through ray_remote_args in Ray 2.60 (deprecated, kept until 2.64):
            # the defaults (-1) would retry forever a document that crashes its worker each time
            warnings.filterwarnings("ignore", ".*ray_remote_args.*deprecated", category=Warning)
            ds: Any = ray.data.from_items(rows, override_num_blocks=len(rows))
            ds = ds.map(_parse_row, fn_kwargs={"ocr": settings.ocr}, num_cpus=PARSE_CPUS,
                        max_retries=self.max_retries)
            return ds.map(_EmbedRows,
                          fn_constructor_kwargs={"settings": settings, "threads": 1, "engine": engine},
                          compute=ray.data.ActorPoolStrategy(size=actors), num_cpus=EMBED_CPUS,
                          max_restarts=self.max_retries, max_task_retries=self.max_retries)

    def __call__(self, settings: Settings, jobs: list[tuple[Paper, Path]]) -> Iterator[tuple[Paper, Staged]]:
        """Yields (paper, (ParsedDoc, chunks, vectors) or the exception that failed it), in the order
        the cluster finishes them."""
        import ray

        started = self._connect()
        try:
            import ray.data

            context = ray.data.DataContext.get_current()
            context.enable_progress_bars = False
            logging.getLogger("ray.data").setLevel(logging.WARNING)
            actors = self.embed_actors or max(1, int(ray.cluster_resources().get("CPU", 1)))
            papers = {p.id: p for p, _ in jobs}
            engine = Embedder(settings).bulk_engine(len(jobs))  # the same vectors as a local run
            log.info("ray: %d document(s) on %s, %d embedding actor(s)", len(jobs),
                     self.address or "a local Ray", actors)
            for start in range(0, len(jobs), self.window):
                window = jobs[start : start + self.window]
                seen: set[str] = set()
                try:
                    for row in self._pipeline(settings, window, actors, engine).iter_rows():
                        seen.add(row["doc_id"])
                        yield papers[row["doc_id"]], _result(row)
                except ray.exceptions.RayError as exc:  # retries exhausted: the rest of this window fails
                    log.error("the Ray pipeline failed: %s", exc)
                    why = RuntimeError(f"the Ray pipeline failed: {str(exc).splitlines()[0]}")
                else:
                    why = RuntimeError("the Ray pipeline returned no result for it")
                for paper, _ in window:
                    if paper.id not in seen:
                        yield paper, why
        finally:
            if started:
                ray.shutdown()
