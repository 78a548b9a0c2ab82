"""The `paperdojo` command: a thin layer of argparse and rich over the library.

One module per command group, each adding its sub-commands with `register(sub, llm)`:
`library` (ingest, papers, watch, add, remove), `answers` (ask, chat, search), `study` (interview,
progress), `measure` (eval, bench, doctor), `integrations` (mcp, export, import) and `users`
(accounts); `common` holds the settings and flags they share, `output` the consoles, progress bars
and the printed answer.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.logging import RichHandler
from rich.markup import escape

from paperdojo.answering.llm import LLMError
from paperdojo.cli import answers, integrations, library, measure, study, users
from paperdojo.cli.common import llm_flags
from paperdojo.cli.output import console
from paperdojo.library import catalog, ingest, store
from paperdojo.records import DocumentError

DESCRIPTION = "The `paperdojo` command: a thin layer of argparse and rich over the library."
GROUPS = (library, answers, study, measure, integrations, users)
NOISY_LOGGERS = ("httpx", "httpx2", "openai", "sentence_transformers", "transformers", "faiss", "httpcore",
                 "bm25s")


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: the global flags, then each group's sub-commands."""
    parser = argparse.ArgumentParser(prog="paperdojo", description=DESCRIPTION)
    parser.add_argument("--home", type=Path, help="folder holding ingest/ and index/ "
                        "(default: the project folder; env PAPERDOJO_HOME)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    llm = llm_flags()
    for group in GROUPS:
        group.register(sub, llm)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; 0 on success, 1 when it did not get its result, 2 on a bad input or a broken
    index / paper / language model (a one-line error), 130 on Ctrl-C."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s",
                        handlers=[RichHandler(console=console, show_path=False, show_time=False)])
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return args.func(args)
    except (DocumentError, catalog.CatalogError, ingest.IngestError, store.IndexProblem, LLMError,
            ValueError) as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
        return 2
    except OSError as exc:  # a file named on the command line that cannot be read or written
        where = f": {exc.filename}" if exc.filename else ""
        console.print(f"[red]error:[/] {escape((exc.strerror or str(exc)) + where)}", highlight=False)
        return 2
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]: the live index is whole; run the command again to resume")
        return 130


if __name__ == "__main__":
    sys.exit(main())
