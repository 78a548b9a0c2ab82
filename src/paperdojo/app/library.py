"""The Library tab: the papers and their status, adding one (id, URL or upload), rebuilding."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import gradio as gr

from paperdojo.app import safe
from paperdojo.app.common import filter_choices, status_line
from paperdojo.library import ingest, parse, store
from paperdojo.records import DocumentError
from paperdojo.settings import Settings
from paperdojo.workspace import READ_ONLY, Workspace


def library_rows(ws: Workspace) -> list[list]:
    """One row per catalog paper: id, title, category, status, pages, passages, reason / notes."""
    return [[d.id, d.title, d.category, d.status, d.pages or "", d.chunks or "",
             d.reason or "; ".join(d.warnings)] for d in ws.papers()]


def offline(reason: str) -> bool:
    """Does a failure's reason say the network could not be reached?"""
    return any(k in reason for k in ("Name or service not known", "Temporary failure in name resolution",
                                     "Network is unreachable", "nodename nor servname", "getaddrinfo failed"))


def summary(ws: Workspace) -> str:
    """The Library's first lines for the running home (see `summary_text`)."""
    return summary_text(ws.papers(), ws.settings)


def summary_text(papers: list[ingest.DocStatus], settings: Settings) -> str:
    """Counts by status, failures grouped by cause with one plain hint, and the paths of the home
    (`settings.home`) the app runs on (Markdown, escaped)."""
    count = {k: sum(d.status == k for d in papers) for k in ("indexed", "failed", "missing")}
    lines = [f'<span class="library-summary">{count["indexed"]} indexed · {count["failed"]} failed · '
             f'{count["missing"]} missing</span>']
    groups: dict[str, list[str]] = {}
    for d in papers:
        if d.status == "failed":
            cause = "offline" if offline(d.reason or "") else (d.reason or "unknown reason")
            groups.setdefault(cause, []).append(d.id)
    drop = settings.pdf_dir
    for cause, ids in groups.items():
        names = ", ".join(ids[:8]) + (f" and {len(ids) - 8} more" if len(ids) > 8 else "")
        if cause == "offline":
            hint = f"no network: upload the PDFs here, or drop them at {drop} as <id>.pdf"
        else:
            hint = cause
        lines.append(f"- {len(ids)} failed ({safe.text(names)}): {safe.text(hint)}")
    lines.append(f"<sub>This home: {safe.text(settings.home)} · PDFs: {safe.text(drop)} · "
                 f"index: {safe.text(settings.index_dir)}</sub>")
    return "\n\n".join(lines[:1]) + "\n\n" + "\n".join(lines[1:])


def progress_adapter(progress: gr.Progress) -> ingest.Progress:
    """Ingest's progress callback drawn as Gradio's progress bar."""
    def report(stage: str, done: int, total: int, what: str) -> None:
        progress((done, max(total, 1)), desc=f"{stage}: {what}" if what else stage)
    return report


def stage_upload(tmp: Path, ws: Workspace) -> str:
    """Check an upload by content and stage it under the ingest cache with a sanitized name.

    Raises ValueError (too large) or parse.ParseError (not a readable PDF).
    """
    limit = ws.settings.max_upload_mb << 20
    if tmp.stat().st_size > limit:
        raise ValueError(f"the upload is larger than {ws.settings.max_upload_mb} MiB")
    parse.check_pdf_file(tmp)  # by content, not by name
    staging = ws.settings.ingest_dir / "uploads"
    staging.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", tmp.stem)[:60].strip("-.") or "upload"
    with tempfile.NamedTemporaryFile(dir=staging, prefix=f"{name}-", suffix=".pdf", delete=False) as fh:
        dest = Path(fh.name)
    shutil.copyfile(tmp, dest)
    return str(dest)


def rebuild(ws: Workspace, progress: gr.Progress) -> tuple:
    """Build or update the whole index: (rows, message, paper filter, category filter, status)."""
    try:
        report = ws.run_ingest(ws.settings.app_pdf_dirs, progress=progress_adapter(progress))
    except store.IndexProblem as exc:
        return library_rows(ws), f"⚠️ {safe.text(exc)}", *filter_choices(ws), status_line(ws)
    msg = (f"**{report.count('indexed')} indexed**, {report.count('failed')} failed, "
           f"{report.count('missing')} missing · {report.total_chunks} passages · {report.seconds:.0f} s")
    msg += "".join(f"\n- {safe.text(pid)} ({status}): {safe.text(reason)}"
                   for pid, status, reason in report.problems())
    return library_rows(ws), msg, *filter_choices(ws), status_line(ws)


