"""The `paperdojo` command: a thin layer of argparse and rich over the library."""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from paperdojo.answering.llm import LLMError
from paperdojo.library import catalog, ingest, store
from paperdojo.records import DocumentError
from paperdojo.settings import Settings

console = Console(stderr=True)
out = Console(width=None if Console().is_terminal else 160)  # piped output: wide, not 80 columns
STATUS_STYLE = {"indexed": "green", "failed": "red", "missing": "yellow", "duplicate": "blue"}


LLM_FLAGS = {"provider": "llm_provider", "model": "llm_model", "base_url": "llm_base_url",
             "api_key_env": "llm_api_key_env", "temperature": "llm_temperature",
             "max_tokens": "llm_max_tokens", "context_tokens": "llm_context_tokens"}


def _settings(args: argparse.Namespace) -> Settings:
    llm = {field: getattr(args, flag, None) for flag, field in LLM_FLAGS.items()}
    return Settings.load(home=args.home, **llm)


def _llm_flags() -> argparse.ArgumentParser:
    """--provider and friends, shared by the commands that answer or grade."""
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("language model (default: settings; extractive answers need none)")
    g.add_argument("--provider", choices=["extractive", "openai", "ollama", "llamacpp"])
    g.add_argument("--model", help="model name, or a .gguf file for llamacpp")
    g.add_argument("--base-url", help="e.g. http://127.0.0.1:8080/v1 (llama.cpp server, Ollama's /v1)")
    g.add_argument("--api-key-env", help="name of the env variable holding the API key")
    g.add_argument("--temperature", type=float)
    g.add_argument("--max-tokens", type=int, help="tokens the model may write")
    g.add_argument("--context-tokens", type=int, help="the model's context window")
    return p


# --------------------------------------------------------------------------- ingest
def _progress_bar() -> Progress:
    return Progress(TextColumn("[bold]{task.description:<9}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[what]}"), TimeElapsedColumn(), console=console,
                    transient=False, disable=not console.is_terminal)


def _with_progress(work):  # noqa: ANN001, ANN202 - work(progress) -> whatever it returns
    """Run `work` with a progress callback drawing one bar per stage on the terminal."""
    with _progress_bar() as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int, what: str) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total, what="")
            bar.update(tasks[stage], completed=done, total=total, what=what)

        return work(progress)


def run_ingest(settings: Settings, pdf_dirs: Sequence[Path] = (), only: Sequence[str] = (),
               rebuild: bool = False, retry: bool = False) -> ingest.IngestReport:
    return _with_progress(lambda progress: ingest.ingest(settings, pdf_dirs, only or None, rebuild, retry,
                                                         progress))


def cmd_ingest(args: argparse.Namespace) -> int:
    settings = _settings(args)
    report = run_ingest(settings, [Path(d) for d in args.pdf_dir], args.only, args.rebuild, args.retry)
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


# --------------------------------------------------------------------------- papers
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
        table.add_row(d.id, d.title, d.category, f"[{style}]{d.status}[/]", str(d.pages or ""),
                      str(d.chunks or ""), notes)
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
    from paperdojo.workspace import Workspace

    settings = _settings(args)
    if args.set_category:
        paper_id, category = args.set_category
        paper = catalog.set_category(settings, paper_id, category)
        run_ingest(settings)  # the index's manifest follows (every paper's part is reused)
        console.print(f"[bold]{paper.id}[/] is now in {escape(paper.category)!r}")
    workspace = Workspace(settings)
    statuses = workspace.papers()
    if args.json:
        print(json.dumps([s.to_json() for s in statuses], indent=1))
        return 0
    _print_docs(statuses)
    _print_folders(workspace.folders())
    return 0


def cmd_watch(args: argparse.Namespace) -> int:
    """Keep the library in step with folders of PDFs until Ctrl-C (or one sync with --once)."""
    from paperdojo.library import watch
    from paperdojo.library.embed import Embedder

    settings = _settings(args)
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

    embedder = Embedder(settings)  # one for every sync: its worker processes stay up between changes

    def run_sync() -> None:
        report = run_ingest_watched(settings, folders, embedder)
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
        embedder.close()


