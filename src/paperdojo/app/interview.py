"""The Interview tab: a mock interview question, the user's answer (saved as typed), its grade.

Topics are the library's categories (read when the page loads). An empty answer asks whether to skip
the question instead of recording 0; an answer typed but not submitted comes back after a reload,
and so do the chosen categories, the difficulty and the mastery table. Each handler reads and writes
the progress of the user the request belongs to: the logged-in account when the app requires a login
(`multi_user`), else the local user.
"""

from __future__ import annotations

import gradio as gr

from paperdojo.app import safe
from paperdojo.app.common import answer_markdown, citation_pdf_href, file_link, located
from paperdojo.library import store
from paperdojo.library.chunk import sentence_spans
from paperdojo.records import Chunk, page_range
from paperdojo.study.interview import library_categories
from paperdojo.util import short_title
from paperdojo.workspace import LibraryView, Workspace

EMPTY = ("Your answer is empty: **skip this question?** Press **Skip question** to move on (nothing is "
         "recorded), or type an answer and submit it.")


def next_question(ws: Workspace, user: str, categories: list[str] | None, difficulty: str | None,
                  asked: list[str] | None) -> tuple:
    """(question Markdown, question dict, attempt id, asked ids, cleared answer, cleared grade)."""
    from paperdojo.study.interview import pick

    asked = list(asked or [])
    try:
        _, progress, questions = ws.interview(user)
    except (store.IndexProblem, ValueError) as exc:
        return f"⚠️ {safe.text(exc)}", None, None, asked, "", ""
    level = int(difficulty) if difficulty not in (None, "any") else None
    chosen = pick(questions, set(categories or []), set(), level)
    q = progress.next_question(chosen, set(asked))
    if q is None:
        return no_question(len(questions), len(chosen), bool(categories) or level is not None), \
            None, None, asked, "", ""
    attempt = progress.record(q, "")
    asked.append(q.id)
    origin = "our bank" if q.source == "bank" else "made from the papers"
    text = (f"### {safe.text(q.text)}\n<sub>{safe.text(q.category)} · difficulty {q.difficulty} · "
            f"{origin}</sub>")
    return text, vars(q), attempt, asked, "", ""


def no_question(bank: int, chosen: int, filtered: bool) -> str:
    """Why no question comes next: `bank` questions for the library, `chosen` of them after the
    topic and difficulty filters (`filtered`: some filter is set), every chosen one asked already."""
    if not bank:
        return "The library gives no interview question yet: add papers in the **Library** tab."
    if not chosen:
        return "No question has these topics and this difficulty: pick other topics or **any** difficulty."
    where = "with these filters" if filtered else "the library's papers give"
    had = "the only question" if chosen == 1 else f"all {chosen} questions"
    return (f"You have had {had} {where} in this session. Widen the topics or the "
            "difficulty, add papers in the **Library** tab, or reload the page to go through them again.")


def grade_markdown(grade, ws: Workspace | None = None) -> str:  # noqa: ANN001 - a study.interview.Grade
    """A grade as Markdown: score, reasons, what earned each credit, missed concepts with the page
    of the sentence that explains them (a link opening the PDF there), rubric, model answer."""
    lines = [f"## Score: {grade.score:g}/10", *[f"- {safe.text(r)}" for r in grade.reasons]]
    if grade.covered:
        lines.append("**Credited** (concept ← your words):")
        lines += [f"- {safe.strong(c.phrase)} ← “{safe.text(c.earned_by)}”" for c in grade.covered]
    if grade.missing:
        lines.append("**Missed** (and where the papers explain it):")
        for c in grade.missing:  # the page of the sentence that explains it, when we find it
            ch = c.hit.chunk
            cite = concept_pointer(ws, ch, c.phrase) if ws else None
            first, last = (cite["page_start"], cite["page_end"]) if cite else (ch.page_start, ch.page_start)
            where = (f"{safe.text(short_title(ch.title))}, {safe.text(ch.section)}, "
                     f"{page_range(first, last)}")
            link = file_link(ws.pdf_path(ch.doc_id), first) if ws else ""
            lines.append(f"- {safe.strong(c.phrase)} — " + (f"[{where}]({link})" if link else where))
    if grade.rubric and grade.rubric.points:
        verdict = {True: "✅ met", False: "❌ missed", None: "no verdict"}
        lines.append("**Rubric from the papers** (by the language model):")
        lines += [f"- {safe.text(p.text)} &#91;{safe.text(p.source)}&#93;: {verdict[p.met]}"
                  for p in grade.rubric.points]
    lines += [f"> ⚠️ {safe.text(note)}" for note in grade.notes]
    if grade.follow_up:
        lines.append(f"**Follow-up:** {safe.text(grade.follow_up)}")
    model = grade.model_answer  # its [n] links open the PDF at the page (the Ask tab's sources are not here)
    lines += ["**Model answer, from the papers:**",
              answer_markdown(model, citation_pdf_href(ws, model) if ws else None)]
    return "\n\n".join(lines)