def add(ws: Workspace, spec: str | None, category: str | None, upload: str | None,
        progress: gr.Progress) -> tuple:
    """Add one paper (arXiv id, URL or uploaded PDF) and index it: the same outputs as `rebuild`."""
    spec = (spec or "").strip()
    try:
        ws.check_writable()  # before an upload is staged in the home
        if upload:
            spec = stage_upload(Path(upload), ws)
        if not spec:
            return library_rows(ws), "Give an arXiv id, a URL, or upload a PDF.", *filter_choices(ws), \
                status_line(ws)
        added = ws.add(spec, (category or "").strip() or None, progress=progress_adapter(progress))
    except (DocumentError, ValueError, store.IndexProblem, ingest.IngestError) as exc:
        return library_rows(ws), f"⚠️ {safe.text(exc)}", *filter_choices(ws), status_line(ws)
    doc = added.status
    msg = (f"**{safe.text(doc.title or doc.id)}**: {doc.status}"
           + (f" — {safe.text(doc.reason)}" if doc.reason else "")
           + (f" ({doc.chunks} passages)" if doc.chunks else "")
           + (f" · {safe.text(added.message)}" if added.known else ""))
    return library_rows(ws), msg, *filter_choices(ws), status_line(ws)


def folders_markdown(ws: Workspace) -> str:
    """Each watched folder's coverage and the files not indexed (escaped: names are data)."""
    lines = []
    for folder in ws.folders():
        lines.append(f"**Watched folder** {safe.text(folder.folder)}: {folder.coverage}")
        lines += [f"- {safe.text(Path(f.path).name)}: {f.status}"
                  + (f" — {safe.text(f.reason)}" if f.reason else "")
                  for f in folder.files if f.status != "indexed"]
    return "\n".join(lines)


def build(ws: Workspace, updates: list[gr.components.Component]) -> gr.Dataframe:
    """The Library tab; `updates` (paper filter, category filter, header status) follow each change.

    Returns the table, which the app refreshes when a new index generation is served.
    """
    with gr.Tab("Library", id="library"):
        lib_summary = gr.Markdown(summary(ws), elem_id="library-summary")
        lib_msg = gr.Markdown(f"⚠️ {safe.text(READ_ONLY)}" if ws.read_only else "", elem_id="library-message")
        with gr.Row(visible=not ws.read_only):
            spec = gr.Textbox(label="Add a paper: arXiv id or URL", placeholder="2201.12023",
                              scale=4, elem_id="add-source")
            category = gr.Textbox(label="Category (optional)", scale=2)
            upload = gr.File(label="…or upload a PDF", file_types=[".pdf"], scale=3, elem_id="upload")
        with gr.Row(visible=not ws.read_only):
            add_btn = gr.Button("Add and index", variant="primary", elem_id="add-button")
            rebuild_btn = gr.Button("Build / update the whole index", elem_id="rebuild-button")
        table = gr.Dataframe(library_rows(ws), headers=["id", "title", "category", "status", "pages",
                                                        "passages", "reason / notes"],
                             interactive=False, wrap=True, elem_id="library-table",
                             column_widths=["120px", "240px", "130px", "90px", "84px", "90px", "240px"])
        gr.Markdown(lambda: folders_markdown(ws), every=10 if ws.settings.watch_dirs else None,
                    elem_id="watched-folders")

    def on_add(spec, category, upload, progress=gr.Progress()):  # noqa: ANN001, ANN202, B008 - Gradio's way
        return add(ws, spec, category, upload, progress)

    def on_rebuild(progress=gr.Progress()):  # noqa: ANN001, ANN202, B008
        return rebuild(ws, progress)

    outputs = [table, lib_msg, *updates]
    add_btn.click(on_add, [spec, category, upload], outputs, concurrency_limit=1).then(
        lambda: summary(ws), None, lib_summary)
    rebuild_btn.click(on_rebuild, None, outputs, concurrency_limit=1).then(
        lambda: summary(ws), None, lib_summary)
    return table
