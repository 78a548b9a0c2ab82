"""HTML pages and Markdown/text files -> ParsedDoc, headings from their markup."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path

from paperdojo.library.parse.assemble import assemble
from paperdojo.library.parse.check import ParseError
from paperdojo.library.parse.clean import clean_line
from paperdojo.library.parse.headings import REFERENCES
from paperdojo.records import ParsedDoc


class _HTMLText(HTMLParser):
    SKIP = {"script", "style", "nav", "header", "footer", "aside", "noscript", "svg", "form", "button"}
    BLOCK = {"p", "div", "li", "br", "pre", "tr", "section", "article", "blockquote", "table", "ul",
             "ol", "dd", "dt", "figcaption"}
    HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.items: list[tuple[str, str]] = []
        self.buf: list[str] = []
        self.skip = 0
        self.in_heading = False
        self.title = ""
        self.in_title = False

    def flush(self, kind: str = "line") -> None:
        text = clean_line("".join(self.buf))
        self.buf = []
        if text:
            self.items.append((kind, text))

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in self.SKIP:
            self.skip += 1
        elif tag == "title":
            self.in_title = True
        elif tag in self.HEADINGS or tag in self.BLOCK:
            self.flush()
            self.in_heading = tag in self.HEADINGS

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag == "title":
            self.in_title = False
        elif tag in self.HEADINGS:
            self.flush("heading")
            self.in_heading = False
        elif tag in self.BLOCK:
            self.flush()

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title += data
        elif not self.skip:
            self.buf.append(data)


def _structured(doc_id: str, title: str, items: list[tuple[str, str]]) -> ParsedDoc:
    if sum(len(t) for _, t in items) < 20:
        raise ParseError("the page has no readable text")
    out: list[tuple[int, str, str]] = []
    for kind, text in items:
        if kind == "heading":
            low = text.lower().rstrip(":")
            out.append((1, "references" if low in REFERENCES else "body", text))
        else:
            out.append((1, "line", text + ("" if text.endswith((".", ":", "!", "?")) else ".")))
    return assemble(doc_id, title, out, 1, [])


def parse_html(path: Path, doc_id: str, title: str = "") -> ParsedDoc:
    """An HTML page -> ParsedDoc (scripts, navigation and footers skipped; h1-h6 are sections)."""
    raw = path.read_bytes()
    parser = _HTMLText()
    parser.feed(raw.decode("utf-8", errors="replace"))
    parser.flush()
    title = title or clean_line(html.unescape(parser.title)) or doc_id
    return _structured(doc_id, title, parser.items)


def parse_markdown(path: Path, doc_id: str, title: str = "") -> ParsedDoc:
    """A Markdown or text file -> ParsedDoc (code blocks skipped; # headings are sections)."""
    items: list[tuple[str, str]] = []
    in_code = False
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if raw.strip().startswith("```"):
            in_code = not in_code
            continue
        if in_code:  # shell snippets and code are not prose to answer from
            continue
        line = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", raw)  # images
        line = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line)  # links -> their text
        line = re.sub(r"<[^>]+>", "", line)
        if m := re.match(r"^(#{1,6})\s+(.*)$", line):
            heading = clean_line(m[2].strip("# "))
            if heading:
                items.append(("heading", heading))
                title = title or heading
            continue
        text = clean_line(line.strip("*_>|-` "))
        if text:
            items.append(("line", text))
    return _structured(doc_id, title or doc_id, items)
