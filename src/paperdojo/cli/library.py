"""The library commands: `ingest`, `papers`, `watch`, `add` and `remove`."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich import box
from rich.markup import escape
from rich.table import Table

from paperdojo.cli.common import settings_of, workspace
from paperdojo.cli.output import STATUS_STYLE, console, out, with_progress
from paperdojo.library import ingest
from paperdojo.settings import Settings


def run_ingest(settings: Settings, pdf_dirs: Sequence[Path] = (), only: Sequence[str] = (),
               rebuild: bool = False, retry: bool = False, ray: str | None = None) -> ingest.IngestReport:
    """Ingest with a progress bar (library.ingest.ingest): `pdf_dirs` are read besides the
    catalog, `only` limits it to these paper ids. `ray`: None runs locally; "" on a local Ray started
    for the run; else a Ray cluster's address. Raises store.IndexBusy while another ingest writes."""
    stage = None
    if ray is not None:
        from paperdojo.library.ray_ingest import RayStage

        stage = RayStage(ray or None)
    return with_progress(lambda progress: ingest.ingest(settings, pdf_dirs, only or None, rebuild, retry,
                                                         progress, stage=stage))


def cmd_ingest(args: argparse.Namespace) -> int:
    """`paperdojo ingest`: fetch, parse, chunk and embed the catalog's papers (and the PDFs of
    --pdf-dir) into a new index generation; prints the problems and a summary. Exit status 1 when
    no paper is indexed."""
    settings = settings_of(args)
    report = run_ingest(settings, [Path(d) for d in args.pdf_dir], args.only, args.rebuild, args.retry,
                        args.ray)
    _print_docs(report.docs, only_problems=True)
    verb = f"wrote {report.generation}" if report.wrote_index else "index already up to date"
    if any("download failed" in d.reason for d in report.docs):
        console.print("failed downloads are retried after an hour, or now with --retry")
    console.print(
        f"[bold]{report.count('indexed')} indexed[/], {report.count('failed')} failed, "
        f"{report.count('missing')} missing"
        + (f", {report.count('duplicate')} duplicates" if report.count("duplicate") else "")
        + f"; {report.total_chunks} chunks; embedded "
        f"{report.embedded_chunks} chunks of {report.embedded_docs} papers "
        f"({report.cached_vectors} vectors from the cache), reused "
        f"{report.reused_docs}; {verb} in {report.seconds:.1f} s ({settings.index_dir})"
    )
    return 0 if report.count("indexed") else 1


def _print_docs(docs: Sequence[ingest.DocStatus], only_problems: bool = False) -> None:
    rows = [d for d in docs if not only_problems or d.status != "indexed" or d.warnings]
    if not rows:
        return
    table = Table(show_lines=False, expand=True, box=None if not out.is_terminal else box.SIMPLE)
    columns: list[tuple[str, dict[str, Any]]] = [
        ("id", {"style": "cyan", "no_wrap": True}), ("title", {"ratio": 3}), ("category", {"ratio": 1}),
        ("status", {}), ("pages", {"justify": "right"}), ("chunks", {"justify": "right"}),
        ("reason / notes", {"ratio": 3})]
    for col, kw in columns:
        table.add_column(col, **kw)
    for d in rows:
        style = STATUS_STYLE.get(d.status, "")
        notes = d.reason or "; ".join(d.warnings)
        table.add_row(escape(d.id), escape(d.title), escape(d.category), f"[{style}]{d.status}[/]",
                      str(d.pages or ""), str(d.chunks or ""), escape(notes))
    out.print(table)


def _print_folders(folders: Sequence) -> None:  # watch.FolderStatus
    """Each watched folder's coverage, then its files that are not indexed, with the reason."""
    for folder in folders:
        out.print(f"[bold]Watched folder {escape(folder.folder)}[/]: {folder.coverage}", highlight=False)
        for f in folder.files:
            if f.status != "indexed" or f.reason:
                style = STATUS_STYLE.get(f.status, "")
                what = f" ({escape(f.paper_id)})" if f.paper_id else ""
                out.print(f"  {escape(Path(f.path).name)}{what}: [{style}]{f.status}[/]"
                          + (f": {escape(f.reason)}" if f.reason else ""), highlight=False)


def cmd_papers(args: argparse.Namespace) -> int:
    """`paperdojo papers`: every catalog paper with its status and, for a failure, why, then
    the watched folders' coverage; --json for the statuses as JSON. --set-category ID NAME first moves
    a paper (Workspace.set_category: the live index is relabelled, not rebuilt; catalog.CatalogError
    for an unknown id)."""
    settings = settings_of(args)
    if args.set_category:
        paper_id, category = args.set_category
        paper = workspace(settings).set_category(paper_id, category)  # the live index follows
        console.print(f"[bold]{paper.id}[/] is now in {escape(paper.category)!r}")
    ws = workspace(settings)
    statuses = ws.papers()
    if args.json:
        print(json.dumps([s.to_json() for s in statuses], indent=1))
        return 0
    _print_docs(statuses)
    _print_folders(ws.folders())
    return 0


