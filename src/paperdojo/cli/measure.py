"""The measuring commands: `eval` (retrieval, answer and grading figures), `bench` (performance)
and `doctor` (checks of the index, the embedder and the language model)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich import box
from rich.markup import escape
from rich.table import Table

from paperdojo.cli.common import positive_int, settings_of, workspace
from paperdojo.cli.output import console, out, progress_bar
from paperdojo.settings import Settings


def cmd_eval(args: argparse.Namespace) -> int:
    """`paperdojo eval FILE.jsonl...`: retrieval (page hit@5, MRR@10, key-point recall@5) and
    answer figures per file and question type, beside the LangChain baseline unless --no-baseline;
    --external adds SciFact / QASPER, --conversation the context bleed of follow-ups, --grading FILE
    grades answers of known quality instead. ValueError without a questions file."""
    from paperdojo.evaluation.evaluate import (
        answer_metrics,
        context_bleed,
        evaluate_all,
        load_questions,
        ratios,
    )

    settings = settings_of(args)
    if args.grading:
        return cmd_eval_grading(settings, Path(args.grading), args.json)
    if not args.questions:
        raise ValueError("give a questions file (e.g. ../shared/eval/dev.jsonl) or --grading FILE.jsonl")
    files = {Path(p): load_questions(Path(p)) for p in args.questions}
    ws = workspace(settings)
    answerer = ws.answerer()
    if answerer.llm is not None:
        console.print(f"answers by {answerer.llm.label} at {answerer.llm.where}: {answerer.llm.check()}")
    answerer.answer("warm up the model")  # the first call pays for torch's start-up
    reports: dict[str, dict] = {}
    for path, questions in files.items():
        console.print(f"evaluating {path.name}: {len(questions)} questions")
        report: dict = evaluate_all(answerer, questions)
        report["mode"] = answerer.llm.label if answerer.llm else "extractive"
        if answerer.llm is not None:  # the extractive answers beside the model's, same passages
            report["extractive"] = answer_metrics(questions, ws.extractive_answerer().answer)
            report["extractive"].pop("rows")
        if args.conversation:
            others = [q for qs in files.values() for q in qs]
            report["conversation"] = context_bleed(answerer, questions, others)
        if not args.no_baseline:
            report["baseline"] = _run_baseline(settings, ws.manifest(), questions)
            if "error" not in report["baseline"]:
                report["ratios"] = ratios(report, report["baseline"])
        reports[path.name] = report
    first = dict(next(iter(reports.values())))
    if args.external:
        first["external"] = _run_external(settings, ws.query_embedder())
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
    from paperdojo.evaluation.grading import evaluate_grading, load_graded

    records = load_graded(path)
    grader = workspace(settings).grader(extractive=True)
    with progress_bar() as bar:
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


def _run_baseline(settings: Settings, manifest: dict, questions: list) -> dict:
    """The usual LangChain pipeline on the PDFs of the index `manifest` describes."""
    from paperdojo.evaluation.baseline import Baseline, BaselineUnavailable
    from paperdojo.evaluation.evaluate import evaluate_baseline

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


EVAL_ROWS = ["doc_hit@5", "page_hit@5", "mrr@10", "kp_recall@5", "answer_kp", "citation_precision",
             "refused_unanswerable", "false_refusals", "retrieval_p50_ms", "p50_ms", "p95_ms", "n",
             "mean_words", "pseudo_code", "table_rows", "captions", "footnotes", "pointers",
             "rhetorical_questions", "formulas", "fragments", "repeated"]


def _scalar(value: object) -> bool:
    return value is None or isinstance(value, int | float | str)


def eval_rows(report: dict) -> list[list[object]]:
    """The rows of eval's metric table for one file's report (evaluate.evaluate_all, with the
    "baseline", "extractive" and "ratios" cmd_eval adds): [metric, ours, (extractive,) usual pipeline,
    ratio]. Only scalar metrics make rows: a metric that holds a list or a table (the per-question
    records, by_type, missed_pages) is left to the lines and tables after it."""
    base, extractive = report.get("baseline", {}), report.get("extractive")
    rows = []
    for key in EVAL_ROWS + (["ungrounded", "llm_failed"] if extractive else []):
        cells = [report.get(key), *([extractive.get(key)] if extractive else []), base.get(key),
                 report.get("ratios", {}).get(key)]
        if all(_scalar(c) for c in cells):
            rows.append([key, *cells])
    return rows


def _print_eval(report: dict) -> None:
    columns = ["metric", f"paperdojo ({report.get('mode', 'extractive')})"]
    columns += ["extractive, same passages"] if report.get("extractive") else []
    table = Table(*columns, "usual pipeline", "ratio", box=box.SIMPLE)
    for key, *cells in eval_rows(report):
        table.add_row(str(key), *[_fmt(c) for c in cells])
    out.print(table)
    base, types = report.get("baseline", {}), report.get("by_type", {})
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
    """`paperdojo bench`: the benches of evaluation.bench chosen with --only (ingest time against
    the baseline, query latency, app start, retrieval at synthetic scale, vector indexes), as tables
    or JSON."""
    from paperdojo.evaluation import bench

    settings = settings_of(args)
    parts = set(args.only or ["ingest", "queries", "app", "scale"])
    sizes = [int(float(n)) for n in args.sizes.split(",") if n]
    questions = Path(args.questions) if args.questions else None
    report = bench.run(settings, [Path(d) for d in args.pdf_dir], questions, sizes, console.print, parts,
                       baseline=not args.no_baseline, pairs=args.pairs, torch=not args.no_torch)
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
    """`paperdojo doctor`: run every check of paperdojo.doctor for real and print each one's
    verdict. Exit status 1 when any check failed (unconfigured parts do not count)."""
    from paperdojo import doctor

    marks = {True: "[green]  ok[/]", False: "[red]FAIL[/]", None: "[dim]  --[/]"}
    failed = 0
    for check in doctor.run(settings_of(args)):
        out.print(f"{marks[check.ok]}  [bold]{check.name}[/]: {escape(check.detail)}", highlight=False)
        failed += check.ok is False
    return 1 if failed else 0


def register(sub: argparse._SubParsersAction, llm: argparse.ArgumentParser) -> None:
    """Add `eval`, `bench` and `doctor` to the CLI's sub-parsers (`llm`: the language-model flags)."""
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

    p = sub.add_parser("bench", help="performance figures beside baselines run alongside (minutes)")
    p.add_argument("--pdf-dir", action="append", default=[], metavar="DIR", help="PDFs for the ingest part")
    p.add_argument("--questions", help="questions for the latency part (e.g. ../shared/eval/dev.jsonl)")
    p.add_argument("--sizes", default="100000,1000000", help="synthetic index sizes (comma-separated)")
    p.add_argument("--only", action="append", choices=["ingest", "queries", "app", "scale", "vectors"])
    p.add_argument("--no-baseline", action="store_true", help="skip the usual LangChain pipeline")
    p.add_argument("--pairs", type=positive_int, default=3,
                   help="cold ingests, ours then the usual pipeline, alternated (median ratio; default 3)")
    p.add_argument("--no-torch", action="store_true", help="skip our pipeline on the torch backend")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("doctor", parents=[llm], help="check the index, the embedder and the language model")
    p.set_defaults(func=cmd_doctor)
