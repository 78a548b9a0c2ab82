"""The Gradio study app: Ask (streamed, cited answers beside the highlighted page), Search, Library.

Only wiring lives here; the work is done by the library (Workspace, Answerer, find_sections,
render_page, ingest). Files served to the browser come only from the ingest cache.
"""

from __future__ import annotations

import html
import logging
import re
import shutil
import tempfile
from pathlib import Path

import gradio as gr

from paperdojo.answering.answer import Answer, Conversation
from paperdojo.answering.retrieve import EmptyQuery, Filters, find_sections
from paperdojo.app import safe
from paperdojo.app.pages import render_page
from paperdojo.library import ingest, parse, store
from paperdojo.records import DocumentError
from paperdojo.workspace import Workspace

log = logging.getLogger(__name__)
EXAMPLES = [
    "How does GPipe keep activation memory low?",
    "What four categories of operators does TVM distinguish for operator fusion?",
    "What is the difference between ZeRO stages 1, 2 and 3?",
    "How does Timeloop evaluate a mapping without cycle-accurate simulation?",
    "How does vLLM's PagedAttention share KV cache between parallel samples?",
]
CSS = """
.src-card {border:1px solid var(--border-color-primary); border-radius:10px; padding:10px 12px;
           margin-bottom:8px; background: var(--background-fill-secondary);}
.src-card .meta {color: var(--body-text-color-subdued); font-size: 0.9em;}
.src-card mark {background:#ffe066; padding:0 2px; border-radius:3px;}
#status {font-size: 0.9em; color: var(--body-text-color-subdued);}
"""
CATEGORIES = ["Auto-tuning", "Graph optimizations", "Graph scheduling", "Hardware design-space exploration",
              "End-to-end ML compiler frameworks", "Data layout"]


# --------------------------------------------------------------------------- rendering helpers
def _ocr_mark(src: dict) -> str:
    """" (OCR)" for a passage whose text was read by OCR from a page image."""
    return " (OCR)" if src.get("ocr") else ""


def source_card(src: dict) -> str:
    same = src["page_end"] == src["page_start"]
    pages = f"p. {src['page_start']}" + ("" if same else f"–{src['page_end']}") + _ocr_mark(src)
    link = (f' · <a href="{html.escape(src["link"])}" target="_blank">open the PDF at this page</a>'
            if src.get("link") else "")
    return (f'<div class="src-card"><b>[{src["n"]}] {safe.text(src["title"])}</b><br>'
            f'<span class="meta">{safe.text(src["section"])}, {pages}{link}</span>'
            f'<p>{safe.marked(src["passage"])}</p></div>')


def answer_markdown(ans: Answer) -> str:
    parts = [f"> ⚠️ {safe.text(note)}" for note in ans.notes]
    if ans.refused:
        parts.append(f"**{safe.text(ans.text)}**")
        if ans.nearest:
            parts.append("Nearest sections:\n" + "\n".join(
                f"- {safe.text(s.title)} — *{safe.text(s.section)}*, p. {s.page_start}" for s in ans.nearest))
    else:
        parts.append(safe.cited(ans.text))
        cited = ", ".join(f"[{s.n}] {s.chunk.title.split(':')[0]}, {s.chunk.section}, p. {s.chunk.page_start}"
                          + (" (OCR)" if s.chunk.ocr else "") for s in ans.cited)
        parts.append(f"<sub>Sources: {safe.text(cited)} · {safe.text(ans.mode)} · {ans.ms:.0f} ms</sub>")
    return "\n\n".join(parts)


def _file_link(path: Path | None, page: int) -> str:
    return f"/gradio_api/file={path}#page={page}" if path else ""


