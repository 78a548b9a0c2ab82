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
import os
import re
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np

from paperdojo.library import catalog, fetch, identity, parse, store, topics
from paperdojo.library.cache import EmbeddingCache
from paperdojo.library.catalog import Paper
from paperdojo.library.chunk import embedding_text
from paperdojo.library.embed import Embedder, Pending, backend_for, vectors_of
from paperdojo.library.sources import Plan, resolve
from paperdojo.library.workers import watch_parent
from paperdojo.records import DocumentError, ParsedDoc
from paperdojo.settings import Settings
from paperdojo.util import atomic_write_json, read_json, sha256_file, sha256_text

log = logging.getLogger(__name__)
# characters of parsed text (spaces folded) below which two papers with the same text are not called
# copies of one document (`_same_text`): an empty scan or a one-line cover page says nothing; the
# paper of a few sentences (tests) has more
_SAME_TEXT_MIN = 200
Progress = Callable[[str, int, int, str], None]  # stage, done, total, what
# Another runner of the parse -> chunk -> embed stage (library/ray_ingest.py): given the settings and
# the (paper, file) jobs, yields per paper (ParsedDoc, chunks, vectors) or the exception that failed it
Staged = tuple[ParsedDoc, list, np.ndarray] | Exception
Stage = Callable[[Settings, list[tuple[Paper, Path]]], Iterable[tuple[Paper, Staged]]]


class IngestError(Exception):
    """The run as a whole cannot go on (a bad flag, an unknown paper id)."""


_DROP_AT = re.compile(r"(drop it at )(\S+?)([^/\\\s]+\.pdf)\b")


def in_this_home(reason: str, pdf_dir: Path) -> str:
    """A stored failure reason with each "drop it at <folder>/<id>.pdf" pointing into `pdf_dir` (the
    running home's PDF folder): a reason is written at ingest with the home's path of that time, so a
    home moved or copied elsewhere named a folder the app no longer reads."""
    return _DROP_AT.sub(lambda m: m.group(1) + str(pdf_dir / m.group(3)), reason)


@dataclass
class DocStatus:
    """One paper's state in an index generation, as the Library and `papers` show it: status
    (indexed, failed, missing, duplicate), the reason for a failure, the file and its SHA-256, the
    index part's key, page and chunk counts, links, parse warnings; `reused` when its part came from an
    earlier generation (left out of to_json)."""
    id: str
    title: str
    category: str
    origin: str
    status: str  # indexed | failed | missing | duplicate (the same file or text as `same_as`, indexed once)
    reason: str = ""
    file: str = ""
    sha256: str = ""
    key: str = ""
    pages: int = 0
    chunks: int = 0
    link: str = ""
    page_url: str = ""
    warnings: list[str] = field(default_factory=list)
    same_as: str = ""  # for a duplicate: the paper indexed with this content
    reused: bool = False

    def to_json(self) -> dict:
        """Its fields as a dict for the manifest and --json output (without `reused`)."""
        data = asdict(self)
        data.pop("reused")
        return data


@dataclass
class IngestReport:
    """What an ingest did: every paper's status, how many papers and chunks were embedded
    anew and how many vectors came from the cache, how many papers were reused, whether it wrote a new
    generation (its name) and the wall time in seconds."""
    docs: list[DocStatus]
    embedded_docs: int = 0
    embedded_chunks: int = 0  # chunks of the papers indexed anew
    cached_vectors: int = 0  # of those, vectors found in the embedding cache (unchanged text)
    reused_docs: int = 0
    wrote_index: bool = False
    generation: str | None = None
    seconds: float = 0.0

    def count(self, status: str) -> int:
        """How many papers have `status`."""
        return sum(d.status == status for d in self.docs)

    def problems(self) -> list[tuple[str, str, str]]:
        """(id, status, reason) of every paper not indexed, in catalog order: what to show a user."""
        return [(d.id, d.status, d.reason) for d in self.docs if d.status != "indexed"]

    @property
    def total_chunks(self) -> int:
        """The chunks of the indexed papers."""
        return sum(d.chunks for d in self.docs if d.status == "indexed")


def fingerprint(settings: Settings) -> dict:
    """Everything that changes chunks or vectors; a change re-embeds every document."""
    return {"model": settings.embed_model, "backend": vectors_of(backend_for(settings)),
            "chunk_tokens": settings.chunk_tokens,
            "overlap": settings.chunk_overlap_tokens, "heading": settings.embed_with_heading,
            "parser": parse.PARSER_VERSION, "ocr": settings.ocr, "format": store.PARTS_FORMAT}


