"""The ingest pipeline: catalog -> files (local or downloaded) -> parts -> a new index generation.

Incremental by construction: each document's parse/chunk/embed result is stored as a part keyed
by the file's hash and the pipeline fingerprint, so an unchanged document is never parsed or
embedded again, an interrupted ingest resumes from the parts it finished, and a change of model
or chunk settings changes every key (a full rebuild). Bad inputs fail one document with a reason,
never the run.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from paperdojo.library import catalog, fetch, parse, store, topics
from paperdojo.library.cache import EmbeddingCache
from paperdojo.library.catalog import Paper
from paperdojo.library.chunk import embedding_text
from paperdojo.library.embed import Embedder, Pending, backend_for
from paperdojo.records import DocumentError, ParsedDoc
from paperdojo.settings import Settings
from paperdojo.util import atomic_write_json, read_json, sha256_file

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int, str], None]  # stage, done, total, what


class IngestError(Exception):
    """The run as a whole cannot go on (a bad flag, an unknown paper id)."""


@dataclass
class DocStatus:
    id: str
    title: str
    category: str
    origin: str
    status: str  # indexed | failed | missing
    reason: str = ""
    file: str = ""
    sha256: str = ""
    key: str = ""
    pages: int = 0
    chunks: int = 0
    link: str = ""
    page_url: str = ""
    warnings: list[str] = field(default_factory=list)
    reused: bool = False

    def to_json(self) -> dict:
        data = asdict(self)
        data.pop("reused")
        return data


@dataclass
class IngestReport:
    docs: list[DocStatus]
    embedded_docs: int = 0
    embedded_chunks: int = 0  # chunks of the papers indexed anew
    cached_vectors: int = 0  # of those, vectors found in the embedding cache (unchanged text)
    reused_docs: int = 0
    wrote_index: bool = False
    generation: str | None = None
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(d.status == status for d in self.docs)

    @property
    def total_chunks(self) -> int:
        return sum(d.chunks for d in self.docs if d.status == "indexed")


def fingerprint(settings: Settings) -> dict:
    """Everything that changes chunks or vectors; a change re-embeds every document."""
    return {"model": settings.embed_model, "backend": backend_for(settings),
            "chunk_tokens": settings.chunk_tokens,
            "overlap": settings.chunk_overlap_tokens, "heading": settings.embed_with_heading,
            "parser": parse.PARSER_VERSION, "format": store.FORMAT_VERSION}


def _noop(stage: str, done: int, total: int, what: str) -> None:
    return None


# --------------------------------------------------------------------------- files
def cached_file(settings: Settings, doc_id: str) -> Path | None:
    for path in (settings.pdf_dir / f"{doc_id}.pdf", settings.pages_dir / f"{doc_id}.html",
                 settings.pages_dir / f"{doc_id}.md"):
        if path.exists():
            return path
    return None


def _copy_in(src: Path, dest: Path) -> None:
    """Copy atomically, skipping the copy when the content is already there."""
    if dest.exists() and sha256_file(dest) == sha256_file(src):
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.part")
    shutil.copyfile(src, tmp)
    tmp.replace(dest)


def import_pdf_dirs(settings: Settings, papers: list[Paper], dirs: Iterable[Path]
                    ) -> tuple[list[Paper], dict[str, str]]:
    """Local PDFs fill reading-list entries by id (file stem) or become new user papers.

    Returns the catalog and, per paper id, why a given file was refused.
    """
    refused: dict[str, str] = {}
    added = False
    for folder in dirs:
        if not folder.is_dir():
            raise IngestError(f"--pdf-dir {folder}: not a folder")
        for src in sorted(p for p in folder.iterdir() if p.suffix.lower() == ".pdf"):
            paper = catalog.find(papers, src.stem) or catalog.find(papers, catalog.slugify(src.stem))
            if paper is None:
                new_id = catalog.unique_id(papers, catalog.slugify(src.stem))
                paper = Paper(new_id, "", catalog.UNCATEGORIZED, file=str(src.resolve()), origin="user")
                papers.append(paper)
                added = True
            try:
                parse.check_pdf_file(src)
            except parse.ParseError as exc:
                refused[paper.id] = f"{src}: {exc}"
                continue
            _copy_in(src, settings.pdf_dir / f"{paper.id}.pdf")
    if added:
        catalog.save_library(settings, papers)
    return papers, refused


def _download_all(settings: Settings, papers: list[Paper], retry: bool,
                  progress: Progress) -> dict[str, str]:
    """Fetch what is not cached; returns the failure reason per paper id."""
    failures: dict[str, str] = {}
    log_data: dict = read_json(settings.fetch_log, {}) or {}
    now = time.time()
    wanted = []
    for paper in papers:
        plan = paper.plan()
        entry = log_data.get(paper.id, {})
        recent = entry.get("failed_at", 0) > now - settings.retry_failed_after_s
        if not retry and recent and entry.get("url") == plan.url:
            failures[paper.id] = entry["error"]  # the same words as last time: nothing changed
        else:
            wanted.append((paper, plan))
    if not wanted:
        return failures
    done = 0
    client = fetch.make_client(settings)
    with client, ThreadPoolExecutor(settings.http_concurrency) as pool:
        futures = {pool.submit(fetch.download, plan, p.id, settings, client): (p, plan)
                   for p, plan in wanted}
        for fut, (paper, plan) in futures.items():
            try:
                got = fut.result()
                log_data[paper.id] = {"url": plan.url, "sha256": got.sha256, "bytes": got.size,
                                      "fetched_at": time.time()}
            except DocumentError as exc:
                failures[paper.id] = f"download failed: {exc}"
                log_data[paper.id] = {"url": plan.url, "error": failures[paper.id],
                                      "failed_at": time.time()}
            done += 1
            progress("download", done, len(wanted), paper.id)
    atomic_write_json(settings.fetch_log, log_data)
    return failures


def obtain(settings: Settings, papers: list[Paper], retry: bool, progress: Progress
           ) -> tuple[dict[str, Path], dict[str, DocStatus]]:
    """The file of every paper, or its status (missing / failed) with the reason."""
    files: dict[str, Path] = {}
    statuses: dict[str, DocStatus] = {}
    to_fetch = []
    for paper in papers:
        if path := cached_file(settings, paper.id):
            files[paper.id] = path
            continue
        plan = paper.plan()
        if plan.kind == "paywalled":
            where = settings.pdf_dir / f"{paper.id}.pdf"
            statuses[paper.id] = paper_status(paper, "missing",
                                         f"{plan.note}: get the PDF yourself and drop it at {where}")
        else:
            to_fetch.append(paper)
    for pid, reason in _download_all(settings, to_fetch, retry, progress).items():
        statuses[pid] = paper_status(catalog.find(papers, pid), "failed", reason)
    for paper in to_fetch:
        if paper.id not in statuses and (path := cached_file(settings, paper.id)):
            files[paper.id] = path
    return files, statuses


def paper_status(paper: Paper, status: str, reason: str = "", **kw: object) -> DocStatus:
    """A paper's status record (with the link a person can open) before or without indexing."""
    plan_url = ""
    with contextlib.suppress(ValueError):
        plan_url = paper.plan().page_url or ""
    return DocStatus(paper.id, paper.title, paper.category, paper.origin, status, reason,
                     link=paper.link, page_url=plan_url, **kw)


