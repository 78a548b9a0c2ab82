"""The answering commands: `ask`, `chat` and `search`."""

from __future__ import annotations

import argparse
import json

from rich.markup import escape

from paperdojo.cli.common import filters_of, positive_int, settings_of, workspace
from paperdojo.cli.output import console, marked, out, print_answer


def cmd_search(args: argparse.Namespace) -> int:
    """`paperdojo search TOPIC`: the sections that discuss the topic, best first, with a
    snippet each (or their provenance as JSON with --json). Exit status 1 when nothing matches; raises
    store.IndexProblem without an index and ValueError for an unknown --paper / --category."""
    ws = workspace(settings_of(args))
    ws.check_filters(filters_of(args))
    results = ws.search_sections(args.topic, args.k, filters_of(args))
    if args.json:
        print(json.dumps([r.to_json() for r in results], indent=1))
        return 0
    if not results:
        console.print("nothing found (check --paper / --category)")
        return 1
    for n, r in enumerate(results, 1):
        pages = f"p. {r.page_start}" + (f"-{r.page_end}" if r.page_end != r.page_start else "")
        out.print(f"[bold]{n}. {escape(r.title)}[/] - [cyan]{escape(r.section)}[/], {pages}  "
                  f"[dim]({escape(r.doc_id)})[/]", highlight=False)
        out.print("   " + marked(r.snippet))
    return 0


def stream_answer(ws, question: str, filters=None, k: int | None = None,  # noqa: ANN001
                  conversation=None):  # noqa: ANN001, ANN201 - returns paperdojo.answering.answer.Answer
    """Print a language model's text as it comes, then the checked answer with its sources
    (`ws`: the Workspace answering)."""
    from paperdojo.answering.answer import Answer

    streamed: list[str] = []
    for item in ws.stream(question, filters, k, conversation):
        if isinstance(item, Answer):
            if streamed:
                out.print()
            print_answer(item, "".join(streamed))
            return item
        streamed.append(item)
        out.print(item, end="", markup=False, highlight=False, soft_wrap=True)
    raise RuntimeError("the answer stream ended without an answer")


_CHAT_COMMANDS = "/new starts a new chat, /help shows this; /quit, an empty line or Ctrl-D ends."


def cmd_chat(args: argparse.Namespace) -> int:
    """A conversation in the terminal: follow-up questions keep the previous topic and papers."""
    from paperdojo.answering.answer import Conversation
    from paperdojo.answering.retrieve import EmptyQuery

    ws = workspace(settings_of(args))
    ws.check_filters(filters_of(args))  # a missing or broken index, or a typo in a filter, said first
    conversation = Conversation()
    console.print("Ask about the papers; a question that leans on the last one (\"how does it scale?\") "
                  "keeps its context. " + _CHAT_COMMANDS)
    while True:
        try:
            question = input("\n? ").strip()
        except EOFError:
            return 0
        if not question:
            return 0
        command = question.split()[0].lower() if question.startswith("/") else ""
        if command in ("/new", "/clear", "/reset"):
            conversation.reset()
            console.print("new chat: the next question is answered on its own")
            continue
        if command in ("/quit", "/exit", "/q"):
            return 0
        if command:  # "/help", "/nwe": a command, not a question for the papers
            console.print(("" if command in ("/help", "/?") else f"no command {escape(command)}: ")
                          + _CHAT_COMMANDS)
            continue
        try:
            stream_answer(ws, question, filters_of(args), args.k, conversation)
        except EmptyQuery as exc:
            console.print(f"[red]{escape(str(exc))}[/]")


def cmd_ask(args: argparse.Namespace) -> int:
    """`paperdojo ask QUESTION`: one cited answer, streamed as it is written (or the answer and
    every source's provenance as JSON with --json); exit status 0, a refusal included. Raises
    store.IndexProblem without an index and ValueError for an unknown filter."""
    ws = workspace(settings_of(args))
    ws.check_filters(filters_of(args))
    if args.json:
        print(json.dumps(ws.ask(args.question, filters_of(args), args.k).to_json(), indent=1))
    else:
        stream_answer(ws, args.question, filters_of(args), args.k)
    return 0


def register(sub: argparse._SubParsersAction, llm: argparse.ArgumentParser) -> None:
    """Add `ask`, `chat` and `search` to the CLI's sub-parsers (`llm`: the language-model flags)."""
    p = sub.add_parser("ask", parents=[llm], help="answer a question with cited passages")
    p.add_argument("question")
    p.add_argument("--paper", action="append", metavar="ID", help="only this paper (repeatable)")
    p.add_argument("--category", action="append", help="only this category (repeatable)")
    p.add_argument("-k", "--k", type=positive_int, default=5, help="passages to draw on")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chat", parents=[llm], help="ask questions in a row; follow-ups keep the context")
    p.add_argument("--paper", action="append", metavar="ID")
    p.add_argument("--category", action="append")
    p.add_argument("-k", "--k", type=positive_int, default=5)
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("search", aliases=["find"],
                       help="find the sections of the papers that discuss a topic")
    p.add_argument("topic")
    p.add_argument("--paper", action="append", metavar="ID", help="only this paper (repeatable)")
    p.add_argument("--category", action="append", help="only this category (repeatable)")
    p.add_argument("-k", type=positive_int, default=8, help="how many sections")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)