def _noop(stage: str, done: int, total: int, what: str) -> None:
    return None


# --------------------------------------------------------------------------- files
def cached_file(settings: Settings, doc_id: str) -> Path | None:
    """The downloaded or dropped file of a paper (its PDF, else its HTML or Markdown page),
    or None."""
    for path in (settings.pdf_dir / f"{doc_id}.pdf", settings.pages_dir / f"{doc_id}.html",
                 settings.pages_dir / f"{doc_id}.md"):
        if path.exists():
            return path
    return None


def cached_files(settings: Settings, papers: Iterable[Paper]) -> dict[str, Path]:
    """Paper id -> its file in the cache, for the papers that have one (catalog order)."""
    return {p.id: path for p in papers if (path := cached_file(settings, p.id))}


def find_by_content(settings: Settings, papers: list[Paper], sha256: str) -> Paper | None:
    """The first paper whose cached file has this sha256 (the same document, whatever brought
    it), or None."""
    pid = identity.paper_with_content(cached_files(settings, papers), sha256)
    return catalog.find(papers, pid) if pid else None


def _copy_in(src: Path, dest: Path, src_sha: str | None = None) -> None:
    """Copy atomically, skipping the copy when the content is already there."""
    if dest.exists() and sha256_file(dest) == (src_sha or sha256_file(src)):
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.part")
    shutil.copyfile(src, tmp)
    tmp.replace(dest)


def folder_pdfs(folder: Path) -> list[Path]:
    """The PDFs of a folder (by name, not hidden, not a partial download), sorted."""
    return sorted(p for p in folder.iterdir()
                  if p.suffix.lower() == ".pdf" and not p.name.startswith(".") and p.is_file())


def import_pdf_dirs(settings: Settings, papers: list[Paper], dirs: Iterable[Path],
                    forget_missing: bool = False) -> tuple[list[Paper], dict[str, str]]:
    """Local PDFs join the catalog, each document once.

    A file is the paper that came from the same path before (its content may have changed); else
    the paper whose cached file has the same sha256 (a renamed file keeps its paper and its
    vectors; a copy adds nothing); else the reading-list paper named by its stem (`<id>.pdf` fills
    it; by its slug only when no file is named exactly so, and one file per paper in one import:
    "Otter.pdf" and "otter.pdf" are two papers); else a new user paper whose id comes from the file
    name, or the PDF's title when the name says nothing (CJK, "download (1)"), or a short content
    hash. No file ever replaces another paper's cached file. With `forget_missing` (a watched
    folder), user papers whose file was in one of `dirs` and is gone leave the catalog and the cache.

    Returns the catalog and, per paper id, why a given file was refused.
    """
    dirs = list(dirs)
    refused: dict[str, str] = {}
    changed = False
    for folder in dirs:
        if not folder.is_dir():
            raise IngestError(f"--pdf-dir {folder}: not a folder")
    by_file = {p.file: p for p in papers if p.file}
    contents: dict[str, str] | None = None  # sha256 -> paper id, built when first needed
    files = [f for folder in dirs for f in folder_pdfs(folder)]
    stems = {f.stem for f in files}
    filled: dict[str, str] = {}  # paper id -> the file that filled it in this import
    for src in files:
        path = str(src.resolve())
        try:
            sha = sha256_file(src)
        except OSError as exc:
            log.warning("cannot read %s (%s); skipped", src, exc)
            continue
        paper = by_file.get(path)
        if paper is None:
            if contents is None:
                contents = identity.content_index(cached_files(settings, papers))
            other = catalog.find(papers, contents.get(sha, ""))
            if other is not None:
                if other.origin == "user" and other.file and not Path(other.file).exists():
                    log.info("%s is %s, moved or renamed: kept, not indexed again", src, other.id)
                    by_file.pop(other.file, None)
                    other.file, by_file[path], changed = path, other, True
                else:
                    log.info("%s has the same content as %s: indexed once, as %s", src, other.id, other.id)
                continue
            slug = identity.useful_slug(src.stem)
            # by its exact stem, else by its slug when no file has that stem ("otter.pdf", not "Otter.pdf")
            named = catalog.find(papers, src.stem) or (
                catalog.find(papers, slug) if slug and slug not in stems else None)
            if named is not None and (named.origin == "reading-list" or not named.file) \
                    and filled.get(named.id, path) == path:  # two files never fill one paper
                paper = named
                filled[named.id] = path
        if paper is None:
            title = "" if identity.useful_slug(src.stem) else parse.pdf_file_title(src, settings.ocr)
            new_id = identity.paper_id((p.id for p in papers), src.stem, title, sha)
            paper = Paper(new_id, "", catalog.UNCATEGORIZED, file=path, origin="user")
            papers.append(paper)
            by_file[path] = paper
            changed = True
        try:
            parse.check_pdf_file(src)
        except parse.ParseError as exc:
            refused[paper.id] = f"{src}: {exc}"
            continue
        _copy_in(src, settings.pdf_dir / f"{paper.id}.pdf", sha)
        if contents is not None:
            contents.setdefault(sha, paper.id)
    if forget_missing:
        roots = [d.resolve() for d in dirs]
        for paper in [p for p in papers if p.origin == "user" and p.file]:
            file = Path(paper.file or "")  # never empty: the list keeps papers with a file
            if any(file.is_relative_to(r) for r in roots) and not file.exists():
                log.info("%s is gone from its folder: %s leaves the library", file, paper.id)
                papers.remove(paper)
                _forget_cached(settings, paper.id)
                changed = True
    if changed:
        catalog.save_library(settings, papers)
    return papers, refused


