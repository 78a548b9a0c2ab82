"""Watched folders: the library follows folders of PDFs as files come, change, move and go.

`watch` waits for changes with `watchfiles` (inotify / FSEvents / ReadDirectoryChangesW, polling
where those do not reach) and runs a sync after each batch: the same ingest as
`paperdojo ingest --pdf-dir`, with `forget_missing` so a deleted file leaves the library. Each sync
writes a new index generation atomically (or none when nothing changed), so readers switch whole.
A new or changed file is indexed; a renamed one keeps its paper by its sha256 and is not
embedded again; a deleted one leaves the index. Folders are read one level deep, like --pdf-dir.

`folder_status` says, per file, whether the live index holds its content: the coverage
("N of M files indexed") that `paperdojo papers` and the app's Library show.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import watchfiles

from paperdojo.library import catalog, store
from paperdojo.library.embed import Embedder
from paperdojo.library.ingest import IngestReport, folder_pdfs, ingest
from paperdojo.settings import Settings
from paperdojo.util import atomic_write_json, read_json, sha256_file

log = logging.getLogger(__name__)


@dataclass
class FileStatus:
    """One PDF of a watched folder: the paper that holds its content and that paper's status
    (indexed | failed | duplicate | pending: changed or new, not in the live index yet)."""

    path: str
    paper_id: str
    status: str
    reason: str = ""


@dataclass
class FolderStatus:
    """A watched folder and the status of each of its PDFs."""
    folder: str
    files: list[FileStatus] = field(default_factory=list)

    @property
    def indexed(self) -> int:
        """How many of its files are indexed."""
        return sum(f.status == "indexed" for f in self.files)

    @property
    def total(self) -> int:
        """How many files it lists."""
        return len(self.files)

    @property
    def coverage(self) -> str:
        """e.g. "3 of 4 files indexed"."""
        return f"{self.indexed} of {self.total} files indexed"

    def to_json(self) -> dict:
        """The folder, its counts and every file's status, for --json output."""
        return {"folder": self.folder, "indexed": self.indexed, "total": self.total,
                "files": [asdict(f) for f in self.files]}


# --------------------------------------------------------------------------- which folders
def remember(settings: Settings, folders: Iterable[Path]) -> list[Path]:
    """Add `folders` (made absolute) to the home's list of watched folders; returns the list."""
    known = watched_folders(settings, include_settings=False)
    for folder in folders:
        folder = Path(folder).expanduser().resolve()
        if not folder.is_dir():
            raise NotADirectoryError(f"{folder} is not a folder")
        if folder not in known:
            known.append(folder)
    atomic_write_json(settings.watched_file, {"folders": [str(f) for f in known]})
    return known


def watched_folders(settings: Settings, include_settings: bool = True) -> list[Path]:
    """Folders watched in this home (`paperdojo watch`, the app's --watch) and in the settings."""
    try:
        data = read_json(settings.watched_file, {}) or {}
    except (OSError, ValueError) as exc:
        log.warning("%s is unreadable (%s); no watched folders from it", settings.watched_file, exc)
        data = {}
    folders = [Path(f) for f in data.get("folders", [])]
    if include_settings:
        folders += [Path(f).expanduser().resolve() for f in settings.watch_dirs]
    return list(dict.fromkeys(folders))


# --------------------------------------------------------------------------- status
def folder_status(settings: Settings, folders: Iterable[Path], docs: dict[str, dict] | None = None
                  ) -> list[FolderStatus]:
    """Per watched folder, each PDF's status against the live index (`docs`: the manifest's
    per-paper records; read from the index when None). A missing folder has no files."""
    if docs is None:
        try:
            docs = (store.read_manifest(settings.index_dir) or {}).get("docs", {})
        except store.IndexProblem:
            docs = {}
    by_sha = {d["sha256"]: pid for pid, d in docs.items() if d.get("status") == "indexed" and d.get("sha256")}
    papers = catalog.load_catalog(settings)
    by_file = {p.file: p for p in papers if p.file}
    out = []
    for folder in folders:
        status = FolderStatus(str(folder))
        out.append(status)
        if not Path(folder).is_dir():
            continue
        for pdf in folder_pdfs(Path(folder)):
            try:
                info = pdf.stat()
                sha = _sha256(str(pdf), info.st_size, info.st_mtime_ns)
            except OSError as exc:
                status.files.append(FileStatus(str(pdf), "", "failed", f"cannot read it: {exc}"))
                continue
            paper = by_file.get(str(pdf.resolve())) or catalog.find(papers, pdf.stem)
            if sha in by_sha:
                pid = by_sha[sha]
                same = f"the same file as {pid}" if paper is not None and paper.id != pid else ""
                status.files.append(FileStatus(str(pdf), pid, "indexed", same))
            elif paper is not None and paper.id in docs and docs[paper.id].get("status") != "indexed":
                old = docs[paper.id]
                status.files.append(FileStatus(str(pdf), paper.id, old["status"], old.get("reason", "")))
            elif paper is not None and paper.id in docs:
                status.files.append(FileStatus(str(pdf), paper.id, "pending", "changed since it was indexed"))
            else:
                status.files.append(FileStatus(str(pdf), paper.id if paper else "", "pending",
                                               "not indexed yet"))
    return out


@functools.lru_cache(maxsize=4096)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    """sha256 of a file, remembered while its size and modification time stay the same (a status
    shown every few seconds does not re-read a folder of PDFs)."""
    return sha256_file(Path(path))


# --------------------------------------------------------------------------- syncing and watching
def sync(settings: Settings, folders: list[Path], embedder: Embedder | None = None,
         progress: Callable[[str, int, int, str], None] | None = None) -> IngestReport:
    """One pass: the library follows `folders` now (see the module doc). Raises IndexBusy while
    another ingest holds the index."""
    return ingest(settings, folders, progress=progress, embedder=embedder, forget_missing=True)


def _is_pdf(change: watchfiles.Change, path: str) -> bool:
    name = Path(path).name
    return name.lower().endswith(".pdf") and not name.startswith(".")


def watch(folders: list[Path], run_sync: Callable[[], object], stop: threading.Event | None = None,
          debounce_ms: int = 1600, retry_ms: int = 2000, force_polling: bool | None = None) -> None:
    """Call `run_sync` once, then after each batch of changes to PDFs in `folders`, until `stop` is
    set (or Ctrl-C). A sync refused with IndexBusy (another ingest runs) is tried again after
    `retry_ms`, so no change is lost; any other failure is logged and the next change tries again:
    the watcher itself never dies of a sync.

    `debounce_ms`: changes are grouped for up to this long (watchfiles' debounce), so a rename or
    a file copied in several writes makes one sync.
    """
    pending = True  # the first sync runs once the watcher is in place: nothing slips between
    for changes in watchfiles.watch(*folders, watch_filter=_is_pdf, debounce=debounce_ms, step=100,
                                    stop_event=stop, rust_timeout=retry_ms, yield_on_timeout=True,
                                    recursive=False, force_polling=force_polling):
        if changes:
            log.info("%d change(s) in the watched folders: %s", len(changes),
                     ", ".join(sorted({f"{c.name} {Path(p).name}" for c, p in changes}))[:300])
            pending = True
        if not pending:
            continue
        try:
            run_sync()
            pending = False
        except store.IndexBusy as exc:
            log.info("%s; trying again in %.0f s", exc, retry_ms / 1000)
        except Exception:  # noqa: BLE001 - one failed sync must not end the watch
            log.exception("syncing the watched folders failed; trying again at the next change")
            pending = False
        if stop is not None and stop.is_set():
            return
