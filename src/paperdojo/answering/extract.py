"""Query-focused sentence selection: the extractive answer drawn from a few passages.

The sentences of the top passages that best answer the question, at most ~150 words, in the
passages' order, each ending with its passage's citation [n]. Shared by the answerer and by the
external QASPER check, so the same selection is measured on questions nobody here wrote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from paperdojo.answering.grounding import looks_like_instruction
from paperdojo.library.chunk import sentence_spans

MAX_WORDS = 150
_PAPER_REFS = re.compile(r"\s?\[\d+(?:\s*[,\u2013-]\s*\d+)*\]")
_CAPTION_INSIDE = re.compile(r".\s(Figure|Fig\.|Table)\s\d+:")


class _Encoder(Protocol):
    def encode(self, texts: list[str]) -> np.ndarray: ...


class _Stemmer(Protocol):
    def stemWord(self, word: str) -> str: ...  # noqa: N802 (PyStemmer's name)


@dataclass
class Selection:
    """How sentences are chosen (measured on dev.jsonl in aggregate; see the README's table)."""

    passages: int = 3  # the top passages sentences are drawn from
    overlap_weight: float = 0.3  # weight of the question's terms found in a sentence
    rank_weight: float = 0.2  # prior for sentences of higher-ranked passages
    redundancy: float = 0.3  # MMR penalty: similarity to sentences already chosen
    max_encoded: int = 8  # candidate sentences scored by the model (the rest by terms only)


def readable(sent: str) -> bool:
    """A prose sentence, not figure labels or a table row that ran into the text."""
    words = sent.split()
    if not 6 <= len(words) <= 70 or sum(c.isalpha() for c in sent) < 0.6 * len(sent):
        return False
    capitalized = sum(w[0].isupper() for w in words if w[0].isalpha())
    return not (len(words) > 12 and capitalized > 0.5 * len(words)) and not _CAPTION_INSIDE.search(sent)


def candidates(passages: list[str]) -> list[tuple[int, int, str]]:
    """(passage number from 1, position, sentence) of every readable sentence of the passages; a
    sentence met again (text drawn twice, the same paper twice) is kept at its first place only."""
    out = []
    seen: set[str] = set()
    for n, text in enumerate(passages, 1):
        for pos, (s, e) in enumerate(sentence_spans(text, 0, len(text))):
            sent = _PAPER_REFS.sub("", " ".join(text[s:e].split()))  # the paper's own [22]
            key = " ".join(sent.lower().split())
            if readable(sent) and not looks_like_instruction(sent) and key not in seen:
                seen.add(key)
                out.append((n, pos, sent))
    return out


def extract(query: str, passages: list[str], stems: set[str], stemmer: _Stemmer, encoder: _Encoder,
            how: Selection | None = None) -> str:
    """The extractive answer to `query` from `passages` (best first); `stems`: the query's terms."""
    how = how or Selection()
    cands = candidates(passages[: how.passages])
    if not cands:
        return f"{passages[0][:300]} [1]" if passages else ""
    lexical = []
    for n, _, sent in cands:
        terms = {stemmer.stemWord(w.strip(".,;:()").lower()) for w in sent.split()}
        lexical.append(how.overlap_weight * len(stems & terms) / max(1, len(stems)) + how.rank_weight / n)
    # only the lexically best candidates go through the model: the answer's main cost
    keep = sorted(range(len(cands)), key=lambda i: -lexical[i])[: how.max_encoded]
    cands = [cands[i] for i in keep]
    lexical = [lexical[i] for i in keep]
    emb = encoder.encode([query] + [c[2] for c in cands])
    scores = [float(sim) + lex for sim, lex in zip(emb[1:] @ emb[0], lexical, strict=True)]
    chosen = _choose(cands, emb[1:], scores, how.redundancy)
    return " ".join(f"{cands[i][2].rstrip()} [{cands[i][0]}]" for i in chosen)


def _choose(cands: list[tuple[int, int, str]], vectors: np.ndarray, scores: list[float],
            redundancy: float) -> list[int]:
    """Maximal marginal relevance within the word budget, returned in reading order."""
    chosen: list[int] = []
    used = 0
    left = set(range(len(cands)))

    def gain(i: int) -> float:
        near = max((float(vectors[i] @ vectors[j]) for j in chosen), default=0.0)
        return scores[i] - redundancy * near - (1.0 if near > 0.9 else 0.0)

    while left and used < MAX_WORDS - 10:
        i = max(left, key=gain)
        left.discard(i)
        n_words = len(cands[i][2].split())
        if (used + n_words > MAX_WORDS and chosen) or gain(i) < -0.5:
            continue
        chosen.append(i)
        used += n_words
    return sorted(chosen, key=lambda i: (cands[i][0], cands[i][1]))