def remove(settings: Settings, paper_id: str) -> Paper:
    """Take a paper the user added out of the catalog and delete its cached PDF and pages (the next
    ingest drops its passages). Returns the removed paper; raises catalog.CatalogError for an id not
    in the catalog or a reading-list paper (edited in the reading list instead)."""
    paper = catalog.find(catalog.load_catalog(settings), paper_id)
    if paper is None:
        raise catalog.CatalogError(f"no paper {paper_id!r} in the library; `paperdojo papers` lists them")
    catalog.remove_paper(settings, paper_id)  # refuses a reading-list paper
    _forget_cached(settings, paper_id)
    return paper


def _forget_cached(settings: Settings, doc_id: str) -> None:
    for path in (settings.pdf_dir / f"{doc_id}.pdf", settings.pages_dir / f"{doc_id}.html",
                 settings.pages_dir / f"{doc_id}.md"):
        path.unlink(missing_ok=True)


def _download_all(settings: Settings, papers: list[tuple[Paper, Plan]], retry: bool,
                  progress: Progress) -> dict[str, str]:
    """Fetch what is not cached; returns the failure reason per paper id.

    Whatever goes wrong with one download (fetch.py turns every error into a FetchError; anything
    else is caught here too) fails that paper alone: the others are fetched and indexed.
    """
    failures: dict[str, str] = {}
    try:
        log_data: dict = read_json(settings.fetch_log, {}) or {}
    except (OSError, ValueError) as exc:
        log.warning("the download log %s is unreadable (%s); starting a new one", settings.fetch_log, exc)
        log_data = {}
    now = time.time()
    wanted = []
    for paper, plan in papers:
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
            except Exception as exc:  # noqa: BLE001 - one download's failure is that paper's alone
                if not isinstance(exc, DocumentError):
                    log.error("downloading %s failed", paper.id, exc_info=exc)
                failures[paper.id] = f"download failed: {exc}"
                log_data[paper.id] = {"url": plan.url, "error": failures[paper.id],
                                      "failed_at": time.time()}
            done += 1
            progress("download", done, len(wanted), paper.id)
    try:
        atomic_write_json(settings.fetch_log, log_data)
    except OSError as exc:
        log.warning("cannot write the download log %s (%s)", settings.fetch_log, exc)
    return failures


