"""Sections -> chunks that follow sentences and fit the embedding model's input limit.

Sizes are counted with the model's own tokenizer, including the "title / section" heading that is
embedded with each chunk, so nothing is silently truncated by the model. Chunks never cross a
section boundary; an optional overlap of whole sentences (off by default: neighbouring chunks are
merged at query time instead) keeps an idea from being cut in two.
References are left out of the answerable text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from paperdojo.records import Chunk, ParsedDoc, Section

ABBREVIATION = re.compile(  # a period after one of these ends no sentence
    r"(?:\b(?:e\.g|i\.e|et al|etc|vs|cf|resp|approx|Fig|Figs|Eq|Eqs|Sec|Secs|Tab|Ref|Refs|Alg|"
    r"Def|Thm|No|Dr|Mr|Ms|St|Ch|Vol|pp|[A-Z]))\.$"
)
_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])|\n\s*\n")
SKIPPED_KINDS = {"references"}

TokenCounter = Callable[[Sequence[str]], list[int]]


def sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence (start, end) offsets within text[start:end], stripped of surrounding space."""
    spans, cursor = [], start
    for m in _BOUNDARY.finditer(text, start, end):
        if m.group().strip() == "" and ABBREVIATION.search(text, max(start, m.start() - 12), m.start()):
            continue
        spans.append((cursor, m.start()))
        cursor = m.end()
    spans.append((cursor, end))
    return trimmed_spans(text, spans)


def trimmed_spans(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """`spans` ((start, end) character offsets into `text`) without the white space at either end,
    and without those left with no letter or digit."""
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s and any(c.isalnum() for c in text[s:e]):
            out.append((s, e))
    return out


def heading_text(title: str, section: str) -> str:
    """The heading an embedded chunk starts with: "Title. Section", or the title alone for
    the front matter or no section."""
    return f"{title}. {section}" if section and section != "Front matter" else title


def embedding_text(chunk: Chunk, with_heading: bool) -> str:
    """What the embedder sees for a chunk: its heading (paper title, section), then its text."""
    if not with_heading:
        return chunk.text
    return heading_text(chunk.title, chunk.section) + "\n" + chunk.text


@dataclass
class Chunker:
    """Sentence-aligned chunks of at most `chunk_tokens` tokens of the embedder's tokenizer
    (the model's `max_input_tokens` limit, with `special_tokens` and the heading, never exceeded), with
    up to `overlap_tokens` tokens of whole sentences carried into the next chunk; a sentence longer
    than the budget is cut at token boundaries. Sections of SKIPPED_KINDS (references) are not
    chunked."""
    count_tokens: TokenCounter  # tokens without special tokens, for a batch of texts
    split_at_tokens: Callable[[str, int], list[int]]  # char offsets cutting text every n tokens
    max_input_tokens: int  # the model's limit, special tokens included
    chunk_tokens: int = 192
    overlap_tokens: int = 32
    with_heading: bool = True
    special_tokens: int = 2  # [CLS] and [SEP]

    def budget(self, heading_tokens: int) -> int:
        """Tokens of text a chunk may hold beside a heading of `heading_tokens` tokens.
        Raises ValueError when fewer than 16 would be left."""
        room = self.max_input_tokens - self.special_tokens - (heading_tokens if self.with_heading else 0)
        if room < 16:
            raise ValueError(f"the heading leaves only {room} tokens of the model's input for text")
        return min(self.chunk_tokens, room)

    def _pieces(self, text: str, spans: list[tuple[int, int]], counts: list[int],
                budget: int) -> tuple[list[tuple[int, int]], list[int]]:
        """Split sentences longer than the budget at token boundaries."""
        out_spans, out_counts = [], []
        for (s, e), n in zip(spans, counts, strict=True):
            if n <= budget:
                out_spans.append((s, e))
                out_counts.append(n)
                continue
            cuts = [s + c for c in self.split_at_tokens(text[s:e], budget)] + [e]
            pieces = [(a, b) for a, b in zip([s, *cuts[:-1]], cuts, strict=True) if b > a]
            for (ps, pe), pn in zip(pieces, self.count_tokens([text[a:b] for a, b in pieces]),
                                    strict=True):
                out_spans.append((ps, pe))
                out_counts.append(pn)
        return out_spans, out_counts

    def _pack(self, spans: list[tuple[int, int]], counts: list[int], budget: int) -> list[tuple[int, int]]:
        """Greedy packing of sentences into windows, carrying whole sentences as overlap."""
        windows, i = [], 0
        while i < len(spans):
            j, used = i, 0
            while j < len(spans) and used + counts[j] <= budget:
                used += counts[j]
                j += 1
            j = max(j, i + 1)
            windows.append((i, j))
            if j >= len(spans):
                break
            back, carried = j, 0
            while back - 1 > i and carried + counts[back - 1] <= self.overlap_tokens:
                back -= 1
                carried += counts[back]
            i = back
        return [(spans[a][0], spans[b - 1][1]) for a, b in windows]

    def chunk_section(self, doc: ParsedDoc, section: Section) -> list[Chunk]:
        """The chunks of one section of `doc`, each with its pages (1-based) and
        character offsets in doc.text; an OCR'd page marks its chunks."""
        heading = heading_text(doc.title, section.title)
        budget = self.budget(self.count_tokens([heading])[0])
        spans = sentence_spans(doc.text, section.start, section.end)
        if not spans:
            return []
        counts = self.count_tokens([doc.text[s:e] for s, e in spans])
        spans, counts = self._pieces(doc.text, spans, counts, budget)
        chunks = []
        for s, e in self._pack(spans, counts, budget):
            first, last = doc.page_at(s), doc.page_at(e - 1)
            ocr = any(p.ocr for p in doc.pages[first - 1 : last])
            chunks.append(Chunk(doc.doc_id, doc.title, section.title, first, last, s, e, doc.text[s:e],
                                ocr=ocr))
        return chunks

    def chunk(self, doc: ParsedDoc) -> list[Chunk]:
        """Every chunk of `doc`, in order, each with its token count as the embedder sees it
        (heading included). Raises ValueError when a chunk would exceed the model's input limit."""
        chunks = [c for sec in doc.sections if sec.kind not in SKIPPED_KINDS
                  for c in self.chunk_section(doc, sec)]
        texts = [embedding_text(c, self.with_heading) for c in chunks]
        limit = self.max_input_tokens - self.special_tokens
        for chunk, n in zip(chunks, self.count_tokens(texts), strict=True):
            if n > limit:  # the tokenizer is not additive here: never let the model cut it
                raise ValueError(f"chunk {chunk.chunk_id} has {n} tokens, over the limit {limit}")
            chunk.n_tokens = n
        return chunks