# --------------------------------------------------------------------------- parse, chunk, embed
def _parse_job(path: str, doc_id: str, title: str) -> ParsedDoc | DocumentError:
    try:
        return parse.parse_file(Path(path), doc_id, title)
    except DocumentError as exc:
        return exc


def _parse_inline(paper: Paper, path: Path) -> ParsedDoc | Exception:
    try:
        return _parse_job(str(path), paper.id, paper.title)
    except Exception as exc:  # noqa: BLE001 - one bad file must not sink the run
        log.exception("parsing %s failed", paper.id)
        return exc


def _parsed_docs(settings: Settings, jobs: list[tuple[Paper, Path]]
                 ) -> Iterator[tuple[Paper, ParsedDoc | Exception]]:
    """Parsed documents in order; parsing runs ahead in worker processes while we embed.

    If the workers cannot run (a script without a __main__ guard, a killed worker), the rest is
    parsed in this process: slower, but every paper still gets its result.
    """
    if settings.parse_workers <= 0 or len(jobs) < 2:
        for paper, path in jobs:
            yield paper, _parse_inline(paper, path)
        return
    ctx = multiprocessing.get_context("spawn")  # no fork after torch has started its threads
    with ProcessPoolExecutor(settings.parse_workers, mp_context=ctx) as pool:
        futures: list[Future] = [pool.submit(_parse_job, str(path), p.id, p.title) for p, path in jobs]
        for (paper, path), fut in zip(jobs, futures, strict=True):
            try:
                yield paper, fut.result()
            except BrokenProcessPool as exc:
                log.warning("parser worker failed (%s); parsing %s in this process", exc, paper.id)
                yield paper, _parse_inline(paper, path)


@dataclass
class _Embedding:
    """A paper whose chunks are being embedded while the next one is parsed and chunked."""

    paper: Paper
    doc: ParsedDoc
    chunks: list
    key: str
    wait: Pending