def obtain(settings: Settings, papers: list[Paper], retry: bool, progress: Progress
           ) -> tuple[dict[str, Path], dict[str, DocStatus]]:
    """The file of every paper, or its status (missing / failed) with the reason.

    Cached files are used as they are; the others are downloaded (a failure within the retry window
    is not tried again unless `retry`); a paywalled paper without an open copy is missing, with the
    path to drop its PDF at. Returns ({paper id: file}, {paper id: status})."""
    files: dict[str, Path] = {}
    statuses: dict[str, DocStatus] = {}
    to_fetch: list[tuple[Paper, Plan]] = []
    for paper in papers:
        if path := cached_file(settings, paper.id):
            files[paper.id] = path
            continue
        try:
            plan = paper.plan()
        except ValueError as exc:
            statuses[paper.id] = paper_status(paper, "failed", f"{exc} (fix its link in the library)")
            continue
        if plan.kind == "paywalled":
            where = settings.pdf_dir / f"{paper.id}.pdf"
            statuses[paper.id] = paper_status(paper, "missing",
                                              f"{plan.note}: get the PDF yourself and drop it at {where}")
        else:
            to_fetch.append((paper, plan))
    for pid, reason in _download_all(settings, to_fetch, retry, progress).items():
        failed = catalog.find(papers, pid)
        if failed is None:
            raise RuntimeError(f"{pid} was fetched but is not in the reading list")
        statuses[pid] = paper_status(failed, "failed", reason)
    for paper, _ in to_fetch:
        if paper.id not in statuses and (path := cached_file(settings, paper.id)):
            files[paper.id] = path
    return files, statuses


def paper_status(paper: Paper, status: str, reason: str = "", **kw: Any) -> DocStatus:
    """A paper's status record (with the link a person can open) before or without indexing."""
    plan_url = ""
    with contextlib.suppress(ValueError):
        plan_url = paper.plan().page_url or ""
    return DocStatus(paper.id, paper.title, paper.category, paper.origin, status, reason,
                     link=paper.link, page_url=plan_url, **kw)


# --------------------------------------------------------------------------- parse, chunk, embed
def parse_job(path: str, doc_id: str, title: str, ocr: bool = True,
               name: str = "") -> ParsedDoc | DocumentError:
    """`path` parsed; a document without a title of its own is called by its file's `name` ("download
    (1)", "تحسين": what the user knows it by), else by its id."""
    try:
        doc = parse.parse_file(Path(path), doc_id, title, ocr)
    except DocumentError as exc:
        return exc
    if doc.title == doc_id and name.strip():
        doc.title = name.strip()
    return doc


def user_file_name(paper: Paper) -> str:
    """The stem of the file a user paper came from ("" for a link or a reading-list paper)."""
    return Path(paper.file).stem if paper.origin == "user" and paper.file else ""


def _parse_inline(paper: Paper, path: Path, ocr: bool = True) -> ParsedDoc | Exception:
    try:
        return parse_job(str(path), paper.id, paper.title, ocr, user_file_name(paper))
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
            yield paper, _parse_inline(paper, path, settings.ocr)
        return
    ctx = multiprocessing.get_context("spawn")  # no fork after torch has started its threads
    with ProcessPoolExecutor(settings.parse_workers, mp_context=ctx, initializer=watch_parent,
                             initargs=(os.getpid(),)) as pool:
        futures: list[Future] = [pool.submit(parse_job, str(path), p.id, p.title, settings.ocr,
                                             user_file_name(p)) for p, path in jobs]
        for (paper, path), fut in zip(jobs, futures, strict=True):
            try:
                yield paper, fut.result()
            except BrokenProcessPool as exc:
                log.warning("parser worker failed (%s); parsing %s in this process", exc, paper.id)
                yield paper, _parse_inline(paper, path, settings.ocr)


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


def _given(texts: list[str], vectors: np.ndarray) -> Callable[[Any], Pending]:
    """A `submit` for the embedding cache that hands back vectors made elsewhere."""
    by_text = dict(zip(texts, vectors, strict=True))
    return lambda missing: (lambda: np.stack([by_text[t] for t in missing]).astype(np.float32))


def _indexed_status(paper: Paper, path: Path, sha: str, key: str, doc: ParsedDoc,
                    n_chunks: int, reused: bool) -> DocStatus:
    status = paper_status(paper, "indexed", file=str(path), sha256=sha, key=key, pages=len(doc.pages),
                     chunks=n_chunks, warnings=list(doc.warnings), reused=reused)
    status.title = paper.title or doc.title
    return status