def concept_pointer(ws: Workspace, chunk: Chunk, phrase: str) -> dict | None:
    """The first sentence of `chunk` that names `phrase` (all its words), with that sentence's pages."""
    words = [w.lower() for w in phrase.split() if len(w) > 2]
    for s, e in sentence_spans(chunk.text, 0, len(chunk.text)):
        sentence = chunk.text[s:e]
        if words and all(w in sentence.lower() for w in words):
            return located(ws, chunk, sentence)
    return None


def mastery_rows(ws: Workspace, user: str) -> list[list]:
    """[by, name, mastery %, questions] of `user` per category and paper, weakest first; a paper by
    its short title, with its id when that differs ("Efficient Memory Management ... (pagedattention)")."""
    try:
        grader, progress, _ = ws.interview(user)
        manifest = grader.retriever.index.manifest
        mastery = progress.mastery(library_categories(manifest))
    except (store.IndexProblem, ValueError):
        return []
    docs = manifest.get("docs", {})

    def name_of(kind: str, name: str) -> str:
        title = short_title(docs.get(name, {}).get("title") or "") if kind == "paper" else ""
        return name if not title or title.lower() == name.lower() else f"{title} ({name})"

    return [[kind, name_of(kind, name), f"{level * 100:.0f}%", n] for kind in ("category", "paper")
            for name, (level, n) in sorted(mastery[kind].items(), key=lambda kv: kv[1][0])]


CATEGORIES = "interview_categories"  # the progress store's preference holding the chosen categories
DIFFICULTY = "interview_difficulty"  # ... and the chosen difficulty ("any", "1", "2" or "3")
LEVELS = ["any", "1", "2", "3"]


def restore(ws: Workspace, user: str) -> tuple:
    """On page load: the library's categories with `user`'s chosen ones (those still in the library),
    their chosen difficulty, their latest unfinished answer (question, attempt, text) if there is
    one, and their mastery table."""
    from paperdojo.study.interview import categories

    try:
        _, progress, questions = ws.interview(user)
        names = categories(questions)
        chosen = [c for c in progress.preference(CATEGORIES, []) if c in names]
        level = str(progress.preference(DIFFICULTY, "any"))
    except (store.IndexProblem, ValueError) as exc:
        return gr.update(choices=[]), gr.update(), f"⚠️ {safe.text(exc)}", None, None, [], "", "", []
    choices = gr.update(choices=names, value=chosen)
    level_choice = gr.update(value=level if level in LEVELS else "any")
    drafts = progress.drafts()
    if not drafts:
        return (choices, level_choice, gr.update(), None, None, [], gr.update(), gr.update(),
                mastery_rows(ws, user))
    attempt, q, draft = drafts[0]
    text = (f"### {safe.text(q.text)}\n<sub>{safe.text(q.category)} · your unfinished answer, restored</sub>")
    return choices, level_choice, text, vars(q), attempt, [q.id], draft, "", mastery_rows(ws, user)


def keep_categories(ws: Workspace, user: str, chosen: list[str] | None) -> None:
    """Keep `user`'s chosen categories in their progress store (restored by `restore`)."""
    ws.progress(user).set_preference(CATEGORIES, list(chosen or []))


def keep_difficulty(ws: Workspace, user: str, level: str | None) -> None:
    """Keep `user`'s chosen difficulty (one of LEVELS; anything else is "any") in their progress
    store (restored by `restore`)."""
    ws.progress(user).set_preference(DIFFICULTY, level if level in LEVELS else "any")