def cmd_watch(args: argparse.Namespace) -> int:
    """`paperdojo watch DIR...`: keep the library in step with folders of PDFs (new, changed,
    renamed, deleted) until Ctrl-C, or one sync with --once; --status shows each folder's coverage
    instead. Raises ValueError without folders or for a path that is no folder."""
    from paperdojo.library import watch

    settings = settings_of(args)
    if args.status:
        statuses = watch.folder_status(settings, watch.watched_folders(settings))
        if args.json:
            print(json.dumps([f.to_json() for f in statuses], indent=1))
        else:
            _print_folders(statuses)
        return 0
    if not args.dirs:
        raise ValueError("give the folders to watch: paperdojo watch DIR [DIR...]")
    try:
        folders = watch.remember(settings, [Path(d) for d in args.dirs])
    except NotADirectoryError as exc:
        raise ValueError(str(exc)) from exc

    # one workspace runs every sync: its embedder's worker processes stay up between changes
    ws = workspace(settings)

    def run_sync() -> None:
        report = with_progress(lambda progress: ws.run_ingest(list(folders), progress=progress,
                                                              forget_missing=True, switch=False))
        _print_docs(report.docs, only_problems=True)
        verb = f"wrote {report.generation}" if report.wrote_index else "the index already follows them"
        coverage = "; ".join(f"{Path(f.folder).name}: {f.coverage}"
                             for f in watch.folder_status(settings, folders))
        console.print(f"{coverage}; embedded {report.embedded_chunks} chunks of {report.embedded_docs} "
                      f"papers; {verb}", highlight=False)

    try:
        if args.once:
            run_sync()
            return 0
        console.print(f"watching {', '.join(str(f) for f in folders)}: add, change, rename or delete PDFs "
                      "there; Ctrl-C stops", highlight=False)
        watch.watch(folders, run_sync, debounce_ms=args.debounce_ms, force_polling=args.poll or None)
        return 0
    finally:
        ws.close()


def cmd_add(args: argparse.Namespace) -> int:
    """`paperdojo add SOURCE`: an arXiv id, DOI, URL or PDF file joins the library and is indexed
    at once (only catalogued with --no-ingest). Exit status 1 when it could not be indexed."""
    settings = settings_of(args)
    if args.no_ingest:
        paper = ingest.add_source(settings, args.source, args.category, args.title)
        console.print(f"[bold]{escape(paper.id)}[/] is in the library ({escape(paper.category)})")
        return 0
    added = with_progress(lambda progress: ingest.add(settings, args.source, args.category, args.title,
                                                       progress))
    _print_docs([added.status])
    console.print(escape(added.message), highlight=False)
    return 0 if added.status.status == "indexed" else 1


def cmd_remove(args: argparse.Namespace) -> int:
    """`paperdojo remove ID`: a paper the user added leaves the catalog, its cached files go,
    and the index is rebuilt without it (catalog.CatalogError for an unknown or reading-list id)."""
    settings = settings_of(args)
    ingest.remove(settings, args.id)
    report = run_ingest(settings)
    console.print(f"removed {escape(args.id)}; the index now has {report.count('indexed')} papers")
    return 0


def register(sub: argparse._SubParsersAction, llm: argparse.ArgumentParser) -> None:
    """Add `ingest`, `papers`, `watch`, `add` and `remove` to the CLI's sub-parsers (`llm`: the
    language-model flags)."""
    p = sub.add_parser("ingest", help="download, parse, chunk, embed and index the reading list")
    p.add_argument("--pdf-dir", action="append", default=[], metavar="DIR",
                   help="local PDFs: <id>.pdf fills that paper, other files become new papers")
    p.add_argument("--only", action="append", default=[], metavar="ID", help="just this paper")
    p.add_argument("--rebuild", action="store_true", help="ignore cached parts; re-embed all")
    p.add_argument("--retry", action="store_true", help="retry downloads that failed recently")
    p.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                   help="parse, chunk and embed on a Ray cluster (pip install 'paperdojo[ray]'); "
                        "without ADDRESS on a local Ray started for this run")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("papers", help="list papers with their status and category")
    p.add_argument("--json", action="store_true")
    p.add_argument("--set-category", nargs=2, metavar=("ID", "CATEGORY"),
                   help="put a paper in a category (any name; interview topics follow)")
    p.set_defaults(func=cmd_papers)

    p = sub.add_parser("watch", help="keep the library in step with folders of PDFs (new, changed, "
                       "renamed, deleted files) until Ctrl-C")
    p.add_argument("dirs", nargs="*", metavar="DIR", help="folders of PDFs (remembered for `papers`)")
    p.add_argument("--once", action="store_true", help="sync once and exit (e.g. from cron)")
    p.add_argument("--status", action="store_true", help="show each watched file's status and exit")
    p.add_argument("--json", action="store_true", help="with --status: JSON")
    p.add_argument("--poll", action="store_true", help="poll instead of OS events (network drives)")
    p.add_argument("--debounce-ms", type=int, default=1600, help="group changes over this long")
    p.set_defaults(func=cmd_watch)

    p = sub.add_parser("add", help="add a paper: an arXiv id, a DOI, a URL or a PDF file")
    p.add_argument("source")
    p.add_argument("--category")
    p.add_argument("--title")
    p.add_argument("--no-ingest", action="store_true", help="only register it")
    p.set_defaults(func=cmd_add)

    p = sub.add_parser("remove", help="remove a paper you added")
    p.add_argument("id")
    p.set_defaults(func=cmd_remove)