# --------------------------------------------------------------------------- the app
def build_app(ws: Workspace) -> gr.Blocks:
    def source_record(n: int, chunk, passage: str) -> dict:  # noqa: ANN001 - a Chunk
        """What the UI keeps of a cited or found passage (JSON-able, for gr.State)."""
        return {"n": n, "doc_id": chunk.doc_id, "title": chunk.title, "section": chunk.section,
                "page_start": chunk.page_start, "page_end": chunk.page_end, "text": chunk.text,
                "passage": passage, "link": _file_link(ws.pdf_path(chunk.doc_id), chunk.page_start),
                "ocr": chunk.ocr}

    def sources_of(ans: Answer) -> list[dict]:
        return [source_record(s.n, s.chunk, s.passage) for s in ans.sources]

    def page_image(src: dict | None):
        if not src:
            return None
        path = ws.pdf_path(src["doc_id"])
        if path is None:
            return None
        try:
            return render_page(path, src["page_start"], src["text"])[0]
        except Exception:  # noqa: BLE001 - a page that cannot render must not break the answer
            log.exception("rendering %s p.%s failed", src["doc_id"], src["page_start"])
            return None

    def choices(sources: list[dict], cited: set[int] | None = None) -> list[str]:
        """Radio labels; with `cited`, passages the answer did not use are marked."""
        return [f"[{s['n']}] {s['title'].split(':')[0]} — {s['section']}, p. {s['page_start']}"
                + _ocr_mark(s) + ("" if cited is None or s["n"] in cited else " (not cited)")
                for s in sources]

    def ask(message, history, conversation, papers, categories):  # noqa: ANN001, ANN202
        history = list(history or [])
        conversation = conversation or Conversation()
        keep = gr.update()
        if not (message or "").strip():
            gr.Warning("Type a question first.")
            yield history, "", conversation, [], keep, keep, keep
            return
        history += [{"role": "user", "content": safe.text(message, inline=False)},
                    {"role": "assistant", "content": "…"}]
        yield history, "", conversation, [], keep, keep, keep
        filters = Filters(set(papers or []), set(categories or []))
        streamed, ans = "", None
        try:
            for item in ws.answerer().stream(message, filters, conversation=conversation):
                if isinstance(item, Answer):
                    ans = item
                    break
                streamed += item  # a language model's words, as it writes them: data, escaped
                history[-1]["content"] = safe.cited(streamed)
                yield history, "", conversation, [], keep, keep, keep
        except store.IndexProblem as exc:
            history[-1]["content"] = f"⚠️ {safe.text(exc)}. Open the **Library** tab to build the index."
            yield history, "", conversation, [], keep, keep, keep
            return
        except EmptyQuery as exc:
            history[-1]["content"] = f"⚠️ {safe.text(exc)}"
            yield history, "", conversation, [], keep, keep, keep
            return
        full = answer_markdown(ans)
        if not streamed:  # an extractive answer: stream it in, a few words at a time
            words = full.split(" ")
            for end in range(4, len(words), 8):
                history[-1]["content"] = " ".join(words[:end])
                yield history, "", conversation, [], keep, keep, keep
        history[-1]["content"] = full  # the checked answer replaces what the model streamed
        sources = sources_of(ans)
        cited = {s.n for s in ans.cited}
        first = next((s for s in sources if s["n"] in cited), sources[0] if sources else None)
        opts = choices(sources, cited)
        value = opts[sources.index(first)] if first else None
        yield (history, "", conversation, sources, gr.update(choices=opts, value=value),
               source_card(first) if first else "", page_image(first))

    def show_source(choice, sources):  # noqa: ANN001, ANN202
        if not choice or not sources:
            return "", None
        n = int(re.match(r"\[(\d+)\]", choice).group(1))
        src = next((s for s in sources if s["n"] == n), None)
        return (source_card(src), page_image(src)) if src else ("", None)

    def search(topic, papers, categories):  # noqa: ANN001, ANN202
        if not (topic or "").strip():
            gr.Warning("Type a topic first.")
            return [], gr.update(choices=[], value=None), "", "", None
        try:
            results = find_sections(ws.answerer().retriever, topic, 10,
                                    Filters(set(papers or []), set(categories or [])))
        except store.IndexProblem as exc:
            return [], gr.update(choices=[], value=None), f"⚠️ {safe.text(exc)}", "", None
        found = [source_record(i, r.hits[0].chunk, r.snippet) for i, r in enumerate(results, 1)]
        listing = "".join(source_card(f) for f in found) or "Nothing found."
        opts = choices(found)
        first = found[0] if found else None
        return (found, gr.update(choices=opts, value=opts[0] if opts else None), listing,
                source_card(first) if first else "", page_image(first))

    def status_line() -> str:
        return safe.text(ws.status()[1])

    def library_rows() -> list[list]:
        return [[d.id, d.title, d.category, d.status, d.pages or "", d.chunks or "",
                 d.reason or "; ".join(d.warnings)] for d in ws.papers()]

    def folders_markdown() -> str:
        """Each watched folder's coverage and the files not indexed (escaped: names are data)."""
        lines = []
        for folder in ws.folders():
            lines.append(f"**Watched folder** {safe.text(folder.folder)}: {folder.coverage}")
            lines += [f"- {safe.text(Path(f.path).name)}: {f.status}"
                      + (f" — {safe.text(f.reason)}" if f.reason else "")
                      for f in folder.files if f.status != "indexed"]
        return "\n".join(lines)

    def filter_choices():  # noqa: ANN202
        indexed = [d for d in ws.papers() if d.status == "indexed"]
        papers = [(f"{d.title.split(':')[0]} ({d.id})", d.id) for d in indexed]
        cats = sorted({d.category for d in indexed})
        return gr.update(choices=papers), gr.update(choices=cats)

    def progress_adapter(progress: gr.Progress):  # noqa: ANN202
        def report(stage: str, done: int, total: int, what: str) -> None:
            progress((done, max(total, 1)), desc=f"{stage}: {what}" if what else stage)
        return report

    def rebuild(progress=gr.Progress()):  # noqa: ANN001, ANN202, B008 - Gradio's way
        try:
            report = ws.run_ingest(ws.settings.app_pdf_dirs, progress=progress_adapter(progress))
        except store.IndexProblem as exc:
            return library_rows(), f"⚠️ {safe.text(exc)}", *filter_choices(), status_line()
        msg = (f"**{report.count('indexed')} indexed**, {report.count('failed')} failed, "
               f"{report.count('missing')} missing · {report.total_chunks} passages · {report.seconds:.0f} s")
        msg += "".join(f"\n- {safe.text(pid)} ({status}): {safe.text(reason)}"
                       for pid, status, reason in report.problems())
        return library_rows(), msg, *filter_choices(), status_line()

    def add(spec, category, upload, progress=gr.Progress()):  # noqa: ANN001, ANN202, B008
        spec = (spec or "").strip()
        try:
            if upload:
                spec = _stage_upload(Path(upload), ws)
            if not spec:
                return library_rows(), "Give an arXiv id, a URL, or upload a PDF.", *filter_choices(), \
                    status_line()
            added = ws.add(spec, (category or "").strip() or None, progress=progress_adapter(progress))
        except (DocumentError, ValueError, store.IndexProblem, ingest.IngestError) as exc:
            return library_rows(), f"⚠️ {safe.text(exc)}", *filter_choices(), status_line()
        doc = added.status
        msg = (f"**{safe.text(doc.title or doc.id)}**: {doc.status}"
               + (f" — {safe.text(doc.reason)}" if doc.reason else "")
               + (f" ({doc.chunks} passages)" if doc.chunks else "")
               + (f" · {safe.text(added.message)}" if added.known else ""))
        return library_rows(), msg, *filter_choices(), status_line()

    def next_question(categories, difficulty, asked):  # noqa: ANN001, ANN202
        asked = list(asked or [])
        try:
            _, progress, questions = ws.interview()
        except store.IndexProblem as exc:
            return f"⚠️ {safe.text(exc)}", None, None, asked, "", ""
        from paperdojo.study.interview import pick

        level = int(difficulty) if difficulty not in (None, "any") else None
        chosen = pick(questions, set(categories or []), set(), level)
        q = progress.next_question(chosen, set(asked))
        if q is None:
            return "No more questions with these filters.", None, None, asked, "", ""
        attempt = progress.record(q, "")
        asked.append(q.id)
        origin = "our bank" if q.source == "bank" else "made from the papers"
        text = (f"### {safe.text(q.text)}\n<sub>{safe.text(q.category)} · difficulty {q.difficulty} · "
                f"{origin}</sub>")
        return text, vars(q), attempt, asked, "", ""

    def save_draft(answer, attempt):  # noqa: ANN001, ANN202
        if attempt is not None:
            ws.interview()[1].update_answer(attempt, answer or "")

    def submit_answer(answer, qdict, attempt):  # noqa: ANN001, ANN202
        if not qdict:
            return "Press **Next question** first.", gr.update()
        from paperdojo.study.interview import Question

        grader, progress, _ = ws.interview()
        q = Question(**qdict)
        grade = grader.grade(q, answer or "")
        progress.graded(attempt, q, answer or "", grade)
        lines = [f"## Score: {grade.score:g}/10", *[f"- {safe.text(r)}" for r in grade.reasons]]
        if grade.covered:
            lines.append("**Covered:** " + ", ".join(safe.text(c.phrase) for c in grade.covered))
        if grade.missing:
            lines.append("**Missed** (and where the papers explain it):")
            lines += [f"- **{safe.text(c.phrase)}** — {safe.text(c.hit.chunk.title.split(':')[0])}, "
                      f"{safe.text(c.hit.chunk.section)}, p. {c.hit.chunk.page_start}" for c in grade.missing]
        if grade.rubric and grade.rubric.points:
            verdict = {True: "✅ met", False: "❌ missed", None: "no verdict"}
            lines.append("**Rubric from the papers** (by the language model):")
            lines += [f"- {safe.text(p.text)} &#91;{safe.text(p.source)}&#93;: {verdict[p.met]}"
                      for p in grade.rubric.points]
        lines += [f"> ⚠️ {safe.text(note)}" for note in grade.notes]
        if grade.follow_up:
            lines.append(f"**Follow-up:** {safe.text(grade.follow_up)}")
        lines += ["**Model answer, from the papers:**", answer_markdown(grade.model_answer)]
        return "\n\n".join(lines), mastery_rows()

    def mastery_rows() -> list[list]:
        try:
            mastery = ws.interview()[1].mastery()
        except store.IndexProblem:
            return []
        return [[kind, name, f"{level * 100:.0f}%", n] for kind in ("category", "paper")
                for name, (level, n) in sorted(mastery[kind].items(), key=lambda kv: kv[1][0])]

    with gr.Blocks(title="paperdojo") as demo:
        conversation = gr.State(None)
        answer_sources = gr.State([])
        search_results = gr.State([])
        gr.Markdown("# paperdojo\nStudy ML-compiler and ML-systems papers: ask interview questions, "
                    "get answers cited to the page.")
        status = gr.Markdown(status_line(), elem_id="status")
        with gr.Tabs():
            with gr.Tab("Ask", id="ask"), gr.Row(equal_height=False):
                with gr.Column(scale=5):
                    gr.Markdown(safe.text(ws.answer_mode()), elem_id="answer-mode")
                    chat = gr.Chatbot(label="Answers", height=520, elem_id="chat", buttons=["copy"])
                    with gr.Row():
                        question = gr.Textbox(placeholder="Ask an interview question, e.g. how does "
                                              "Alpa split parallelism?", show_label=False, scale=6,
                                              elem_id="question", submit_btn=False)
                        send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask-button")
                    with gr.Accordion("Filters: papers and categories", open=False):
                        paper_filter = gr.Dropdown([], multiselect=True, label="Papers")
                        category_filter = gr.Dropdown([], multiselect=True, label="Categories")
                    gr.Examples(EXAMPLES, inputs=question, label="Try one")
                with gr.Column(scale=4):
                    cite = gr.Radio([], label="Sources: pick one to see its page", elem_id="sources")
                    card = gr.HTML(elem_id="source-card")
                    page = gr.Image(label="Cited page (passage highlighted)", type="pil",
                                    interactive=False, elem_id="page-image", height=640,
                                    buttons=["fullscreen"])
            with gr.Tab("Search", id="search"):
                with gr.Row():
                    topic = gr.Textbox(placeholder="Find the sections about… e.g. activation recomputation",
                                       show_label=False, scale=6, elem_id="topic")
                    find = gr.Button("Search", variant="primary", scale=1, elem_id="search-button")
                with gr.Row(equal_height=False):
                    with gr.Column(scale=5):
                        hit_pick = gr.Radio([], label="Sections, best first", elem_id="sections")
                        listing = gr.HTML(elem_id="search-results")
                    with gr.Column(scale=4):
                        search_card = gr.HTML(elem_id="search-card")
                        preview = gr.Image(label="Page preview", type="pil", interactive=False,
                                           elem_id="search-page", height=640)
            with gr.Tab("Interview", id="interview"):
                asked = gr.State([])
                current = gr.State(None)
                attempt_id = gr.State(None)
                with gr.Row():
                    iv_categories = gr.Dropdown(CATEGORIES, multiselect=True, label="Categories", scale=3)
                    iv_level = gr.Dropdown(["any", "1", "2", "3"], value="any", label="Difficulty", scale=1)
                    next_btn = gr.Button("Next question", variant="primary", scale=1, elem_id="next-question")
                question_md = gr.Markdown("Press **Next question** to start a mock interview.",
                                          elem_id="interview-question")
                answer_box = gr.Textbox(lines=6, label="Your answer (saved as you type)",
                                        elem_id="interview-answer")
                submit_btn = gr.Button("Submit answer", elem_id="submit-answer")
                grade_md = gr.Markdown(elem_id="interview-grade")
                mastery_table = gr.Dataframe(mastery_rows(), headers=["by", "name", "mastery", "questions"],
                                             interactive=False, label="Your mastery", elem_id="mastery")
            with gr.Tab("Library", id="library"):
                lib_msg = gr.Markdown(elem_id="library-message")
                with gr.Row():
                    spec = gr.Textbox(label="Add a paper: arXiv id or URL", placeholder="2201.12023",
                                      scale=4, elem_id="add-source")
                    category = gr.Textbox(label="Category (optional)", scale=2)
                    upload = gr.File(label="…or upload a PDF", file_types=[".pdf"], scale=3,
                                     elem_id="upload")
                with gr.Row():
                    add_btn = gr.Button("Add and index", variant="primary", elem_id="add-button")
                    rebuild_btn = gr.Button("Build / update the whole index", elem_id="rebuild-button")
                table = gr.Dataframe(library_rows(), headers=["id", "title", "category", "status", "pages",
                                                              "passages", "reason / notes"],
                                     interactive=False, wrap=True, elem_id="library-table",
                                     column_widths=["13%", "27%", "14%", "8%", "6%", "8%", "24%"])
                gr.Markdown(folders_markdown, every=10 if ws.settings.watch_dirs else None,
                            elem_id="watched-folders")

        ask_outputs = [chat, question, conversation, answer_sources, cite, card, page]
        ask_inputs = [question, chat, conversation, paper_filter, category_filter]
        gr.on([send.click, question.submit], ask, ask_inputs, ask_outputs, concurrency_id="cpu",
              api_name="ask")
        cite.input(show_source, [cite, answer_sources], [card, page], concurrency_id="cpu")
        search_io = ([topic, paper_filter, category_filter],
                     [search_results, hit_pick, listing, search_card, preview])
        gr.on([find.click, topic.submit], search, *search_io, concurrency_id="cpu", api_name="search")
        hit_pick.input(show_source, [hit_pick, search_results], [search_card, preview], concurrency_id="cpu",
                       api_name="show_search_result")
        next_btn.click(next_question, [iv_categories, iv_level, asked],
                       [question_md, current, attempt_id, asked, answer_box, grade_md])
        answer_box.change(save_draft, [answer_box, attempt_id], None, trigger_mode="always_last",
                          show_progress="hidden")
        submit_btn.click(submit_answer, [answer_box, current, attempt_id], [grade_md, mastery_table],
                         concurrency_id="cpu")
        lib_outputs = [table, lib_msg, paper_filter, category_filter, status]
        add_btn.click(add, [spec, category, upload], lib_outputs, concurrency_limit=1)
        rebuild_btn.click(rebuild, None, lib_outputs, concurrency_limit=1)
        demo.load(filter_choices, None, [paper_filter, category_filter])
    return demo


def _stage_upload(tmp: Path, ws: Workspace) -> str:
    """Check an upload by content and stage it under the ingest cache with a sanitized name."""
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


def launch(ws: Workspace, host: str, port: int, auth: str = "", **kw: object) -> None:
    """Serve the app; a login is required when binding to anything but loopback."""
    loopback = host in {"127.0.0.1", "localhost", "::1"}
    if not loopback and ":" not in auth:
        raise SystemExit(f"refusing to serve on {host} without a login: set PAPERDOJO_AUTH=user:password")
    ok, message = ws.warm_up()  # load the index and the model before the first question
    log.info("paperdojo: %s", message)
    demo = build_app(ws)
    demo.queue(default_concurrency_limit=ws.settings.app_concurrency, max_size=128)
    user, _, password = auth.partition(":")
    demo.launch(server_name=host, server_port=port, auth=(user, password) if auth else None,
                allowed_paths=[str(ws.settings.pdf_dir)], max_file_size=f"{ws.settings.max_upload_mb}mb",
                theme=gr.themes.Soft(primary_hue="indigo", secondary_hue="amber"), css=CSS,
                footer_links=[], **kw)