# --------------------------------------------------------------------------- the run
def ingest(settings: Settings, pdf_dirs: Iterable[Path] = (), only: Iterable[str] | None = None,
           rebuild: bool = False, retry: bool = False, progress: Progress | None = None,
           embedder: Embedder | None = None, forget_missing: bool = False,
           stage: Stage | None = None) -> IngestReport:
    """Bring the index up to date with the catalog; returns what happened to every paper.

    `stage` runs parse, chunk and embed elsewhere (e.g. `ray_ingest.RayStage`); its results go
    through the same part and generation writers as the local path's.

    The same content is indexed once: a paper whose file has the sha256 of a paper before it (in
    catalog order, or one kept from the live index with `only`) is a "duplicate" of it.
    `forget_missing` is for watched folders (see import_pdf_dirs). Raises IngestError on an `only`
    id the catalog does not have. The stages, in order: collect the papers and their files, reuse
    the parts that are still valid, parse + chunk + embed the others, publish the generation.
    """
    started = time.perf_counter()
    progress = progress or _noop
    with store.writer_lock(settings.index_dir):
        store.clean_stale(settings.index_dir)
        run = _collect(settings, list(pdf_dirs), only, forget_missing, rebuild)
        selected = [p for p in run.papers if not run.only_ids or p.id in run.only_ids]
        files, run.statuses = obtain(settings, selected, retry, progress)
        todo = _reuse_parts(run, selected, files)
        run.report.reused_docs = len(run.parts)
        _carry_over(settings, run.papers, run.only_ids, run.previous, run.parts, run.statuses)
        embedder = embedder or Embedder(settings)
        cache = EmbeddingCache(settings.index_dir / "embed-cache.sqlite", embedder.model_id)
        if rebuild:
            cache.clear()
        _index_new(run, todo, embedder, cache, progress, stage)
        _publish(run, embedder, cache)
    run.report.seconds = time.perf_counter() - started
    return run.report


_Todo = tuple[Paper, Path, str, str]  # a paper to index: its file, the file's sha256, its part's key


@dataclass
class _Run:
    """One ingest run's state, handed from stage to stage."""

    settings: Settings
    papers: list[Paper]  # the whole catalog, with the papers of the PDF folders
    refused: dict[str, str]  # paper id -> why a new file for it was refused
    only_ids: set[str]  # empty: every paper
    previous: dict | None  # the live index's manifest
    rebuild: bool
    fp: dict = field(default_factory=dict)  # fingerprint(settings)
    statuses: dict[str, DocStatus] = field(default_factory=dict)
    parts: dict[str, tuple[ParsedDoc, list, np.ndarray]] = field(default_factory=dict)  # id -> indexed
    report: IngestReport = field(default_factory=lambda: IngestReport([]))


def _collect(settings: Settings, pdf_dirs: list[Path], only: Iterable[str] | None, forget_missing: bool,
             rebuild: bool) -> _Run:
    """The catalog with the PDF folders imported, and the live manifest (None when there is none or it
    is corrupt). Raises IngestError on an `only` id the catalog does not have."""
    papers, refused = import_pdf_dirs(settings, catalog.load_catalog(settings), pdf_dirs, forget_missing)
    only_ids = set(only or [])
    unknown = only_ids - {p.id for p in papers}
    if unknown:
        raise IngestError(f"no paper {', '.join(sorted(unknown))}; `paperdojo papers` lists them")
    try:
        previous = store.read_manifest(settings.index_dir)
    except store.IndexCorrupt as exc:
        log.warning("%s; building a new one", exc)
        previous = None
    return _Run(settings, papers, refused, only_ids, previous, rebuild)


def _reuse_parts(run: _Run, selected: list[Paper], files: dict[str, Path]) -> list[_Todo]:
    """Sort the selected papers with a file: a duplicate of an earlier paper's content, a part still
    valid for its file and settings (reused), a remembered failure of the same file, or to index.
    Returns [(paper, file, sha256, part key)] to parse, chunk and embed."""
    index_dir = run.settings.index_dir
    run.fp = fingerprint(run.settings)
    todo: list[_Todo] = []
    first_with: dict[str, str] = {}  # sha256 -> the paper indexed with that content
    for pid, old in (run.previous or {}).get("docs", {}).items():
        if run.only_ids and pid not in run.only_ids and old.get("status") == "indexed" and old.get("sha256"):
            first_with.setdefault(old["sha256"], pid)
    for paper in selected:
        if paper.id in run.refused and paper.id not in files:
            run.statuses[paper.id] = paper_status(paper, "failed", run.refused[paper.id])
        if paper.id not in files:
            continue
        path = files[paper.id]
        sha = sha256_file(path)
        same = first_with.setdefault(sha, paper.id)
        if same != paper.id:
            why = f"the same file as {same}: indexed once, as {same}"
            run.statuses[paper.id] = paper_status(paper, "duplicate", why, file=str(path), sha256=sha,
                                                  same_as=same)
            continue
        key = store.part_key(sha + "\n" + paper.title, run.fp)
        part = None if run.rebuild else store.load_part(index_dir, paper.id, key)
        known = (run.previous or {}).get("docs", {}).get(paper.id, {})
        same_as = (run.previous or {}).get("docs", {}).get(known.get("same_as", ""), {})
        if (not part and not run.rebuild and known.get("status") == "duplicate" and known.get("sha256") == sha
                and known["same_as"] in files and same_as.get("status") == "indexed"
                and same_as.get("sha256") == sha256_file(files[known["same_as"]])):
            # the same text as a paper still here, unchanged (`_same_text`): said again, not parsed again
            run.statuses[paper.id] = DocStatus(**known)
            continue
        if not part and not run.rebuild and known.get("status") == "failed" and known.get("key") == key:
            # the same file under the same settings failed to parse before (its own fault, e.g.
            # image-only with OCR off, encrypted, broken): say so again without parsing (or OCR) it
            run.statuses[paper.id] = paper_status(paper, "failed", known.get("reason", ""), file=str(path),
                                                  sha256=sha, key=key)
            continue
        if part:
            run.parts[paper.id] = part
            run.statuses[paper.id] = _indexed_status(paper, path, sha, key, part[0], len(part[1]), True)
        else:
            todo.append((paper, path, sha, key))
    return todo


