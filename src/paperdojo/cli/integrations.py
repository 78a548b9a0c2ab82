"""The CLI's bridges to other tools: `paperdojo mcp`, `paperdojo export anki|bibtex|csl-json` and
`paperdojo import zotero`. Registered by the cli package; thin over the library and the Workspace facade."""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from rich.markup import escape

from paperdojo.cli.common import port_number, settings_of, workspace
from paperdojo.cli.output import console
from paperdojo.settings import Settings


def cmd_mcp(args: argparse.Namespace, settings: Settings) -> int:
    """`paperdojo mcp`: serve the library over MCP on stdio, or on http://127.0.0.1:PORT/mcp
    with --http PORT, until the client or Ctrl-C ends it."""
    from paperdojo.mcp_server import serve

    serve(settings, args.http)
    return 0


def cmd_export_anki(args: argparse.Namespace, settings: Settings) -> int:
    """`paperdojo export anki FILE.apkg`: a deck of interview questions (the bank, with
    --generated those drawn from the papers; with --weak only the user's questions and topics below
    --below) whose backs are cited answers. Exit status 1 when no question fits or no card was made."""
    from paperdojo.study.accounts import acting_user
    from paperdojo.study.anki import build_cards, weak_questions, write_apkg
    from paperdojo.study.interview import all_questions, pick

    ws = workspace(settings)
    answerer = ws.answerer()
    questions = pick(all_questions(settings.questions_file, answerer, args.generated),
                     set(args.category or []), set(args.paper or []), None)
    if args.weak:
        questions = weak_questions(questions, ws.progress(acting_user(settings)), args.below)
        if not questions:
            console.print(f"no weak topics: no question or topic of yours is below {args.below:.0%} "
                          "(answer some with `paperdojo interview` first)")
            return 1
    if not questions:
        console.print("no question to put in a deck: none of the question bank's is about an indexed paper "
                      "of these filters (add --generated for questions drawn from the papers)")
        return 1
    console.print(f"answering {len(questions)} questions from the papers ...")
    cards, skipped = build_cards(questions, answerer,
                                 lambda done, total, qid: console.print(f"  {done}/{total} {qid}")
                                 if console.is_terminal or done == total else None)
    write_apkg(cards, Path(args.file))
    for why in skipped:
        console.print(f"[yellow]left out[/] {escape(why)}")
    console.print(f"[bold]{len(cards)} cards[/] written to {args.file}; importing it again into Anki updates "
                  "these cards instead of adding copies")
    return 0 if cards else 1