def submit(ws: Workspace, user: str, answer: str | None, qdict: dict | None, attempt: int | None) -> tuple:
    """(grade Markdown, mastery rows). An empty answer records nothing and asks to skip."""
    from paperdojo.study.interview import Question

    if not qdict:
        return "Press **Next question** first.", gr.update()
    if not (answer or "").strip():
        return EMPTY, gr.update()
    q = Question(**qdict)
    try:
        grader, progress, _ = ws.interview(user)
        grade = grader.grade(q, answer)
        progress.graded(attempt, q, answer, grade)
    except (store.IndexProblem, ValueError) as exc:  # no index, or the progress store failed
        return f"⚠️ {safe.text(exc)}", gr.update()
    return grade_markdown(grade, ws), mastery_rows(ws, user)


def topic_choices(ws: Workspace, view: LibraryView) -> dict:
    """The categories dropdown's choices for `view`'s generation (its questions' categories)."""
    from paperdojo.study.interview import all_questions, categories

    if view.answerer is None:
        return gr.update(choices=[])
    return gr.update(choices=categories(all_questions(ws.settings.questions_file, view.answerer)))


def build(ws: Workspace, multi_user: bool = False) -> gr.Dropdown:
    """The Interview tab's components and events; with `multi_user`, each request's progress is its
    logged-in account's (Gradio's gr.Request.username), else the local user's. Returns the
    categories dropdown, which the app refreshes when a new index generation is served."""
    with gr.Tab("Interview", id="interview"):
        asked = gr.State([])
        current = gr.State(None)
        attempt_id = gr.State(None)
        with gr.Row():
            iv_categories = gr.Dropdown([], multiselect=True, label="Categories (from your library)", scale=3,
                                        elem_id="interview-categories")
            iv_level = gr.Dropdown(LEVELS, value="any", label="Difficulty", scale=1,
                                   elem_id="interview-difficulty")
            next_btn = gr.Button("Next question", variant="primary", scale=1, elem_id="next-question")
        question_md = gr.Markdown("Press **Next question** to start a mock interview.",
                                  elem_id="interview-question")
        answer_box = gr.Textbox(lines=6, label="Your answer (saved as you type)", elem_id="interview-answer")
        with gr.Row():
            submit_btn = gr.Button("Submit answer", elem_id="submit-answer")
            skip_btn = gr.Button("Skip question", elem_id="skip-question")
        grade_md = gr.Markdown(elem_id="interview-grade")
        mastery_table = gr.Dataframe([], headers=["by", "name", "mastery", "questions"],
                                     interactive=False, label="Your mastery", elem_id="mastery")

    def user(request: gr.Request) -> str:
        try:
            return ws.user_for(request.username, multi_user)
        except ValueError as exc:  # an account removed while its session was open
            raise gr.Error(str(exc)) from exc

    def on_load(request: gr.Request):  # noqa: ANN202 - Gradio's values
        return restore(ws, user(request))

    def on_next(categories, difficulty, asked_ids, request: gr.Request):  # noqa: ANN001, ANN202
        return next_question(ws, user(request), categories, difficulty, asked_ids)

    def on_skip(attempt, categories, difficulty, asked_ids, request: gr.Request):  # noqa: ANN001, ANN202
        if attempt is not None:
            ws.progress(user(request)).skip(attempt)
        return next_question(ws, user(request), categories, difficulty, asked_ids)

    def save_draft(answer, attempt, request: gr.Request):  # noqa: ANN001, ANN202
        if attempt is not None:
            ws.progress(user(request)).update_answer(attempt, answer or "")

    def on_categories(chosen, request: gr.Request):  # noqa: ANN001, ANN202
        keep_categories(ws, user(request), chosen)

    def on_difficulty(level, request: gr.Request):  # noqa: ANN001, ANN202
        keep_difficulty(ws, user(request), level)

    def on_submit(answer, qdict, attempt, request: gr.Request):  # noqa: ANN001, ANN202
        return submit(ws, user(request), answer, qdict, attempt)

    question_outputs = [question_md, current, attempt_id, asked, answer_box, grade_md]
    gr.on(None, on_load, [], [iv_categories, iv_level, *question_outputs, mastery_table])
    next_btn.click(on_next, [iv_categories, iv_level, asked], question_outputs)
    skip_btn.click(on_skip, [attempt_id, iv_categories, iv_level, asked], question_outputs)
    iv_categories.input(on_categories, [iv_categories], None, show_progress="hidden")
    iv_level.input(on_difficulty, [iv_level], None, show_progress="hidden")
    answer_box.change(save_draft, [answer_box, attempt_id], None, trigger_mode="always_last",
                      show_progress="hidden")
    submit_btn.click(on_submit, [answer_box, current, attempt_id], [grade_md, mastery_table],
                     concurrency_id="cpu")
    return iv_categories