def _index_new(run: _Run, todo: list[_Todo], embedder: Embedder,
               cache: EmbeddingCache, progress: Progress, stage: Stage | None = None) -> None:
    """Parse, chunk and embed each paper of `todo` and save its part; parsing runs ahead in worker
    processes while one paper embeds and the next waits behind it, or all of it runs in `stage`
    (e.g. on Ray) and only the part writing happens here. A paper that fails gets a "failed" status
    (only its own fault is remembered with its key); the others go on."""
    meta = {p.id: (path, sha, key) for p, path, sha, key in todo}
    if todo and stage is None:
        embedder.start_workers(len(todo))  # they load the model while the first paper is parsed

    def failed(paper: Paper, exc: BaseException, logged: bool = False) -> None:
        path, sha, key = meta[paper.id]
        remembered = ""  # only a document's own fault is remembered (not retried until it changes)
        if isinstance(exc, DocumentError):
            reason, remembered = str(exc), key
        else:
            if not logged:
                log.error("indexing %s failed", paper.id, exc_info=exc)
            reason = f"unexpected error: {exc!r}"
        run.statuses[paper.id] = paper_status(paper, "failed", reason, file=str(path), sha256=sha,
                                              key=remembered)

    def finish(job: _Embedding) -> None:
        try:
            vectors = job.wait()
            store.save_part(run.settings.index_dir, job.key, job.doc, job.chunks, vectors)
        except Exception as exc:  # noqa: BLE001 - report it, keep the other papers
            failed(job.paper, exc)
            return
        path, sha, key = meta[job.paper.id]
        run.parts[job.paper.id] = (job.doc, job.chunks, vectors)
        run.statuses[job.paper.id] = _indexed_status(job.paper, path, sha, key, job.doc, len(job.chunks),
                                                     False)
        run.report.embedded_docs += 1
        run.report.embedded_chunks += len(job.chunks)

    embedding: list[_Embedding] = []  # at most two papers: one embedding, the next queued behind it
    jobs = [(p, path) for p, path, _, _ in todo]
    for n, (paper, staged) in enumerate(stage(run.settings, jobs) if stage and jobs else (), 1):
        progress("index", n, len(todo), paper.id)
        if isinstance(staged, Exception):
            failed(paper, staged, logged=True)  # by the stage
            continue
        doc, chunks, vectors = staged
        texts = [embedding_text(c, run.settings.embed_with_heading) for c in chunks]
        waiting = cache.start(texts, _given(texts, vectors))  # stores them for later runs
        finish(_Embedding(paper, doc, chunks, meta[paper.id][2], waiting))
    for n, (paper, result) in enumerate(_parsed_docs(run.settings, jobs) if stage is None else (), 1):
        ocr_pages = sum(p.ocr for p in result.pages) if isinstance(result, ParsedDoc) else 0
        progress("index", n - 1, len(todo), paper.id + (f" ({ocr_pages} page(s) read by OCR)"
                                                        if ocr_pages else ""))
        if isinstance(result, Exception):
            failed(paper, result, logged=True)  # by the parser
            continue
        try:
            embedding.append(_start_one(embedder, cache, run.settings, paper, result, meta[paper.id][2]))
        except Exception as exc:  # noqa: BLE001 - report it, keep the other papers
            failed(paper, exc)
        while len(embedding) > 1:
            finish(embedding.pop(0))
    for job in embedding:
        finish(job)
    progress("index", len(todo), len(todo), "")


