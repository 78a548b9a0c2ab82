"""The study commands: `interview` (a mock interview graded against the papers) and `progress`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich import box
from rich.markup import escape
from rich.table import Table

from paperdojo.cli.common import USER_HELP, positive_int, settings_of, workspace
from paperdojo.cli.output import console, out, print_answer
from paperdojo.settings import Settings
from paperdojo.util import counted, short_title


def _print_grade(grade) -> None:  # noqa: ANN001 - paperdojo.study.interview.Grade
    colour = "green" if grade.score >= 7 else "yellow" if grade.score >= 4 else "red"
    out.print(f"\n[bold {colour}]Score: {grade.score:g}/10[/]")
    for reason in grade.reasons:
        out.print(f"  - {escape(reason)}", highlight=False)
    if grade.covered:
        out.print("[green]Credited[/] (concept <- your words):")
        for c in grade.covered:
            out.print(f"  - [bold]{escape(c.phrase)}[/] <- \"{escape(c.earned_by)}\"", highlight=False)
    if grade.missing:
        out.print("[yellow]Missed:[/]")
        for c in grade.missing:
            ch = c.hit.chunk
            where = f"{short_title(ch.title)}, {ch.section}, p. {ch.page_start}"
            out.print(f"  - [bold]{escape(c.phrase)}[/]: {escape(where)}", highlight=False)
    if grade.rubric and grade.rubric.points:
        out.print("[bold]Rubric from the papers[/] (by the language model):")
        for point in grade.rubric.points:
            verdict = {True: "[green]met[/]", False: "[red]missed[/]", None: "[dim]no verdict[/]"}[point.met]
            out.print(f"  - {escape(point.text)} \\[{point.source}]: {verdict}", highlight=False)
    for note in grade.notes:
        out.print(f"[yellow]note:[/] {escape(note)}")
    if grade.follow_up:
        out.print(f"[bold]Follow-up:[/] {escape(grade.follow_up)}", highlight=False)
    out.print("[bold]Model answer (from the papers):[/]")
    print_answer(grade.model_answer)


def _read_answer(progress, attempt: int, draft: str = "") -> str | None:  # noqa: ANN001
    """Lines until an empty one; each line is stored as it comes (after `draft`, a restored answer).
    None at end of input."""
    lines: list[str] = draft.splitlines()
    while True:
        try:
            line = input("> " if not lines else "  ")
        except EOFError:
            return "\n".join(lines) if lines else None
        if not line.strip():
            return "\n".join(lines)
        lines.append(line)
        progress.update_answer(attempt, "\n".join(lines))


def _ask(prompt: str, default: bool) -> bool | None:
    """A yes/no question in the terminal; None at end of input."""
    try:
        reply = input(prompt).strip().lower()
    except EOFError:
        return None
    return default if not reply else reply.startswith("y")


def _interview_questions(settings: Settings, args: argparse.Namespace, answerer) -> list:  # noqa: ANN001
    """The questions matching --category / --paper / --difficulty: our bank, and unless --bank-only those
    generated from the papers. Raises ValueError on a category no indexed paper is in."""
    from paperdojo.study.interview import all_questions, categories, pick

    everything = all_questions(settings.questions_file, answerer, not args.bank_only)
    known = categories(everything)
    unknown = sorted(c for c in args.category or [] if c.lower() not in {k.lower() for k in known})
    if unknown:
        raise ValueError(f"no indexed paper is in {', '.join(map(repr, unknown))}; the library's categories: "
                         f"{', '.join(known)} (change one with `paperdojo papers --set-category ID NAME`)")
    return pick(everything, set(args.category or []), set(args.paper or []), args.difficulty)


def _unfinished(progress) -> list | None:  # noqa: ANN001 - paperdojo.study.interview.Progress
    """[(attempt, question, draft)] the user chose to continue from a session that ended mid-answer
    (the others are discarded); None at end of input."""
    todo: list = []
    for attempt, q, draft in progress.drafts():
        out.print(f"\n[bold]An unfinished answer[/] to: {escape(q.text)}", highlight=False)
        out.print(escape(draft), highlight=False)
        keep = _ask("Continue it? [Y/n] ", True)
        if keep is None:
            return None
        if keep:
            todo.append((attempt, q, draft))
        else:
            progress.discard(attempt)
    return todo


def _answer(progress, attempt: int, draft: str) -> str | None:  # noqa: ANN001
    """The user's answer; '' when they chose to skip an empty one, None at end of input."""
    while True:
        answer = _read_answer(progress, attempt, draft)
        if answer is None or answer.strip():
            return answer
        skip = _ask("Empty answer: skip this question? [y/N] ", False)
        if skip is None:
            return None
        if skip:
            return answer
        draft = ""