def _start_one(embedder: Embedder, cache: EmbeddingCache, settings: Settings, paper: Paper,
               doc: ParsedDoc, key: str) -> _Embedding:
    chunks = embedder.chunker(settings).chunk(doc)
    if not chunks:
        raise parse.ParseError("no answerable text left after cleaning (only references?)")
    texts = [embedding_text(c, settings.embed_with_heading) for c in chunks]
    return _Embedding(paper, doc, chunks, key, cache.start(texts, embedder.submit))


def _indexed_status(paper: Paper, path: Path, sha: str, key: str, doc: ParsedDoc,
                    n_chunks: int, reused: bool) -> DocStatus:
    status = paper_status(paper, "indexed", file=str(path), sha256=sha, key=key, pages=len(doc.pages),
                     chunks=n_chunks, warnings=list(doc.warnings), reused=reused)
    status.title = paper.title or doc.title
    return status


# --------------------------------------------------------------------------- the run
def ingest(settings: Settings, pdf_dirs: Iterable[Path] = (), only: Iterable[str] | None = None,
           rebuild: bool = False, retry: bool = False, progress: Progress | None = None,
           embedder: Embedder | None = None) -> IngestReport:
    """Bring the index up to date with the catalog; returns what happened to every paper."""
    started = time.perf_counter()
    progress = progress or _noop
    index_dir = settings.index_dir
    with store.writer_lock(index_dir):
        store.clean_stale(index_dir)
        papers, refused = import_pdf_dirs(settings, catalog.load_catalog(settings), list(pdf_dirs))
        only_ids = set(only or [])
        unknown = only_ids - {p.id for p in papers}
        if unknown:
            raise IngestError(f"no paper {', '.join(sorted(unknown))}; `paperdojo papers` lists them")
        try:
            previous = store.read_manifest(index_dir)
        except store.IndexCorrupt as exc:
            log.warning("%s; building a new one", exc)
            previous = None
        selected = [p for p in papers if not only_ids or p.id in only_ids]
        files, statuses = obtain(settings, selected, retry, progress)
        fp = fingerprint(settings)
        parts: dict[str, tuple[ParsedDoc, list, np.ndarray]] = {}
        todo: list[tuple[Paper, Path, str, str]] = []
        for paper in selected:
            if paper.id in refused and paper.id not in files:
                statuses[paper.id] = paper_status(paper, "failed", refused[paper.id])
            if paper.id not in files:
                continue
            path = files[paper.id]
            sha = sha256_file(path)
            key = store.part_key(sha + "\n" + paper.title, fp)
            part = None if rebuild else store.load_part(index_dir, paper.id, key)
            if part:
                parts[paper.id] = part
                statuses[paper.id] = _indexed_status(paper, path, sha, key, part[0], len(part[1]), True)
            else:
                todo.append((paper, path, sha, key))
        report = IngestReport([])
        report.reused_docs = len(parts)
        _carry_over(settings, papers, only_ids, previous, parts, statuses)
        embedder = embedder or Embedder(settings)
        cache = EmbeddingCache(index_dir / "embed-cache.sqlite", embedder.model_id)
        if rebuild:
            cache.clear()
        jobs = [(p, path) for p, path, _, _ in todo]
        meta = {p.id: (path, sha, key) for p, path, sha, key in todo}
        if todo:
            embedder.start_workers()  # they load the model while the first paper is parsed

        def failed(paper: Paper, exc: BaseException, logged: bool = False) -> None:
            path, sha, _ = meta[paper.id]
            if isinstance(exc, DocumentError):
                reason = str(exc)
            else:
                if not logged:
                    log.error("indexing %s failed", paper.id, exc_info=exc)
                reason = f"unexpected error: {exc!r}"
            statuses[paper.id] = paper_status(paper, "failed", reason, file=str(path), sha256=sha)

        def finish(job: _Embedding) -> None:
            try:
                vectors = job.wait()
                store.save_part(settings.index_dir, job.key, job.doc, job.chunks, vectors)
            except Exception as exc:  # noqa: BLE001 - report it, keep the other papers
                failed(job.paper, exc)
                return
            path, sha, key = meta[job.paper.id]
            parts[job.paper.id] = (job.doc, job.chunks, vectors)
            statuses[job.paper.id] = _indexed_status(job.paper, path, sha, key, job.doc, len(job.chunks),
                                                     False)
            report.embedded_docs += 1
            report.embedded_chunks += len(job.chunks)

        embedding: list[_Embedding] = []  # at most two papers: one embedding, the next queued behind it
        for n, (paper, result) in enumerate(_parsed_docs(settings, jobs), 1):
            progress("index", n - 1, len(todo), paper.id)
            if isinstance(result, Exception):
                failed(paper, result, logged=True)  # by the parser
                continue
            try:
                embedding.append(_start_one(embedder, cache, settings, paper, result, meta[paper.id][2]))
            except Exception as exc:  # noqa: BLE001 - report it, keep the other papers
                failed(paper, exc)
            while len(embedding) > 1:
                finish(embedding.pop(0))
        for job in embedding:
            finish(job)
        progress("index", len(todo), len(todo), "")
        for pid, why in refused.items():
            if pid in statuses and statuses[pid].status == "indexed":
                statuses[pid].warnings.append(f"kept the cached copy; refused {why}")
        report.docs = [statuses[p.id] for p in papers if p.id in statuses]
        topics.fill_categories(settings, papers, report.docs, parts, embedder)
        _write_if_changed(settings, report, previous, parts, fp, rebuild, embedder)
        report.cached_vectors = cache.hits
        if report.wrote_index:
            cache.keep_only([embedding_text(c, settings.embed_with_heading)
                             for d in report.docs if d.status == "indexed" for c in parts[d.id][1]])
        cache.close()
        store.prune_parts(index_dir, {d.id: d.key for d in report.docs if d.status == "indexed"})
    report.seconds = time.perf_counter() - started
    return report