def _publish(run: _Run, embedder: Embedder, cache: EmbeddingCache) -> None:
    """Fill in the report, name the categories, write a new generation if anything changed, then keep
    only the cached vectors and parts the index uses."""
    settings, report, parts = run.settings, run.report, run.parts
    for pid, why in run.refused.items():
        if pid in run.statuses and run.statuses[pid].status == "indexed":
            run.statuses[pid].warnings.append(f"kept the cached copy; refused {why}")
    _same_text(run)
    report.docs = [run.statuses[p.id] for p in run.papers if p.id in run.statuses]
    topics.fill_categories(settings, run.papers, report.docs, parts, embedder)
    _write_if_changed(settings, report, run.previous, parts, run.fp, run.rebuild, embedder)
    report.cached_vectors = cache.hits
    if report.wrote_index:
        cache.keep_only([embedding_text(c, settings.embed_with_heading)
                         for d in report.docs if d.status == "indexed" for c in parts[d.id][1]])
    cache.close()
    store.prune_parts(settings.index_dir, {d.id: d.key for d in report.docs if d.status == "indexed"})


def _same_text(run: _Run) -> None:
    """A paper whose parsed text is an earlier paper's (in catalog order) is a duplicate of it: the same
    document saved again (other bytes: a viewer's re-save, another producer, new metadata) is indexed
    once, as a second copy of the same file is. Texts shorter than `_SAME_TEXT_MIN` characters (an
    empty scan, a cover page) prove nothing and are left alone."""
    first: dict[str, str] = {}  # sha256 of the text, spaces and case folded -> the paper indexed with it
    for paper in run.papers:
        status = run.statuses.get(paper.id)
        if status is None or status.status != "indexed" or paper.id not in run.parts:
            continue
        text = " ".join(run.parts[paper.id][0].text.split()).casefold()
        if len(text) < _SAME_TEXT_MIN:
            continue
        same = first.setdefault(sha256_text(text), paper.id)
        if same != paper.id:
            log.info("%s has the same text as %s: indexed once, as %s", paper.id, same, same)
            run.statuses[paper.id] = paper_status(
                paper, "duplicate",
                f"the same text as {same} (another copy of its PDF): indexed once, as {same}",
                file=status.file, sha256=status.sha256, same_as=same)
            del run.parts[paper.id]


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
            and previous.get("fingerprint") == fp and previous.get("format") == store.FORMAT_VERSION:
        current = store.current_generation(settings.index_dir)
        if current is None:
            raise RuntimeError(f"{settings.index_dir} has a manifest but no current generation")
        report.generation = current.name
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
               title: str | None = None, local_files: bool = True) -> Paper:
    """Register an arXiv id, a DOI, a URL or a local PDF as a user paper (not yet ingested).

    What is already in the library is returned as it is: a link naming the same document (by
    canonical source: `2201.12023v3` is the reading list's Alpa) or a file with the same content
    (by sha256). Raises ValueError for what is neither a link nor a readable file, ParseError for
    a file that is not a usable PDF.

    local_files=False (what a web client types: the files are the server's, not the user's): a
    path is refused without reading or naming anything on this machine; uploads come staged.
    """
    if not identity.pasted(spec).strip(" '\"<>"):  # "" was the current folder ("  is a folder")
        raise ValueError("nothing to add: give an arXiv id, a DOI, a URL or a PDF file")
    papers = catalog.load_catalog(settings)
    local = _local_path(spec)
    if not local_files and (local.exists() or _names_a_file(spec) or identity.pasted(spec).lower().startswith(
            "file://")):
        raise ValueError("give a link here: an arXiv id, a DOI or a URL (files on this server are not "
                         "read); upload a PDF of yours with the button beside it")
    if local.is_file():
        parse.check_pdf_file(local)
        sha = sha256_file(local)
        if existing := find_by_content(settings, papers, sha):
            log.info("%s has the same content as %s: nothing added", local, existing.id)
            return existing
        title = title or parse.pdf_file_title(local, settings.ocr)
        new_id = identity.paper_id((p.id for p in papers), title or "", local.stem, sha)
        paper = Paper(new_id, title or "", category or catalog.UNCATEGORIZED,
                      file=str(local.resolve()), origin="user")
        _copy_in(local, settings.pdf_dir / f"{new_id}.pdf", sha)
        catalog.add_paper(settings, paper)
        return paper
    if local.is_dir():
        raise ValueError(f"{spec} is a folder, not a paper: index its PDFs with `paperdojo ingest --pdf-dir "
                         f"{spec}`, or follow it with `paperdojo watch {spec}`")
    if _names_a_file(spec) or identity.pasted(spec).lower().startswith("file://"):
        raise ValueError(f"no such file: {spec} (looked in {local.resolve().parent}); check the path")
    spec = identity.with_scheme(spec)  # "proceedings.mlsys.org/paper/x.pdf" is an https link
    plan = resolve(spec)  # raises ValueError for what is neither a link nor an arXiv id / DOI
    if existing := catalog.find_by_source(papers, spec):
        return existing
    aid = identity.arxiv_id(spec, keep_version=False)
    taken = [p.id for p in papers]
    if aid:
        new_id = identity.paper_id(taken, f"arxiv-{aid}")
    else:
        name = PurePosixPath(urlparse(plan.url or spec).path).stem
        new_id = identity.paper_id(taken, name, title or "", identity.canonical_source(spec) or spec)
    paper = Paper(new_id, title or "", category or catalog.UNCATEGORIZED, link=spec, origin="user")
    catalog.add_paper(settings, paper)
    return paper


