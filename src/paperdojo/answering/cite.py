"""Sentence-level citations: each cited sentence of an answer located in its passage, with its page.

The answer's sentences are matched to the document text as streams of lowercased letters and
digits (whitespace, punctuation and the paper's own reference marks like "[22]" ignored, as the
extractive answer drops them), inside the cited passage's character range; the page then comes from
the parsed pages of the document (read per document from the live index generation).
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from collections.abc import Container, Iterable, Mapping

from paperdojo.answering.grounding import CITATION
from paperdojo.answering.prose import reference_spans
from paperdojo.records import Chunk, Citation, Page, Source

# a sentence and the [n] group that ends it ("... low [1]." or "... low. [1][2]")
_CITED = re.compile(r"(.+?)((?:\s*\[\d+\])+)(\.?)(?=\s|$)", re.S)
def alnum_stream(text: str, skip: Container[int] = ()) -> tuple[str, list[int]]:
    """The letters and digits of `text` (NFKC, lower case; the characters at indices in `skip` left
    out) as one string, and the index in `text` each one comes from: what two texts are matched on
    whatever their spacing, punctuation and line breaks."""
    chars, index = [], []
    for i, ch in enumerate(text):
        if i in skip:
            continue
        for c in unicodedata.normalize("NFKC", ch).lower():
            if c.isalnum():
                chars.append(c)
                index.append(i)
    return "".join(chars), index


@functools.lru_cache(maxsize=1024)
def normalized(text: str) -> tuple[str, tuple[int, ...]]:
    """Lowercased letters and digits of `text` (what prose.clean takes out of a sentence skipped:
    citation marks, author-year references, links), and each one's index.

    Cached by text: an answer locates each of its sentences in the window of the chunk it quotes,
    so one window was normalized once per sentence (12 ms of a 155 ms answer, dev2.jsonl, session 13)."""
    skip: set[int] = set()
    for start, end in reference_spans(text):
        skip.update(range(start, end))
    chars, index = alnum_stream(text, skip)
    return chars, tuple(index)


def cited_sentences(answer: str) -> list[tuple[str, list[int]]]:
    """(sentence without its marks, the [n] it cites) for each cited sentence of `answer`, in order."""
    out = []
    for m in _CITED.finditer(answer):
        sentence = " ".join((m.group(1) + m.group(3)).split())
        numbers = [int(n) for n in CITATION.findall(m.group(2))]
        if sentence.strip(" ."):
            out.append((sentence, numbers))
    return out


class PageMap:
    """Character offset -> page number, per document (from the pages of the parsed documents)."""

    def __init__(self, docs: Mapping[str, dict]) -> None:
        """`docs`: ParsedDoc.to_json() per id; each document is read from it when first asked for
        (an index's DocTexts reads one row of its SQLite file), then kept."""
        self.docs = docs
        self._read: dict[str, tuple[str, list[Page]] | None] = {}

    def _doc(self, doc_id: str) -> tuple[str, list[Page]] | None:
        if doc_id not in self._read:
            if len(self._read) >= 256:  # a long-lived app cites many papers: keep the latest 256
                self._read.pop(next(iter(self._read)))
            data = self.docs.get(doc_id)
            self._read[doc_id] = (data["text"], [Page(**p) for p in data["pages"]]) if data else None
        return self._read[doc_id]

    def page_at(self, doc_id: str, offset: int) -> int:
        """The page (1-based) that holds character `offset` of the document; KeyError for an unknown id."""
        doc = self._doc(doc_id)
        if doc is None:
            raise KeyError(doc_id)
        pages = doc[1]
        i = max(0, bisect.bisect_right([p.start for p in pages], offset) - 1)
        return pages[i].number

    def locate(self, chunk: Chunk, sentence: str) -> tuple[int, int] | None:
        """Document offsets of `sentence` inside the chunk's character range, or None."""
        doc = self._doc(chunk.doc_id)
        if doc is None:
            return None
        text = doc[0]
        needle, _ = normalized(sentence)
        if len(needle) < 8:
            return None
        window = text[chunk.char_start : chunk.char_end]
        hay, where = normalized(window)
        at = hay.find(needle)
        if at < 0:
            return None
        return chunk.char_start + where[at], chunk.char_start + where[at + len(needle) - 1] + 1


def cite(answer: str, sources: Iterable[Source], pages: PageMap | None) -> list[Citation]:
    """A Citation per (sentence, [n]) of `answer`; [n] that name no source are skipped."""
    by_n = {s.n: s for s in sources}
    out = []
    for sentence, numbers in cited_sentences(answer):
        for n in numbers:
            src = by_n.get(n)
            if src is None:
                continue
            c = src.chunk
            span = pages.locate(c, sentence) if pages else None
            if span is None or pages is None:
                out.append(Citation(n, sentence, c.doc_id, c.page_start, c.page_end))
                continue
            out.append(Citation(n, sentence, c.doc_id, pages.page_at(c.doc_id, span[0]),
                                pages.page_at(c.doc_id, span[1] - 1), span[0], span[1], True))
    return out
