"""The records that flow one way: source -> pages -> sections -> chunks -> vectors -> index.

Plain dataclasses so they pickle across worker processes and serialise to JSON (never pickle
on disk). Character offsets always point into `ParsedDoc.text`, the cleaned text of the whole
document, so a citation can be traced back to its page and highlighted.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import asdict, dataclass, field


class DocumentError(Exception):
    """A document that could not be had or read; the message says why and what to do."""


@dataclass
class Page:
    """One page of a document: its 1-based number and its span [start, end) in ParsedDoc.text."""
    number: int  # 1-based, as printed by a PDF viewer
    start: int  # offset of the page's first character in ParsedDoc.text
    end: int
    ocr: bool = False  # the text was read by OCR from the page image (no text layer)


@dataclass
class Section:
    """A section: its heading, its span [start, end) in ParsedDoc.text and its kind."""
    title: str  # e.g. "3.2 Intra-op pass", "Abstract"
    start: int
    end: int
    kind: str = "body"  # body | front | abstract | references


@dataclass
class ParsedDoc:
    """A document as parsed: its text in reading order, its pages and sections as offsets into
    that text, the abstract, and the parser's warnings (e.g. pages read by OCR)."""
    doc_id: str
    title: str
    text: str
    pages: list[Page]
    sections: list[Section]
    abstract: str = ""
    warnings: list[str] = field(default_factory=list)

    def page_at(self, offset: int) -> int:
        """The page number holding character `offset`."""
        starts = [p.start for p in self.pages]
        i = max(0, bisect.bisect_right(starts, offset) - 1)
        return self.pages[i].number

    def page_text(self, number: int) -> str:
        """The text of page `number` (1-based; IndexError past the last page)."""
        page = self.pages[number - 1]
        return self.text[page.start : page.end]

    def to_json(self) -> dict:
        """The document as a JSON-ready dict (read back by from_json)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> ParsedDoc:
        """The document to_json wrote; KeyError when a required field is missing."""
        return cls(
            doc_id=data["doc_id"],
            title=data["title"],
            text=data["text"],
            pages=[Page(**p) for p in data["pages"]],
            sections=[Section(**s) for s in data["sections"]],
            abstract=data.get("abstract", ""),
            warnings=list(data.get("warnings", [])),
        )


@dataclass
class Chunk:
    """A passage with its provenance, carried all the way to the citation."""

    doc_id: str
    title: str
    section: str
    page_start: int
    page_end: int
    char_start: int
    char_end: int
    text: str
    n_tokens: int = 0  # tokens of the text the embedder sees (heading prefix included)
    ocr: bool = False  # some of its text was read by OCR from a page image: quote with care

    @property
    def pages_label(self) -> str:
        """"p. 3", "p. 3-4", with " (OCR)" when its text was read by OCR: the source line."""
        pages = f"p. {self.page_start}" + (f"-{self.page_end}" if self.page_end != self.page_start else "")
        return pages + (" (OCR)" if self.ocr else "")

    @property
    def chunk_id(self) -> str:
        """`doc_id:char_start-char_end`, the passage's id in sources and the MCP server."""
        return f"{self.doc_id}:{self.char_start}-{self.char_end}"

    def to_json(self) -> dict:
        """Its fields as a dict (read back by from_json)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Chunk:
        """The chunk to_json wrote; TypeError for unknown or missing fields."""
        return cls(**data)


# a word retrieve.mark marked: **word**, the word's own asterisks escaped (\\*), so that a paper's "**bold**"
# or "a ** b" is never taken for a mark (front ends: MARKED.finditer, then unmark_stars on the text)
MARKED = re.compile(r"(?<!\\)\*\*(\S+?)(?<!\\)\*\*")


def unmark_stars(text: str) -> str:
    """A marked text's escaped asterisks (`mark` writes a paper's "*" as "\\*") as the paper wrote them."""
    return text.replace("\\*", "*")


def mark_word(word: str) -> str:
    """`word` (one token, no spaces) marked as a query term: **word**, its own asterisks escaped."""
    return f"**{word.replace('*', chr(92) + '*')}**"


@dataclass
class Source:
    """A numbered passage given as evidence for an answer: `n` is its [n] in the answer text."""

    n: int
    chunk: Chunk
    url: str  # opens the PDF at the cited page (`page`)
    passage: str  # the passage with the question's terms marked **so**
    score: float
    # the pages of the sentences the answer cites from it (from their character offsets), the page
    # of the one that answers most (most question terms) first, the others in order; empty when no
    # cited sentence was found in the passage (then the passage's own pages stand)
    cited_pages: list[int] = field(default_factory=list)

    @property
    def page(self) -> int:
        """The page a reader opens for this source: its best cited sentence's, else the passage's first."""
        return self.cited_pages[0] if self.cited_pages else self.chunk.page_start

    @property
    def pages_label(self) -> str:
        """The source line's pages: "p. 2" (the cited sentence's), "p. 2; also cites p. 1", or the
        passage's own "p. 1-2" when no cited sentence was found; " (OCR)" as in Chunk.pages_label."""
        if not self.cited_pages:
            return self.chunk.pages_label
        others = ", ".join(map(str, self.cited_pages[1:]))
        return (f"p. {self.cited_pages[0]}" + (f"; also cites p. {others}" if others else "")
                + (" (OCR)" if self.chunk.ocr else ""))


def page_range(first: int, last: int) -> str:
    """Pages as a citation gives them: "p. 3" for one page, "pp. 3–4" (en dash) for a range."""
    return f"p. {first}" if first == last else f"pp. {first}–{last}"


@dataclass
class Citation:
    """One sentence of an answer and where it stands in the papers: the page a reader must open.

    `n` is the [n] it cites; pages come from the sentence's own character offsets (into
    `ParsedDoc.text`), so a passage spanning two pages cites the page that holds the sentence, and a
    range only when the sentence itself crosses a page break. `found` is False when the sentence
    (e.g. a language model's paraphrase) is not in the passage: then the pages are the passage's.
    """

    n: int
    sentence: str  # as shown in the answer, without its [n]
    doc_id: str
    page_start: int
    page_end: int
    char_start: int = -1  # -1 when not found
    char_end: int = -1
    found: bool = False

    @property
    def pages(self) -> str:
        """"p. 3" or "pp. 3–4" (page_range)."""
        return page_range(self.page_start, self.page_end)

    def to_json(self) -> dict:
        """Its fields as a dict."""
        return asdict(self)
