"""An answer split into its sentences, each with the passages it cites and the page it stands on.

An answer's text carries citations as [n] after (or just before) a sentence's period. Here every
sentence gets its citations resolved to provenance (paper, section, page, char offsets); when the
sentence is found in the cited passage, the page is the one that holds it (a passage may span two
pages), else the passage's first page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from paperdojo.library.chunk import sentence_spans
from paperdojo.records import Chunk, ParsedDoc, Source

_SPLIT = re.compile(r"\s?\[(\d+)\]")
_LEADING_PUNCT = re.compile(r"^[.;:,!?]+")


@dataclass
class Citation:
    n: int  # the [n] in the answer text
    doc_id: str
    title: str
    section: str
    page: int  # 1-based page that holds the sentence (or the passage's first page)
    char_start: int  # the passage's offsets into the paper's cleaned text
    char_end: int
    url: str


@dataclass
class CitedSentence:
    text: str
    citations: list[Citation] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


def split_cited(text: str) -> list[tuple[str, list[int]]]:
    """(sentence, [n, ...]) in order; a citation belongs to the sentence it follows."""
    out: list[list] = []
    for i, part in enumerate(_SPLIT.split(text)):
        if i % 2:
            if out:
                out[-1][1].append(int(part))
            continue
        lead = _LEADING_PUNCT.match(part)
        if lead and out:  # "... [2]." : the period after a citation closes the sentence before it
            out[-1][0] += lead.group()
            part = part[lead.end():]
        out += [[part[a:b], []] for a, b in sentence_spans(part, 0, len(part))]
    return [(sentence.strip(), cites) for sentence, cites in out]


def sentence_page(sentence: str, chunk: Chunk, doc: ParsedDoc | None) -> int:
    """The page of `chunk` that holds `sentence` (its first 60 characters), else the chunk's first page."""
    if doc is not None:
        probe = re.sub(r"\s+", " ", sentence.strip())[:60]
        at = chunk.text.find(probe) if probe else -1
        if at >= 0:
            return doc.page_at(chunk.char_start + at)
    return chunk.page_start


def cited_sentences(text: str, sources: list[Source],
                    parsed: Callable[[str], ParsedDoc | None]) -> list[CitedSentence]:
    """Every sentence of an answer with its resolved citations (uncited sentences have none).

    `parsed(doc_id)` gives a paper's ParsedDoc (or None) to place a sentence on its page.
    """
    by_n = {s.n: s for s in sources}
    docs: dict[str, ParsedDoc | None] = {}
    out = []
    for sentence, numbers in split_cited(text):
        cites = []
        for n in dict.fromkeys(numbers):
            source = by_n.get(n)
            if source is None:
                continue
            c = source.chunk
            if c.doc_id not in docs:
                docs[c.doc_id] = parsed(c.doc_id)
            page = sentence_page(sentence, c, docs[c.doc_id])
            url = re.sub(r"#page=\d+$", f"#page={page}", source.url)
            cites.append(Citation(n, c.doc_id, c.title, c.section, page, c.char_start, c.char_end, url))
        out.append(CitedSentence(sentence, cites))
    return out