def cmd_export_citations(args: argparse.Namespace, settings: Settings) -> int:
    """`paperdojo export bibtex|csl-json`: the records of the papers (all, those of
    --paper, or those the answer to --cited cites) to stdout or -o FILE. Exit status 1 when the
    --cited answer cites no paper."""
    from paperdojo.library.bibliography import to_bibtex, to_csl_json

    ws = workspace(settings)
    ids = list(args.paper or []) or None
    if args.cited:
        answer = ws.ask(args.cited)
        ids = list(dict.fromkeys(s.chunk.doc_id for s in answer.cited))
        if not ids:
            console.print(f"[red]the answer cites no paper[/]: {escape(answer.reason or answer.text)}")
            return 1
    records = ws.citation_records(ids)
    text = to_bibtex(records) if args.format == "bibtex" else to_csl_json(records) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        console.print(f"{len(records)} papers written to {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def cmd_import_zotero(args: argparse.Namespace, settings: Settings) -> int:
    """`paperdojo import zotero`: the items of a Zotero data folder (--data-dir) or of
    Zotero 7's local API (--local) join the catalog, then the new ones are indexed (not with
    --no-ingest). Exit status 1 when a new paper failed to index; ValueError unless exactly one
    source is given."""
    from paperdojo.library import zotero

    if bool(args.data_dir) == bool(args.local):
        raise ValueError("give either --data-dir DIR (Zotero's data folder) or --local "
                         "(Zotero 7's local API)")
    with tempfile.TemporaryDirectory(prefix="paperdojo-zotero-") as tmp:
        if args.data_dir:
            items = zotero.read_data_folder(Path(args.data_dir).expanduser(), args.collection)
        else:
            items = zotero.read_local_api(args.collection, args.url, Path(tmp))
        report = zotero.import_items(settings, items, args.category or args.collection)
    for key, paper_id in report.recognized.items():
        console.print(f"[green]already in the library[/]: {escape(str(key))} is {escape(paper_id)}")
    for why in report.skipped.values():
        console.print(f"[yellow]skipped[/] {escape(why)}")
    console.print(f"[bold]{len(report.added)} new papers[/], {len(report.recognized)} already in the "
                  f"library, {len(report.skipped)} skipped")
    if not report.added or args.no_ingest:
        return 0
    def progress(stage: str, done: int, total: int, what: str) -> None:
        if done == total:
            console.print(f"  {stage}: {done}/{total}")

    ingest_report = workspace(settings).run_ingest(only=report.added, progress=progress)
    failed = [d for d in ingest_report.docs if d.id in report.added and d.status != "indexed"]
    for d in failed:
        console.print(f"[red]not indexed[/] {d.id}: {escape(d.reason)}")
    console.print(f"indexed {len(report.added) - len(failed)} of {len(report.added)} new papers")
    return 1 if failed else 0


def register(sub: argparse._SubParsersAction, llm: argparse.ArgumentParser) -> None:
    """Add the `mcp`, `export` and `import` subcommands to the CLI's parser (`llm`: the
    language-model flags); each runs with the Settings of its flags."""
    def run(fn: Callable[[argparse.Namespace, Settings], int]) -> Callable[[argparse.Namespace], int]:
        return lambda args: fn(args, settings_of(args))

    p = sub.add_parser("mcp", parents=[llm],
                       help="serve the library to AI assistants (Model Context Protocol)")
    p.add_argument("--http", type=port_number, metavar="PORT",
                   help="streamable HTTP on 127.0.0.1:PORT/mcp instead of stdio")
    p.set_defaults(func=run(cmd_mcp))

    export = sub.add_parser("export", help="an Anki deck of the interview questions, or citations")
    kinds = export.add_subparsers(dest="kind", required=True)
    p = kinds.add_parser("anki", help="interview questions with cited model answers, as FILE.apkg")
    p.add_argument("file", metavar="FILE.apkg")
    p.add_argument("--weak", action="store_true", help="only the questions and topics you are weak on")
    p.add_argument("--below", type=float, default=0.6, help="what counts as weak: mastery below this (0-1)")
    p.add_argument("--generated", action="store_true", help="also one question per section of each paper")
    p.add_argument("--category", action="append")
    p.add_argument("--paper", action="append", metavar="ID")
    p.add_argument("--user", help="whose progress --weak reads (default: $PAPERDOJO_USER, else 'local')")
    p.set_defaults(func=run(cmd_export_anki))
    for fmt in ("bibtex", "csl-json"):
        p = kinds.add_parser(fmt, parents=[llm], help=f"the library (or some papers) as {fmt}")
        p.add_argument("-o", "--output", metavar="FILE", help="default: print it")
        p.add_argument("--paper", action="append", metavar="ID", help="only this paper (repeatable)")
        p.add_argument("--cited", metavar="QUESTION", help="the papers the answer to QUESTION cites")
        p.set_defaults(func=run(cmd_export_citations), format=fmt)

    imp = sub.add_parser("import", help="bring papers in from another tool")
    sources = imp.add_subparsers(dest="source", required=True)
    p = sources.add_parser("zotero", help="papers with PDFs from a Zotero library or collection")
    p.add_argument("--data-dir", metavar="DIR", help="Zotero's data folder (holding zotero.sqlite, storage/)")
    p.add_argument("--local", action="store_true", help="Zotero 7's local API (Zotero running)")
    p.add_argument("--url", default="http://localhost:23119", help="the local API's address")
    p.add_argument("--collection", help="only this collection (name or key)")
    p.add_argument("--category", help="category of the new papers (default: the collection's name)")
    p.add_argument("--no-ingest", action="store_true", help="only add them to the library")
    p.set_defaults(func=run(cmd_import_zotero))