def cmd_interview(args: argparse.Namespace) -> int:
    """`paperdojo interview`: a mock interview in the terminal: -n questions among those matching
    the filters, due reviews first (Progress.next_question), each answer graded against the papers
    and saved as it is typed (an unfinished answer is offered again next time). Exit status 1 when no
    question matches; ValueError for a category no indexed paper is in."""
    from paperdojo.study.accounts import acting_user

    settings = settings_of(args)
    ws = workspace(settings)
    from paperdojo.answering.retrieve import Filters

    ws.check_filters(Filters(set(args.paper or [])))  # categories: _interview_questions (the bank's too)
    grader = ws.grader()
    questions = _interview_questions(settings, args, grader.answerer)
    if not questions:
        console.print("[red]no question matches these filters[/]")
        return 1
    progress = ws.progress(acting_user(settings))
    console.print(f"Mock interview: {counted(args.n, 'question')}. Answer in a few sentences; "
                  "an empty line submits, Ctrl-D stops. Your answers are saved as you type.")
    attempt: int | None
    todo = _unfinished(progress)  # (attempt, question, draft) restored from a session that ended mid-answer
    if todo is None:
        return 0
    asked: set[str] = {q.id for _, q, _ in todo}
    for i in range(1, args.n + 1):
        if todo:
            attempt, q, draft = todo.pop(0)
        else:
            next_q = progress.next_question(questions, asked)
            if next_q is None:
                break
            q = next_q
            attempt, draft = None, ""
        asked.add(q.id)
        origin = "our bank" if q.source == "bank" else "from the papers"
        out.print(f"\n[bold]Question {i} of {args.n}[/] [dim]({escape(q.category)}, difficulty "
                  f"{q.difficulty}, {origin})[/]")
        out.print(q.text, markup=False, highlight=False)
        if attempt is None:
            attempt = progress.record(q, "")
        elif draft:
            out.print("[dim]your answer so far (type more lines, an empty line submits):[/]")
            out.print(escape(draft), highlight=False)
        answer = _answer(progress, attempt, draft)
        if answer is None:
            console.print("stopped; your progress is saved (an unfinished answer comes back next time)")
            break
        if not answer.strip():
            progress.skip(attempt)
            console.print("skipped: nothing recorded for this question")
            continue
        grade = grader.grade(q, answer)
        progress.graded(attempt, q, answer, grade)
        _print_grade(grade)
    if args.export:
        Path(args.export).write_text(progress.export_markdown(progress.session), encoding="utf-8")
        console.print(f"session written to {args.export}")
    return 0


def cmd_progress(args: argparse.Namespace) -> int:
    """`paperdojo progress`: the user's mastery (0-100%) and number of graded questions per
    category and per paper, as tables or JSON; --export writes every attempt as Markdown."""
    from paperdojo.study.accounts import acting_user
    from paperdojo.study.interview import library_categories

    settings = settings_of(args)
    ws = workspace(settings)
    progress = ws.progress(acting_user(settings))
    # the indexed papers' categories; None without an index (mastery then counts every category)
    mastery = progress.mastery(library_categories(ws.manifest()) or None)
    if args.export:
        Path(args.export).write_text(progress.export_markdown(), encoding="utf-8")
        console.print(f"all attempts written to {args.export}")
    if args.json:
        print(json.dumps(mastery))
        return 0
    if not mastery["category"]:
        out.print("no graded answers yet: run `paperdojo interview`")
        return 0
    for kind in ("category", "paper"):
        table = Table(kind, "mastery", "questions", box=box.SIMPLE)
        for name, (level, n) in sorted(mastery[kind].items(), key=lambda kv: kv[1][0]):
            table.add_row(escape(name), f"{level * 100:.0f}%", str(n))
        out.print(table)
    return 0


def register(sub: argparse._SubParsersAction, llm: argparse.ArgumentParser) -> None:
    """Add `interview` and `progress` to the CLI's sub-parsers (`llm`: the language-model flags)."""
    p = sub.add_parser("interview", parents=[llm], help="a mock interview graded against the papers")
    p.add_argument("-n", type=positive_int, default=3, help="how many questions")
    p.add_argument("--category", action="append")
    p.add_argument("--paper", action="append", metavar="ID")
    p.add_argument("--difficulty", type=int, choices=[1, 2, 3])
    p.add_argument("--bank-only", action="store_true", help="only our written questions")
    p.add_argument("--export", metavar="FILE.md", help="write the session as Markdown")
    p.add_argument("--user", help=USER_HELP)
    p.set_defaults(func=cmd_interview)

    p = sub.add_parser("progress", help="your mastery per category and paper")
    p.add_argument("--user", help=USER_HELP)
    p.add_argument("--json", action="store_true")
    p.add_argument("--export", metavar="FILE.md", help="all attempts as Markdown")
    p.set_defaults(func=cmd_progress)