def run_ingest_watched(settings: Settings, folders: Sequence[Path], embedder) -> ingest.IngestReport:  # noqa: ANN001
    return _with_progress(lambda progress: ingest.ingest(settings, list(folders), progress=progress,
                                                         embedder=embedder, forget_missing=True))


# --------------------------------------------------------------------------- add / remove
def cmd_add(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.no_ingest:
        paper = ingest.add_source(settings, args.source, args.category, args.title)
        console.print(f"[bold]{escape(paper.id)}[/] is in the library ({escape(paper.category)})")
        return 0
    added = _with_progress(lambda progress: ingest.add(settings, args.source, args.category, args.title,
                                                       progress))
    _print_docs([added.status])
    console.print(escape(added.message), highlight=False)
    return 0 if added.status.status == "indexed" else 1


def cmd_remove(args: argparse.Namespace) -> int:
    settings = _settings(args)
    catalog.remove_paper(settings, args.id)
    for path in [settings.pdf_dir / f"{args.id}.pdf", settings.pages_dir / f"{args.id}.html",
                 settings.pages_dir / f"{args.id}.md"]:
        path.unlink(missing_ok=True)
    report = run_ingest(settings)
    console.print(f"removed {args.id}; the index now has {report.count('indexed')} papers")
    return 0


# --------------------------------------------------------------------------- search / eval
def _retriever(settings: Settings):  # noqa: ANN202 - imported lazily: torch is slow to import
    from paperdojo.answering.retrieve import Retriever
    from paperdojo.library.embed import Embedder

    index = store.load_index(settings.index_dir)
    return Retriever.from_settings(index, Embedder(settings), settings)


def _filters(args: argparse.Namespace):  # noqa: ANN202
    from paperdojo.answering.retrieve import Filters

    return Filters(set(args.paper or []), set(args.category or []))


def cmd_search(args: argparse.Namespace) -> int:
    from paperdojo.answering.retrieve import find_sections

    settings = _settings(args)
    results = find_sections(_retriever(settings), args.topic, args.k, _filters(args))
    if args.json:
        print(json.dumps([r.to_json() for r in results], indent=1))
        return 0
    if not results:
        console.print("nothing found (check --paper / --category)")
        return 1
    for n, r in enumerate(results, 1):
        pages = f"p. {r.page_start}" + (f"-{r.page_end}" if r.page_end != r.page_start else "")
        out.print(f"[bold]{n}. {r.title}[/] - [cyan]{r.section}[/], {pages}  [dim]({r.doc_id})[/]")
        snippet = r.snippet.replace("[", "\\[")
        out.print("   " + re.sub(r"\*\*(.+?)\*\*", r"[bold yellow]\1[/]", snippet))
    return 0


def stream_answer(answerer, question: str, filters=None, k: int | None = None,  # noqa: ANN001
                  conversation=None):  # noqa: ANN001, ANN201 - returns paperdojo.answering.answer.Answer
    """Print a language model's text as it comes, then the checked answer with its sources."""
    from paperdojo.answering.answer import Answer

    streamed: list[str] = []
    for item in answerer.stream(question, filters, k, conversation):
        if isinstance(item, Answer):
            if streamed:
                out.print()
            print_answer(item, "".join(streamed))
            return item
        streamed.append(item)
        out.print(item, end="", markup=False, highlight=False, soft_wrap=True)
    raise RuntimeError("the answer stream ended without an answer")


def print_answer(ans, streamed: str = "") -> None:  # noqa: ANN001 - paperdojo.answering.answer.Answer
    """The answer (unless it was streamed unchanged), then its sources ([n] title, section, page)."""
    for note in ans.notes:
        out.print(f"[yellow]note:[/] {escape(note)}", highlight=False)
    if streamed and streamed.strip() != ans.text.strip():
        out.print("[bold]Checked answer:[/]")
    if ans.refused:
        out.print(f"[yellow]{ans.text}[/]")
        if ans.nearest:
            out.print("\n[bold]Nearest sections[/]")
            for s in ans.nearest:
                out.print(f"  {s.title} - {s.section}, p. {s.page_start}  [dim]({s.doc_id})[/]")
        return
    if not streamed or streamed.strip() != ans.text.strip():
        out.print(re.sub(r"\\\[(\d+)\]", r"[bold cyan]\\[\1][/]", escape(ans.text)), highlight=False)
    out.print("\n[bold]Sources[/]")
    cited = {s.n for s in ans.cited}
    for s in ans.sources:
        c = s.chunk
        flag = "" if s.n in cited else " [dim](not cited)[/]"
        out.print(f"[bold cyan]\\[{s.n}][/] [bold]{c.title}[/], {c.section}, {c.pages_label}{flag}")
        out.print(f"    [link={s.url}]{s.url}[/link]", highlight=False)
        passage = s.passage.replace("[", "\\[")
        out.print("    " + re.sub(r"\*\*(.+?)\*\*", r"[bold yellow]\1[/]", passage), highlight=False)
    out.print(f"[dim]stages: {', '.join(ans.stages)}; {ans.ms:.0f} ms[/]", highlight=False)


def cmd_chat(args: argparse.Namespace) -> int:
    """A conversation in the terminal: follow-up questions keep the previous topic and papers."""
    from paperdojo.answering.answer import Answerer, Conversation
    from paperdojo.answering.retrieve import EmptyQuery

    settings = _settings(args)
    answerer = Answerer.from_settings(_retriever(settings), settings, args.k)
    conversation = Conversation()
    console.print("Ask about the papers; a question that leans on the last one (\"how does it scale?\") "
                  "keeps its context. /new starts a new chat; an empty line or Ctrl-D ends.")
    while True:
        try:
            question = input("\n? ").strip()
        except EOFError:
            return 0
        if not question:
            return 0
        if question.lower() in ("/new", "/clear", "/reset"):
            conversation.reset()
            console.print("new chat: the next question is answered on its own")
            continue
        try:
            stream_answer(answerer, question, _filters(args), args.k, conversation)
        except EmptyQuery as exc:
            console.print(f"[red]{exc}[/]")


def cmd_ask(args: argparse.Namespace) -> int:
    from paperdojo.answering.answer import Answerer

    settings = _settings(args)
    answerer = Answerer.from_settings(_retriever(settings), settings, args.k)
    if args.json:
        print(json.dumps(answerer.answer(args.question, _filters(args), args.k).to_json(), indent=1))
    else:
        stream_answer(answerer, args.question, _filters(args), args.k)
    return 0


def _print_grade(grade) -> None:  # noqa: ANN001 - paperdojo.study.interview.Grade
    colour = "green" if grade.score >= 7 else "yellow" if grade.score >= 4 else "red"
    out.print(f"\n[bold {colour}]Score: {grade.score:g}/10[/]")
    for reason in grade.reasons:
        out.print(f"  - {reason}")
    if grade.covered:
        out.print("[green]Credited[/] (concept <- your words):")
        for c in grade.covered:
            out.print(f"  - [bold]{escape(c.phrase)}[/] <- \"{escape(c.earned_by)}\"", highlight=False)
    if grade.missing:
        out.print("[yellow]Missed:[/]")
        for c in grade.missing:
            ch = c.hit.chunk
            where = f"{ch.title.split(':')[0]}, {ch.section}, p. {ch.page_start}"
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


def cmd_interview(args: argparse.Namespace) -> int:
    from paperdojo.answering.answer import Answerer
    from paperdojo.study.interview import Grader, Progress, all_questions, categories, pick

    settings = _settings(args)
    answerer = Answerer.from_settings(_retriever(settings), settings)
    everything = all_questions(settings.questions_file, answerer, not args.bank_only)
    known = categories(everything)
    unknown = sorted(c for c in args.category or [] if c.lower() not in {k.lower() for k in known})
    if unknown:
        raise ValueError(f"no indexed paper is in {', '.join(map(repr, unknown))}; the library's categories: "
                         f"{', '.join(known)} (change one with `paperdojo papers --set-category ID NAME`)")
    questions = pick(everything, set(args.category or []), set(args.paper or []), args.difficulty)
    if not questions:
        console.print("[red]no question matches these filters[/]")
        return 1
    grader, progress = Grader(answerer), Progress(settings.progress_db)
    console.print(f"Mock interview: {args.n} questions. Answer in a few sentences; an empty line "
                  "submits, Ctrl-D stops. Your answers are saved as you type.")
    attempt: int | None
    todo: list = []  # (attempt, question, draft) restored from a session that ended mid-answer
    for attempt, q, draft in progress.drafts():
        out.print(f"\n[bold]An unfinished answer[/] to: {escape(q.text)}", highlight=False)
        out.print(escape(draft), highlight=False)
        keep = _ask("Continue it? [Y/n] ", True)
        if keep is None:
            return 0
        if keep:
            todo.append((attempt, q, draft))
        else:
            progress.discard(attempt)
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
        out.print(f"\n[bold]Question {i} of {args.n}[/] [dim]({q.category}, difficulty {q.difficulty}, "
                  f"{'our bank' if q.source == 'bank' else 'from the papers'})[/]")
        out.print(q.text, highlight=False)
        if attempt is None:
            attempt = progress.record(q, "")
        elif draft:
            out.print("[dim]your answer so far (type more lines, an empty line submits):[/]")
            out.print(escape(draft), highlight=False)
        while True:
            answer = _read_answer(progress, attempt, draft)
            if answer is None or answer.strip():
                break
            skip = _ask("Empty answer: skip this question? [y/N] ", False)
            if skip is None:
                answer = None
                break
            if skip:
                break
            draft = ""
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


def _library_categories(settings: Settings) -> dict[str, str] | None:
    """{paper id: category} of the indexed papers, None without an index (mastery then counts all)."""
    try:
        manifest = store.read_manifest(settings.index_dir) or {}
    except store.IndexProblem:
        return None
    from paperdojo.study.interview import library_categories

    return library_categories(manifest) or None


def cmd_progress(args: argparse.Namespace) -> int:
    from paperdojo.study.interview import Progress

    settings = _settings(args)
    progress = Progress(settings.progress_db)
    mastery = progress.mastery(_library_categories(settings))
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
            table.add_row(name, f"{level * 100:.0f}%", str(n))
        out.print(table)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from paperdojo.answering.answer import Answerer
    from paperdojo.evaluation.evaluate import (
        answer_metrics,
        context_bleed,
        evaluate_all,
        load_questions,
        ratios,
    )

    settings = _settings(args)
    if args.grading:
        return cmd_eval_grading(settings, Path(args.grading), args.json)
    if not args.questions:
        raise ValueError("give a questions file (e.g. ../shared/eval/dev.jsonl) or --grading FILE.jsonl")
    files = {Path(p): load_questions(Path(p)) for p in args.questions}
    answerer = Answerer.from_settings(_retriever(settings), settings)
    if answerer.llm is not None:
        console.print(f"answers by {answerer.llm.label} at {answerer.llm.where}: {answerer.llm.check()}")
    answerer.answer("warm up the model")  # the first call pays for torch's start-up
    reports: dict[str, dict] = {}
    for path, questions in files.items():
        console.print(f"evaluating {path.name}: {len(questions)} questions")
        report: dict = evaluate_all(answerer, questions)
        report["mode"] = answerer.llm.label if answerer.llm else "extractive"
        if answerer.llm is not None:  # the extractive answers beside the model's, same passages
            extractive = Answerer(answerer.retriever, settings.min_similarity)
            report["extractive"] = answer_metrics(questions, extractive.answer)
            report["extractive"].pop("rows")
        if args.conversation:
            others = [q for qs in files.values() for q in qs]
            report["conversation"] = context_bleed(answerer, questions, others)
        if not args.no_baseline:
            report["baseline"] = _run_baseline(settings, questions)
            if "error" not in report["baseline"]:
                report["ratios"] = ratios(report, report["baseline"])
        reports[path.name] = report
    first = dict(next(iter(reports.values())))
    if args.external:
        first["external"] = _run_external(settings, answerer.retriever.embedder)
    if args.json:
        if not args.questions_detail:
            for r in [first, *reports.values()]:
                r.pop("questions", None)
        print(json.dumps({**first, "files": reports}))
    else:
        for name, report in reports.items():
            out.rule(f"[bold]{escape(name)}[/]")
            _print_eval(report)
        if len(reports) > 1:
            _print_files(reports)
        for name, figures in first.get("external", {}).items():
            out.print(f"{name}: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                              for k, v in figures.items()))
    return 0


def cmd_eval_grading(settings: Settings, path: Path, as_json: bool) -> int:
    """Grade answers of known quality; the mean per kind and how often the contract's orders hold."""
    from paperdojo.answering.answer import Answerer
    from paperdojo.evaluation.grading import evaluate_grading, load_graded
    from paperdojo.study.interview import Grader

    records = load_graded(path)
    grader = Grader(Answerer(_retriever(settings), settings.min_similarity))
    with _progress_bar() as bar:
        task = bar.add_task("grading", total=len(records), what="")
        report = evaluate_grading(grader, records, lambda done, total: bar.update(task, completed=done))
    if as_json:
        print(json.dumps({k: v for k, v in report.items() if k != "scores"}))
        return 0
    parts = [("all", report), *report.get("split", {}).items()]
    table = Table("mean score", *[f"{name} (n={r['n']})" for name, r in parts], box=box.SIMPLE)
    for kind in report["mean"]:
        table.add_row(kind, *[_fmt(float(r["mean"].get(kind, float("nan")))) for _, r in parts])
    out.print(table)
    table = Table("order holds on", *[name for name, _ in parts], box=box.SIMPLE)
    for pair in report["order"]:
        table.add_row(pair, *[_fmt(float(r["order"].get(pair, float("nan")))) for _, r in parts])
    out.print(table)
    return 0


def _run_baseline(settings: Settings, questions: list) -> dict:
    from paperdojo.evaluation.baseline import Baseline, BaselineUnavailable
    from paperdojo.evaluation.evaluate import evaluate_baseline

    manifest = store.read_manifest(settings.index_dir) or {}
    pdfs = {d: Path(m["file"]) for d, m in manifest.get("docs", {}).items()
            if m.get("status") == "indexed" and m.get("file", "").endswith(".pdf")}
    console.print(f"running the usual LangChain pipeline on the same {len(pdfs)} PDFs "
                  "(it embeds everything again: minutes) ...")
    try:
        return evaluate_baseline(Baseline(pdfs, settings.embed_model), questions)
    except BaselineUnavailable as exc:
        return {"error": str(exc)}


def _run_external(settings: Settings, embedder) -> dict:  # noqa: ANN001
    from paperdojo.evaluation.external import qasper, scifact

    root = settings.eval_external
    if not root.is_dir():
        return {"error": f"no external eval data at {root} (set PAPERDOJO_EVAL_EXTERNAL)"}
    say = console.print
    return {"qasper_per_paper": qasper(root / "qasper_subset", embedder, settings.bm25_weight, say),
            "scifact": scifact(root / "scifact_beir", embedder, settings.bm25_weight, say)}


def _fmt(value: object) -> str:
    return "" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


_TYPE_COLUMNS = ["n", "page_hit@5", "mrr@10", "kp_recall@5", "answer_kp", "refused"]


def _print_eval(report: dict) -> None:
    base, extractive = report.get("baseline", {}), report.get("extractive")
    columns = ["metric", f"paperdojo ({report.get('mode', 'extractive')})"]
    columns += ["extractive, same passages"] if extractive else []
    table = Table(*columns, "usual pipeline", "ratio", box=box.SIMPLE)
    keys = ["doc_hit@5", "page_hit@5", "mrr@10", "kp_recall@5", "answer_kp", "citation_precision",
            "refused_unanswerable", "false_refusals", "retrieval_p50_ms", "p50_ms", "p95_ms", "n",
            "mean_words", "pseudo_code", "table_rows", "captions", "footnotes", "pointers",
            "rhetorical_questions", "formulas", "fragments", "repeated"]
    keys += ["ungrounded", "llm_failed"] if extractive else []
    for key in keys:
        ours, theirs = report.get(key), base.get(key)
        middle = [_fmt(extractive.get(key))] if extractive else []
        table.add_row(key, _fmt(ours), *middle, _fmt(theirs), _fmt(report.get("ratios", {}).get(key)))
    out.print(table)
    types = report.get("by_type", {})
    if types:
        # the usual columns, then any further numeric per-question field (e.g. answer words)
        extra = sorted({k for f in types.values() for k in f} - set(_TYPE_COLUMNS)
                       - {"rr", "doc_hit@5", "retrieval_ms", "ms", "cited", "cited_ok", "ungrounded",
                          "llm_failed"})
        table = Table("type", *_TYPE_COLUMNS, *extra, box=box.SIMPLE, title="by question type "
                      "(refused: share refused; for answerable types that is false refusals)")
        for kind, figures in types.items():
            table.add_row(kind, *[_fmt(figures.get(c)) for c in _TYPE_COLUMNS + extra])
        out.print(table)
    if "error" in base:
        out.print(f"[yellow]baseline skipped:[/] {base['error']}")
    out.print(f"gold page not in the top 5: {', '.join(report['missed_pages']) or 'none'}")
    bleed = report.get("conversation")
    if bleed:
        out.print(f"context bleed (asked right after an unrelated question, passages differ from asking "
                  f"it alone): {bleed['bleed']:.3f} of {bleed['n']} standalone questions; "
                  f"carried as a follow-up: {bleed['carried']}"
                  + (f" ({', '.join(bleed['bled'])})" if bleed["bled"] else ""))


def _print_files(reports: dict[str, dict]) -> None:
    keys = ["n", "page_hit@5", "mrr@10", "kp_recall@5", "answer_kp", "refused_unanswerable", "false_refusals",
            "p50_ms"]
    table = Table("file", *keys, box=box.SIMPLE, title="all files")
    for name, report in reports.items():
        table.add_row(escape(name), *[_fmt(report.get(k)) for k in keys])
    out.print(table)


def cmd_bench(args: argparse.Namespace) -> int:
    from paperdojo.evaluation import bench

    settings = _settings(args)
    parts = set(args.only or ["ingest", "queries", "app", "scale"])
    sizes = [int(float(n)) for n in args.sizes.split(",") if n]
    questions = Path(args.questions) if args.questions else None
    report = bench.run(settings, [Path(d) for d in args.pdf_dir], questions, sizes, console.print, parts,
                       baseline=not args.no_baseline)
    if args.json:
        print(json.dumps(report))
        return 0
    for part in ("ingest", "queries", "app"):
        if part in report:
            table = Table(part, "measured", box=box.SIMPLE)
            for key, value in report[part].items():
                table.add_row(key, _fmt(value))
            out.print(table)
    if report.get("scale"):
        keys = ["build_s", "disk_mb", "start_s", "rss_mb", "query_p50_ms", "query_p95_ms", "recall@10"]
        table = Table("passages", *keys, box=box.SIMPLE, title="the whole retriever at scale")
        for row in report["scale"]:
            table.add_row(f"{row['passages']:,}", *[_fmt(row[k]) for k in keys])
        out.print(table)
    if report.get("vectors"):
        table = Table("vectors", "index", "build s", "memory MB", "p50 ms", "p95 ms", "recall@10", "default",
                      box=box.SIMPLE)
        for row in report["vectors"]:
            table.add_row(f"{row['n']:,}", row["index"], _fmt(row["build_s"]), _fmt(row["memory_mb"]),
                          _fmt(row["p50_ms"]), _fmt(row["p95_ms"]), _fmt(row["recall@10"]),
                          "yes" if row["auto"] else "")
        out.print(table)
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from paperdojo import doctor

    marks = {True: "[green]  ok[/]", False: "[red]FAIL[/]", None: "[dim]  --[/]"}
    failed = 0
    for check in doctor.run(_settings(args)):
        out.print(f"{marks[check.ok]}  [bold]{check.name}[/]: {escape(check.detail)}", highlight=False)
        failed += check.ok is False
    return 1 if failed else 0


# --------------------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="paperdojo", description=__doc__)
    parser.add_argument("--home", type=Path, help="folder holding ingest/ and index/ "
                        "(default: the project folder; env PAPERDOJO_HOME)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    llm = _llm_flags()

    p = sub.add_parser("ingest", help="download, parse, chunk, embed and index the reading list")
    p.add_argument("--pdf-dir", action="append", default=[], metavar="DIR",
                   help="local PDFs: <id>.pdf fills that paper, other files become new papers")
    p.add_argument("--only", action="append", default=[], metavar="ID", help="just this paper")
    p.add_argument("--rebuild", action="store_true", help="ignore cached parts; re-embed all")
    p.add_argument("--retry", action="store_true", help="retry downloads that failed recently")
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

    p = sub.add_parser("ask", parents=[llm], help="answer a question with cited passages")
    p.add_argument("question")
    p.add_argument("--paper", action="append", metavar="ID", help="only this paper (repeatable)")
    p.add_argument("--category", action="append", help="only this category (repeatable)")
    p.add_argument("-k", "--k", type=int, default=5, help="passages to draw on")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chat", parents=[llm], help="ask questions in a row; follow-ups keep the context")
    p.add_argument("--paper", action="append", metavar="ID")
    p.add_argument("--category", action="append")
    p.add_argument("-k", "--k", type=int, default=5)
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("search", help="find the sections of the papers that discuss a topic")
    p.add_argument("topic")
    p.add_argument("--paper", action="append", metavar="ID", help="only this paper (repeatable)")
    p.add_argument("--category", action="append", help="only this category (repeatable)")
    p.add_argument("-k", type=int, default=8, help="how many sections")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("eval", parents=[llm], help="retrieval and answer metrics on a JSONL of questions, "
                       "beside the usual LangChain pipeline")
    p.add_argument("questions", nargs="*", help="one or more JSONL files, e.g. ../shared/eval/dev.jsonl")
    p.add_argument("--grading", metavar="FILE.jsonl", help="measure the interview grader instead: answers "
                   "of known quality (the format of ../shared/eval/graded_answers.jsonl)")
    p.add_argument("--json", action="store_true", help="one JSON object: the first file's figures at the "
                   "top level, every file's (with by_type) under files")
    p.add_argument("--questions-detail", action="store_true", help="with --json: each question's record")
    p.add_argument("--conversation", action="store_true", help="also ask each question right after an "
                   "unrelated one and report the context bleed")
    p.add_argument("--no-baseline", action="store_true", help="skip the usual pipeline (minutes)")
    p.add_argument("--external", action="store_true", help="also SciFact and QASPER (minutes)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("interview", parents=[llm], help="a mock interview graded against the papers")
    p.add_argument("-n", type=int, default=3, help="how many questions")
    p.add_argument("--category", action="append")
    p.add_argument("--paper", action="append", metavar="ID")
    p.add_argument("--difficulty", type=int, choices=[1, 2, 3])
    p.add_argument("--bank-only", action="store_true", help="only our written questions")
    p.add_argument("--export", metavar="FILE.md", help="write the session as Markdown")
    p.set_defaults(func=cmd_interview)

    p = sub.add_parser("progress", help="your mastery per category and paper")
    p.add_argument("--json", action="store_true")
    p.add_argument("--export", metavar="FILE.md", help="all attempts as Markdown")
    p.set_defaults(func=cmd_progress)

    p = sub.add_parser("bench", help="performance figures beside baselines run alongside (minutes)")
    p.add_argument("--pdf-dir", action="append", default=[], metavar="DIR", help="PDFs for the ingest part")
    p.add_argument("--questions", help="questions for the latency part (e.g. ../shared/eval/dev.jsonl)")
    p.add_argument("--sizes", default="100000,1000000", help="synthetic index sizes (comma-separated)")
    p.add_argument("--only", action="append", choices=["ingest", "queries", "app", "scale", "vectors"])
    p.add_argument("--no-baseline", action="store_true", help="skip the usual LangChain pipeline")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("doctor", parents=[llm], help="check the index, the embedder and the language model")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("remove", help="remove a paper you added")
    p.add_argument("id")
    p.set_defaults(func=cmd_remove)

    # bridges to other tools (MCP clients, Anki, BibTeX / CSL-JSON, Zotero): cli_integrations.py
    from paperdojo import cli_integrations

    cli_integrations.register(sub, _settings, llm)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s",
                        handlers=[RichHandler(console=console, show_path=False, show_time=False)])
    for noisy in ("httpx", "httpx2", "openai", "sentence_transformers", "transformers", "faiss", "httpcore",
                  "bm25s"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return args.func(args)
    except (DocumentError, catalog.CatalogError, ingest.IngestError, store.IndexProblem, LLMError,
            ValueError) as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]: the live index is whole; run the command again to resume")
        return 130


if __name__ == "__main__":
    sys.exit(main())
