"""The Interview tab: a mock interview question, the user's answer (saved as typed), its grade."""

from __future__ import annotations

import gradio as gr

from paperdojo.app import safe
from paperdojo.app.common import answer_markdown
from paperdojo.library import store
from paperdojo.workspace import Workspace

CATEGORIES = ["Auto-tuning", "Graph optimizations", "Graph scheduling", "Hardware design-space exploration",
              "End-to-end ML compiler frameworks", "Data layout"]


def next_question(ws: Workspace, categories: list[str] | None, difficulty: str | None,
                  asked: list[str] | None) -> tuple:
    """(question Markdown, question dict, attempt id, asked ids, cleared answer, cleared grade)."""
    from paperdojo.study.interview import pick

    asked = list(asked or [])
    try:
        _, progress, questions = ws.interview()
    except store.IndexProblem as exc:
        return f"⚠️ {safe.text(exc)}", None, None, asked, "", ""
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


def grade_markdown(grade) -> str:  # noqa: ANN001 - a study.interview.Grade
    """A grade as Markdown: score, reasons, covered and missed concepts, rubric, model answer."""
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
    return "\n\n".join(lines)


def mastery_rows(ws: Workspace) -> list[list]:
    """[by, name, mastery %, questions] per category and paper, weakest first."""
    try:
        mastery = ws.interview()[1].mastery()
    except store.IndexProblem:
        return []
    return [[kind, name, f"{level * 100:.0f}%", n] for kind in ("category", "paper")
            for name, (level, n) in sorted(mastery[kind].items(), key=lambda kv: kv[1][0])]


def build(ws: Workspace) -> None:
    """The Interview tab's components and events."""
    from paperdojo.study.interview import Question

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
        answer_box = gr.Textbox(lines=6, label="Your answer (saved as you type)", elem_id="interview-answer")
        submit_btn = gr.Button("Submit answer", elem_id="submit-answer")
        grade_md = gr.Markdown(elem_id="interview-grade")
        mastery_table = gr.Dataframe(mastery_rows(ws), headers=["by", "name", "mastery", "questions"],
                                     interactive=False, label="Your mastery", elem_id="mastery")

    def on_next(categories, difficulty, asked_ids):  # noqa: ANN001, ANN202 - Gradio's values
        return next_question(ws, categories, difficulty, asked_ids)

    def save_draft(answer, attempt):  # noqa: ANN001, ANN202
        if attempt is not None:
            ws.interview()[1].update_answer(attempt, answer or "")

    def submit_answer(answer, qdict, attempt):  # noqa: ANN001, ANN202
        if not qdict:
            return "Press **Next question** first.", gr.update()
        grader, progress, _ = ws.interview()
        q = Question(**qdict)
        grade = grader.grade(q, answer or "")
        progress.graded(attempt, q, answer or "", grade)
        return grade_markdown(grade), mastery_rows(ws)

    next_btn.click(on_next, [iv_categories, iv_level, asked],
                   [question_md, current, attempt_id, asked, answer_box, grade_md])
    answer_box.change(save_draft, [answer_box, attempt_id], None, trigger_mode="always_last",
                      show_progress="hidden")
    submit_btn.click(submit_answer, [answer_box, current, attempt_id], [grade_md, mastery_table],
                     concurrency_id="cpu")