def _local_path(spec: str) -> Path:
    """The file `spec` names: as written, else as pasted (`identity.pasted`: a path copied with
    quotes around it) or as a file:// URL ("file:///home/a/x%20y.pdf", a browser's address bar)."""
    local = Path(spec).expanduser()
    if local.exists():
        return local
    bare = identity.pasted(spec)
    if bare.lower().startswith("file://"):
        return Path(unquote(urlparse(bare).path))
    return Path(bare).expanduser() if Path(bare).expanduser().exists() else local


def _names_a_file(spec: str) -> bool:
    """Is `spec` written as a file path ("paper.pdf", "./x", "/home/a/x", "~/x", "C:\\x") rather than a
    link, an arXiv id or a DOI? ("arxiv.org/pdf/x.pdf" is a link, "cs/0501001" an arXiv id.)"""
    spec = spec.strip()
    if "://" in spec or identity.arxiv_id(spec) or identity.doi_of(spec):
        return False
    if identity.with_scheme(spec).startswith("https://"):  # a host and a path without a scheme
        return False
    return spec.lower().endswith(".pdf") or spec.startswith(("/", "./", "../", "~", ".\\", "..\\")) \
        or bool(re.match(r"^[a-zA-Z]:[\\/]", spec))


@dataclass
class Added:
    """What `add` did: the paper the source is (new or already known), its status, and one line
    for the user."""

    paper: Paper
    status: DocStatus
    known: bool  # the source or its content was already in the library
    message: str


def add(settings: Settings, spec: str, category: str | None = None, title: str | None = None,
        progress: Progress | None = None, embedder: Embedder | None = None,
        local_files: bool = True) -> Added:
    """Register `spec` (see add_source) and index it; one paper per document.

    A link whose download turns out to hold a file already indexed under another paper does not
    stay as a second entry: it is removed again and the known paper is returned. Raises what
    add_source and ingest raise (ValueError, ParseError, IngestError, IndexBusy); a failed download
    is a status with its reason, not an exception.
    """
    before = {p.id for p in catalog.load_catalog(settings)}
    paper = add_source(settings, spec, category, title, local_files)
    known = paper.id in before
    report = ingest(settings, only=[paper.id], progress=progress, embedder=embedder)
    docs = {d.id: d for d in report.docs}
    status = docs[paper.id]
    if status.status == "duplicate" and not known and paper.origin == "user":
        catalog.remove_paper(settings, paper.id)
        _forget_cached(settings, paper.id)
        same = catalog.find(catalog.load_catalog(settings), status.same_as) or paper
        return Added(same, docs.get(same.id, status), True,
                     f"{spec} is the same {'file' if status.reason.startswith('the same file') else 'paper'} "
                     f"as {same.id} ({same.title or 'no title'}): nothing added")
    label = f"{paper.id} ({paper.title or status.title or 'no title'})"
    if known:
        message = f"already in the library as {label}: {status.status}"
    else:
        message = f"added {label}: {status.status}"
    if status.reason:
        message += f": {status.reason}"
    return Added(paper, status, known, message)