def _carry_over(settings: Settings, papers: list[Paper], only_ids: set[str], previous: dict | None,
                parts: dict, statuses: dict[str, DocStatus]) -> None:
    """With --only, the other papers keep what the live index has for them."""
    if not only_ids:
        return
    before = (previous or {}).get("docs", {})
    for paper in papers:
        if paper.id in only_ids:
            continue
        old = before.get(paper.id)
        if old and old["status"] == "indexed":
            part = store.load_part(settings.index_dir, paper.id, old["key"])
            if part:
                parts[paper.id] = part
                statuses[paper.id] = DocStatus(**old, reused=True)
                continue
        if old:
            statuses[paper.id] = DocStatus(**{**old, "status": old["status"]
                                              if old["status"] != "indexed" else "missing"})
        else:
            statuses[paper.id] = paper_status(paper, "missing", "not ingested yet")


def _write_if_changed(settings: Settings, report: IngestReport, previous: dict | None, parts: dict,
                      fp: dict, rebuild: bool, embedder: Embedder) -> None:
    docs_now = {d.id: d.to_json() for d in report.docs}
    if not rebuild and previous is not None and previous.get("docs") == docs_now \
            and previous.get("fingerprint") == fp:
        report.generation = store.current_generation(settings.index_dir).name
        return
    ordered = [d for d in report.docs if d.status == "indexed"]
    chunks = [c for d in ordered for c in parts[d.id][1]]
    if ordered:
        vectors = np.concatenate([parts[d.id][2] for d in ordered])
        dim = int(vectors.shape[1])
    else:
        dim = int((previous or {}).get("dim") or embedder.dim)
        vectors = np.zeros((0, dim), dtype=np.float32)
    texts = {d.id: parts[d.id][0].to_json() for d in ordered}
    manifest = {"created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "model": embedder.model_id,
                "dim": dim, "fingerprint": fp, "docs": docs_now, "index_type": settings.index_type}
    gen = store.write_generation(settings.index_dir, manifest, chunks, vectors, texts)
    report.wrote_index, report.generation = True, gen.name


# --------------------------------------------------------------------------- adding papers
def add_source(settings: Settings, spec: str, category: str | None = None,
               title: str | None = None) -> Paper:
    """Register an arXiv id, a URL or a local PDF as a user paper (not yet ingested)."""
    papers = catalog.load_catalog(settings)
    local = Path(spec).expanduser()
    if local.is_file():
        parse.check_pdf_file(local)
        if not title:
            lines, _, extracted = parse.pdf_page_lines(local)
            title = parse.pdf_title(extracted, lines[0])
        new_id = catalog.unique_id(papers, catalog.slugify(title or local.stem))
        paper = Paper(new_id, title or "", category or catalog.UNCATEGORIZED,
                      file=str(local.resolve()), origin="user")
        _copy_in(local, settings.pdf_dir / f"{new_id}.pdf")
        catalog.add_paper(settings, paper)
        return paper
    from paperdojo.library.sources import arxiv_id, resolve

    plan = resolve(spec)  # raises ValueError for what is neither a link nor an arXiv id
    aid = arxiv_id(spec)
    for existing in papers:
        if existing.link and (existing.link == spec or (aid and arxiv_id(existing.link) == aid)):
            return existing
    base = f"arxiv-{aid}" if aid else catalog.slugify(Path(plan.url or spec).stem or spec)
    paper = Paper(catalog.unique_id(papers, catalog.slugify(base)), title or "",
                  category or catalog.UNCATEGORIZED, link=spec, origin="user")
    catalog.add_paper(settings, paper)
    return paper
