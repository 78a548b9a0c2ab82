"""The Library tab: the papers and their status, adding one (id, URL or upload), removing one, rebuilding."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import gradio as gr

from paperdojo.app import safe
from paperdojo.app.common import filter_choices, status_line
from paperdojo.app.interview import topic_choices
from paperdojo.library import catalog, fetch, ingest, parse, store, topics
from paperdojo.records import DocumentError
from paperdojo.settings import Settings
from paperdojo.util import counted
from paperdojo.workspace import READ_ONLY, LibraryView, Workspace


def library_rows(ws: Workspace, view: LibraryView | None = None) -> list[list]:
    """One row per catalog paper: id, title, category, status, pages, passages, reason / notes (of
    `view`'s generation when given, else the live one)."""
    return [[d.id, d.title, d.category, d.status, d.pages or "", d.chunks or "",
             in_app_words(d.reason, ws) or "; ".join(d.warnings)] for d in (view or ws.view()).papers]


def in_app_words(reason: str, ws_or_read_only: Workspace | bool) -> str:
    """A failure's reason as the Library tab says it: the CLI's `paperdojo ingest --retry` becomes
    the row's Retry button, and dropping the PDF in the cache gets the upload box beside it. A
    read-only server has neither (its summary says to run the CLI where the index is written), so
    there the reason stays as it is."""
    read_only = ws_or_read_only if isinstance(ws_or_read_only, bool) else ws_or_read_only.read_only
    if read_only or not reason:
        return reason
    reason = reason.replace(f"run {fetch.RETRY_COMMAND}", "press Retry")
    reason = reason.replace(fetch.RETRY_COMMAND, "press Retry")
    return re.sub(r"\bdrop it at ", "upload it above or drop it at ", reason)


def offline(reason: str) -> bool:
    """Does a failure's reason say the network could not be reached? Not when a redirect led to a
    host that is not there (the link, not the network, is at fault)."""
    return "redirects" not in reason and any(k in reason for k in (
        "Name or service not known", "Temporary failure in name resolution", "Network is unreachable",
        "nodename nor servname", "getaddrinfo failed"))


def summary(ws: Workspace, view: LibraryView | None = None) -> str:
    """The Library's first lines for the running home (see `summary_text`), of `view`'s generation
    when given, else the live one."""
    return summary_text(list((view or ws.view()).papers), ws.settings, ws.read_only)


def refreshed(ws: Workspace, message: str) -> tuple:
    """The outputs of a Library action after it: (rows, message, paper filter, category filter,
    header status, Interview categories), all read from one generation (the newest). The Interview's
    categories follow at once: a category set here was missing from its dropdown until the app's
    next 10 s check."""
    view = ws.view()
    return (library_rows(ws, view), message, *filter_choices(ws, view), status_line(ws, view),
            topic_choices(ws, view))


def summary_text(papers: list[ingest.DocStatus], settings: Settings, read_only: bool = False) -> str:
    """Counts by status, failures grouped by cause with one plain hint (`in_app_words` unless
    `read_only`), and the paths of the home (`settings.home`) the app runs on (Markdown, escaped)."""
    count = {k: sum(d.status == k for d in papers) for k in ("indexed", "failed", "missing")}
    lines = [f'<span class="library-summary">{count["indexed"]} indexed · {count["failed"]} failed · '
             f'{count["missing"]} missing</span>']
    groups: dict[str, list[str]] = {}
    for d in papers:
        if d.status == "failed":
            cause = "offline" if offline(d.reason or "") else (in_app_words(d.reason, read_only)
                                                                or "unknown reason")
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
    # the failure lines are one list; the paths a paragraph of their own after it (one "\n" made
    # them a lazy continuation of the last item: "... as <id>.pdf This home: ...")
    return "\n\n".join(lines[:1]) + "\n\n" + "\n".join(lines[1:-1]) + "\n\n" + lines[-1]


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
    # the file's own name (an untitled paper is called by it, its id made from it), in a folder of
    # its own: a random suffix on the name went into the id and the title ("smith-2020-b6mkccp9")
    name = re.sub(r"[\x00-\x1f/\\]+", " ", tmp.stem)[:120].strip(" .") or "upload"
    dest = Path(tempfile.mkdtemp(dir=staging)) / f"{name}.pdf"
    shutil.copyfile(tmp, dest)
    return str(dest)


def rebuild(ws: Workspace, progress: gr.Progress) -> tuple:
    """Build or update the whole index: `refreshed`'s outputs (rows, message, filters, status, topics)."""
    try:
        report = ws.run_ingest(ws.settings.app_pdf_dirs, progress=progress_adapter(progress))
    except store.IndexProblem as exc:
        return refreshed(ws, f"⚠️ {safe.text(exc)}")
    msg = (f"**{report.count('indexed')} indexed**, {report.count('failed')} failed, "
           f"{report.count('missing')} missing · {report.total_chunks} passages · {report.seconds:.0f} s")
    msg += "".join(f"\n- {safe.text(pid)} ({status}): {safe.text(in_app_words(reason, ws))}"
                   for pid, status, reason in report.problems())
    return refreshed(ws, msg)


def add(ws: Workspace, spec: str | None, category: str | None, upload: str | None,
        progress: gr.Progress) -> tuple:
    """Add one paper (arXiv id, URL or uploaded PDF) and index it: the same outputs as `rebuild`."""
    spec = (spec or "").strip()
    try:
        ws.check_writable()  # before an upload is staged in the home
        if upload:
            spec = stage_upload(Path(upload), ws)
        if not spec:
            return refreshed(ws, "Give an arXiv id, a DOI or a URL, or upload a PDF.")
        # a typed spec is a link: files of the server are not the user's to add (or to peek into)
        added = ws.add(spec, (category or "").strip() or None, progress=progress_adapter(progress),
                       local_files=bool(upload))
    except (DocumentError, ValueError, store.IndexProblem, ingest.IngestError) as exc:
        return refreshed(ws, f"⚠️ {safe.text(exc)}")
    doc = added.status
    if added.known and doc.status == "indexed":  # said once: nothing new was indexed
        return refreshed(ws, f"Already indexed as {safe.strong(doc.title or doc.id)} ({safe.text(doc.id)}, "
                             f"{counted(doc.chunks, 'passage')}): nothing was added.")
    msg = (f"{safe.strong(doc.title or doc.id)}: {doc.status}"
           + (f" — {safe.text(in_app_words(doc.reason, ws))}" if doc.reason else "")
           + (f" ({counted(doc.chunks, 'passage')})" if doc.chunks else "")
           + (f" · {safe.text(added.message)}" if added.known else ""))
    return refreshed(ws, msg)


def retry(ws: Workspace, paper_id: str, progress: gr.Progress) -> tuple:
    """Fetch and index one paper again (a Library row's Retry button): the same outputs as `rebuild`."""
    try:
        doc = ws.retry(paper_id, progress=progress_adapter(progress))
    except (catalog.CatalogError, store.IndexProblem, ingest.IngestError) as exc:
        return refreshed(ws, f"⚠️ {safe.text(exc)}")
    msg = f"{safe.strong(doc.id)}: {doc.status}" + (f" — {safe.text(in_app_words(doc.reason, ws))}"
                                                    if doc.reason else "")
    if doc.status == "failed" and offline(doc.reason or ""):
        msg += f"\n\nStill no network: upload the PDF above, or drop it at {safe.text(ws.settings.pdf_dir)}"
    return refreshed(ws, msg)


def set_category(ws: Workspace, paper_id: str | None, category: str | None) -> tuple:
    """Move a paper to another category (typed or picked; Workspace.set_category relabels the index,
    milliseconds): the same outputs as `rebuild`."""
    if not paper_id:
        msg = "Pick a paper first (or click its row)."
        return refreshed(ws, msg)
    try:
        paper = ws.set_category(paper_id, category or "")
    except (catalog.CatalogError, store.IndexProblem, ingest.IngestError) as exc:
        return refreshed(ws, f"⚠️ {safe.text(exc)}")
    msg = f"{safe.strong(paper.id)} is now in {safe.em(paper.category)}"
    return refreshed(ws, msg)


def remove(ws: Workspace, paper_id: str | None, progress: gr.Progress) -> tuple:
    """Remove the picked paper (one the user added, e.g. a failed add left behind) and re-index
    without it: the same outputs as `rebuild`. Refused on a read-only server (Workspace.remove)."""
    if not paper_id:
        return refreshed(ws, "Pick a paper first (or click its row).")
    try:
        paper = ws.remove(paper_id, progress=progress_adapter(progress))
    except (catalog.CatalogError, store.IndexProblem, ingest.IngestError) as exc:
        return refreshed(ws, f"⚠️ {safe.text(exc)}")
    title = f" ({safe.text(paper.title)})" if paper.title else ""
    return refreshed(ws, f"Removed {safe.strong(paper.id)}{title} from the library")


def editor_choices(ws: Workspace) -> tuple[list[tuple[str, str]], list[str]]:
    """The category editor's choices: every catalog paper as (label, id), and the categories in use
    with the built-in ML-systems topics (library.topics) a paper can be moved to."""
    papers = ws.papers()
    names = {d.category for d in papers} | set(topics.BUILTIN_TOPICS)
    return [(f"{d.id}: {d.title[:60]}", d.id) for d in papers], sorted(names)


def paper_choices(ws: Workspace) -> tuple[dict, dict]:
    """Updates for the category editor after the library changed (see `editor_choices`)."""
    papers, categories = editor_choices(ws)
    return gr.update(choices=papers), gr.update(choices=categories)


def failed_papers(ws: Workspace) -> list[ingest.DocStatus]:
    """The papers whose last ingest failed, in catalog order (each gets a Retry button)."""
    return [d for d in ws.papers() if d.status == "failed"]


def folders_markdown(ws: Workspace) -> str:
    """Each watched folder's coverage and the files not indexed (escaped: names are data)."""
    lines = []
    for folder in ws.folders():
        lines.append(f"**Watched folder** {safe.text(folder.folder)}: {folder.coverage}")
        lines += [f"- {safe.text(Path(f.path).name)}: {f.status}"
                  + (f" — {safe.text(f.reason)}" if f.reason else "")
                  for f in folder.files if f.status != "indexed"]
    return "\n".join(lines)


def build(ws: Workspace, updates: list[gr.components.Component]) -> tuple[gr.Dataframe, gr.Markdown]:
    """The Library tab; `updates` (paper filter, category filter, header status, Interview categories)
    follow each change (`refreshed`).

    Returns the table and the summary (counts), which the app refreshes on each page load and when
    a new index generation is served.
    """
    with gr.Tab("Library", id="library"):
        # no counts or rows in the page's build (stale on a page opened after a shell's ingest): the
        # app's load event fills them from the generation that answers (ui.build_app's `follow`)
        lib_summary = gr.Markdown("Reading the library…", elem_id="library-summary")
        lib_msg = gr.Markdown(f"⚠️ {safe.text(READ_ONLY)}" if ws.read_only else "", elem_id="library-message")
        with gr.Row(visible=not ws.read_only):
            spec = gr.Textbox(label="Add a paper: arXiv id, DOI or URL", placeholder="2201.12023",
                              scale=4, elem_id="add-source")
            category = gr.Textbox(label="Category (optional)", scale=2)
            upload = gr.File(label="…or upload a PDF", file_types=[".pdf"], scale=3, elem_id="upload")
        with gr.Row(visible=not ws.read_only):
            add_btn = gr.Button("Add and index", variant="primary", elem_id="add-button")
            rebuild_btn = gr.Button("Build / update the whole index", elem_id="rebuild-button")
        table = gr.Dataframe([], headers=["id", "title", "category", "status", "pages",
                                                        "passages", "reason / notes"],
                             interactive=False, wrap=True, elem_id="library-table",
                             column_widths=["120px", "240px", "130px", "90px", "84px", "90px", "240px"])
        with gr.Row(elem_id="category-editor", visible=not ws.read_only):
            paper_list, category_list = editor_choices(ws)
            edit_paper = gr.Dropdown(label="Paper", choices=paper_list, value=None, scale=3,
                                     elem_id="category-paper")
            edit_category = gr.Dropdown(label="New category (pick or type)", choices=category_list,
                                        value=None, allow_custom_value=True, scale=2, elem_id="category-name")
            edit_btn = gr.Button("Set category", scale=1, elem_id="category-button")
            remove_btn = gr.Button("Remove paper", variant="stop", scale=1, elem_id="remove-button")
        failed_box = gr.Column(elem_id="failed-papers")
        gr.Markdown(lambda: folders_markdown(ws), every=10 if ws.settings.watch_dirs else None,
                    elem_id="watched-folders")

    outputs = [table, lib_msg, *updates]

    def on_add(spec, category, upload, progress=gr.Progress()):  # noqa: ANN001, ANN202, B008 - Gradio's way
        return add(ws, spec, category, upload, progress)

    def on_rebuild(progress=gr.Progress()):  # noqa: ANN001, ANN202, B008
        return rebuild(ws, progress)

    def on_set_category(paper_id, category):  # noqa: ANN001, ANN202
        return set_category(ws, paper_id, category)

    def on_remove(paper_id, progress=gr.Progress()):  # noqa: ANN001, ANN202, B008
        return remove(ws, paper_id, progress)

    def on_select(evt: gr.SelectData):  # noqa: ANN202 - a click on a table row picks its paper
        row = evt.row_value if evt.row_value is not None else []
        return gr.update(value=row[0]) if row else gr.update()

    with failed_box:
        @gr.render(inputs=table)
        def failed_rows(_rows):  # noqa: ANN001, ANN202 - re-drawn whenever the table changes
            failed = failed_papers(ws)
            if not failed or ws.read_only:  # a read-only server cannot fetch: the summary says what to do
                return
            gr.Markdown(f"**{len(failed)} failed** — retry one when its cause is fixed:")
            for doc in failed:
                with gr.Row(elem_classes=["failed-row"]):
                    gr.Markdown(f"`{safe.text(doc.id)}` {safe.text(in_app_words(doc.reason or '', ws))}",
                                scale=5)
                    button = gr.Button(f"Retry {doc.id}", size="sm", scale=1,
                                       elem_classes=["retry-button"], elem_id=f"retry-{doc.id}")

                    def on_retry(progress=gr.Progress(), paper_id=doc.id):  # noqa: ANN001, ANN202, B008
                        return retry(ws, paper_id, progress)

                    button.click(on_retry, None, outputs, concurrency_limit=1).then(
                        lambda: summary(ws), None, lib_summary)

    add_btn.click(on_add, [spec, category, upload], outputs, concurrency_limit=1).then(
        lambda: (summary(ws), None), None, [lib_summary, upload])  # the upload box empties for the next
    rebuild_btn.click(on_rebuild, None, outputs, concurrency_limit=1).then(
        lambda: summary(ws), None, lib_summary)
    edit_btn.click(on_set_category, [edit_paper, edit_category], outputs, concurrency_limit=1).then(
        lambda: paper_choices(ws), None, [edit_paper, edit_category])
    remove_btn.click(on_remove, [edit_paper], outputs, concurrency_limit=1).then(
        lambda: (summary(ws), gr.update(value=None)), None, [lib_summary, edit_paper])
    table.select(on_select, None, edit_paper)
    table.change(lambda: paper_choices(ws), None, [edit_paper, edit_category])
    return table, lib_summary
