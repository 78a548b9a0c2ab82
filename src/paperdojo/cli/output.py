"""What the CLI prints and how: the two consoles (messages to stderr, results to stdout), the
progress bars of long work, and an answer with its sources."""

from __future__ import annotations

import re

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from paperdojo.records import MARKED, unmark_stars

console = Console(stderr=True, emoji=False)
out = Console(width=None if Console().is_terminal else 160, emoji=False)  # piped output: wide, not 80 columns
STATUS_STYLE = {"indexed": "green", "failed": "red", "missing": "yellow", "duplicate": "blue"}


def progress_bar() -> Progress:
    """A rich progress display on stderr (drawn only on a terminal); add one task per stage."""
    return Progress(TextColumn("[bold]{task.description:<9}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[what]}"), TimeElapsedColumn(), console=console,
                    transient=False, disable=not console.is_terminal)


def with_progress(work):  # noqa: ANN001, ANN202 - work(progress) -> whatever it returns
    """Run `work` with a progress callback drawing one bar per stage on the terminal."""
    with progress_bar() as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int, what: str) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total, what="")
            bar.update(tasks[stage], completed=done, total=total, what=what)

        return work(progress)


def sentence_links(url: str, pages: list[int]) -> list[tuple[str, str]]:
    """(link, label) per page the source's cited sentences stand on (records.Source.cited_pages:
    the best-answering sentence's page first): `url` with its `#page=` set to each page (labels name
    the page only when there are several)."""
    if len(pages) <= 1:
        return [(url, "")]
    base = url.split("#page=")[0]
    return [(f"{base}#page={p}", f"p. {p}: ") for p in pages]


def marked(text: str) -> str:
    """Paper text as rich markup: its '[' escaped, the retriever's **query terms** (`MARKED`) in bold
    yellow, the paper's own asterisks as it wrote them."""
    return unmark_stars(MARKED.sub(r"[bold yellow]\1[/]", text.replace("[", "\\[")))


def print_answer(ans, streamed: str = "") -> None:  # noqa: ANN001 - paperdojo.answering.answer.Answer
    """The answer (unless it was streamed unchanged), then its sources ([n] title, section, page)."""
    for note in ans.notes:
        out.print(f"[yellow]note:[/] {escape(note)}", highlight=False)
    if streamed and streamed.strip() != ans.text.strip():
        out.print("[bold]Checked answer:[/]")
    if ans.refused:
        out.print(f"[yellow]{escape(ans.text)}[/]")
        if ans.nearest:
            out.print("\n[bold]Nearest sections[/]")
            for s in ans.nearest:
                out.print(f"  {escape(s.title)} - {escape(s.section)}, p. {s.page_start}  "
                          f"[dim]({escape(s.doc_id)})[/]", highlight=False)
        return
    if not streamed or streamed.strip() != ans.text.strip():
        out.print(re.sub(r"\\\[(\d+)\]", r"[bold cyan]\\[\1][/]", escape(ans.text)), highlight=False)
    out.print("\n[bold]Sources[/]")
    cited = {s.n for s in ans.cited}
    for s in ans.sources:
        c = s.chunk
        flag = "" if s.n in cited else " [dim](not cited)[/]"
        out.print(f"[bold cyan]\\[{s.n}][/] [bold]{escape(c.title)}[/], {escape(c.section)}, "
                  f"{s.pages_label}{flag}", highlight=False)
        for url, label in sentence_links(s.url, s.cited_pages):
            out.print(f"    {label}[link={url}]{escape(url)}[/link]", highlight=False)
        out.print("    " + marked(s.passage), highlight=False)
    out.print(f"[dim]stages: {', '.join(ans.stages)}; {ans.ms:.0f} ms[/]", highlight=False)

