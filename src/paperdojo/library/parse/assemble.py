"""(page, kind, text) items -> a ParsedDoc: one cleaned text with page offsets and sections."""

from __future__ import annotations

from paperdojo.library.parse.clean import line_join
from paperdojo.records import Page, ParsedDoc, Section


class _Builder:
    """Accumulates cleaned text, page offsets and sections."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.sections: list[Section] = [Section("Front matter", 0, 0, "front")]
        self.last_line = ""
        self.pending = ""  # separator owed by a page break

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.size += len(text)

    def line(self, text: str, vocab: tuple[set[str], set[str]]) -> None:
        if not self.last_line:
            self.add(text)
        else:
            sep, drop = line_join(self.last_line, text, vocab)
            if sep == " " and self.pending:
                sep = self.pending
            if drop:
                self.parts[-1] = self.parts[-1][:-1]
                self.size -= 1
            self.add(sep + text)
        self.last_line = text
        self.pending = ""

    def heading(self, title: str, kind: str) -> None:
        self.add("\n\n" + title + "\n")
        self.sections[-1].end = self.size - len(title) - 3
        self.sections.append(Section(title, self.size, self.size, kind))
        self.last_line = ""

    def page_break(self) -> None:
        """A sentence may go on across pages: the next line joins with a newline (or a hyphen)."""
        self.pending = "\n"

    def finish(self) -> tuple[str, list[Section]]:
        text = "".join(self.parts)
        self.sections[-1].end = len(text)
        for s in self.sections:
            s.end = max(s.start, s.end)
        sections = [s for s in self.sections if text[s.start : s.end].strip()]
        return text, sections


def assemble(doc_id: str, title: str, items: list[tuple[int, str, str]], n_pages: int,
             warnings: list[str], vocab: tuple[set[str], set[str]] | None = None,
             ocr_pages: frozenset[int] = frozenset()) -> ParsedDoc:
    """Build a ParsedDoc from (page, kind, text) items, kind being "line" or a section kind;
    pages in `ocr_pages` are marked as read by OCR."""
    vocab = vocab or (set(), set())
    b = _Builder()
    starts: dict[int, int] = {}
    current = 0
    for page, kind, text in items:
        while current < page:
            current += 1
            if current > 1:
                b.page_break()
            starts[current] = b.size
        if kind == "line":
            b.line(text, vocab)
        else:
            b.heading(text, kind)
    while current < n_pages:
        current += 1
        starts[current] = b.size
    text, sections = b.finish()
    pages = []
    for number in range(1, n_pages + 1):
        end = starts.get(number + 1, len(text))
        pages.append(Page(number, starts[number], end, ocr=number in ocr_pages))
    abstract = next((text[s.start : s.end].strip() for s in sections if s.kind == "abstract"), "")
    return ParsedDoc(doc_id, title, text, pages, sections, abstract[:3000], warnings)
