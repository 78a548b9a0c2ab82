"""Query-focused sentence selection: the extractive answer drawn from the top passages.

The prose sentences of the top passages that best answer the question, in the passages' order,
each ending with its passage's citation [n]. Only prose claims are quoted (prose.py names what the
rest is: pseudo-code, table rows, captions, footnotes, pointers, questions, garbled formulas); a
sentence whose subject refers back ("This", "It") comes with the sentence before it or not at all;
no sentence comes twice, nor a near-copy of one already quoted. Selection is greedy: relevance
(cosine to the question, the question's terms it holds weighted by their rarity among the
candidates, its passage's rank), plus the question's terms it adds that no chosen sentence holds
yet (so each part of a multi-part question is answered), plus a bonus for a paper not yet quoted
in a question with several parts (so each side of a comparison is heard), minus its similarity to
what is already chosen. Length follows the question: `budget` words.

Shared by the answerer and by the external QASPER check, so the same selection is measured on
questions nobody here wrote.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from paperdojo.answering import prose
from paperdojo.answering.grounding import looks_like_instruction
from paperdojo.library.chunk import sentence_spans

MAX_WORDS = 150  # a one-part question
MAX_WORDS_SEVERAL = 250  # a question in several parts, a comparison, several papers
_PARTS = re.compile(r"\?\s+\S|[,;]\s*(?:and\s+|or\s+)?"
                    r"(?:how|why|what|when|which|where|who|is|are|does|do|can)\b"
                    r"|\s(?:and|or)\s+(?:how|why|what|when|which|where|who|whether)\b", re.I)
_ASKING = re.compile(r"\b(?:how|why|what|when|which|where|who|whether|is|are|does|do|did|can|should)\b|\?",
                     re.I)
_SEVERAL = re.compile(r"\b(?:compare[sd]?|comparison|contrast|differ(?:s|ence|ences)?|versus|vs\.?|"
                      r"trade-?offs?|both)\b", re.I)


class _Encoder(Protocol):
    def encode(self, texts: list[str]) -> np.ndarray: ...


class _Stemmer(Protocol):
    def stemWord(self, word: str) -> str: ...  # noqa: N802 (PyStemmer's name)


@dataclass
class Selection:
    """How sentences are chosen (weights measured on dev.jsonl + dev2.jsonl together and checked on
    QASPER; see docs/measurements.md)."""

    passages: int = 5  # the top passages sentences are drawn from
    overlap_weight: float = 0.3  # weight of the question's terms found in a sentence (rarity-weighted)
    rank_weight: float = 0.2  # prior for sentences of higher-ranked passages
    redundancy: float = 0.3  # MMR penalty: similarity to sentences already chosen
    coverage_weight: float = 0.6  # weight of the question's terms a sentence adds to the answer
    paper_weight: float = 0.15  # bonus for the first sentence of a paper, questions in several parts
    neighbour_weight: float = 0.0  # share of the better neighbouring sentence's score a sentence gains
    topic_passages: int = 2  # a one-part question quotes only the papers of this many best passages
    max_encoded: int = 8  # candidate sentences scored by the model (the rest by terms only)
    min_gain: float = 0.05  # a sentence scoring less is not worth its words
    words: int = MAX_WORDS
    words_several: int = MAX_WORDS_SEVERAL


def several_parts(question: str) -> bool:
    """Whether the question asks several things: a second question, a comparison, "how ... and why"."""
    q = question.strip()
    if _SEVERAL.search(q):
        return True
    # a second question clause counts when a question word came before it ("In X, how ..." is one)
    return any(_ASKING.search(q[: m.start()]) for m in _PARTS.finditer(q))


def budget(question: str, how: Selection | None = None) -> int:
    """The answer's length limit in words: 150 for a one-part question, 250 for several parts."""
    how = how or Selection()
    return how.words_several if several_parts(question) else how.words


@dataclass
class Candidate:
    n: int  # passage number from 1
    pos: int  # sentence position in the passage
    text: str  # cleaned for display (prose.clean)
    terms: set[str] = field(default_factory=set)
    before: list[int] = field(default_factory=list)  # candidates it needs first (what "This" means)

    @property
    def words(self) -> int:
        return len(self.text.split())


def candidates(passages: list[str], stemmer: _Stemmer | None = None) -> list[Candidate]:
    """The prose sentences of the passages that may be quoted, each once.

    A sentence referring back brings its predecessor(s) (`before`), up to two back; one whose
    predecessor is not prose is left out. A sentence repeating one met earlier (same words, or
    >= 80% of its words shared with a sentence of similar length) is left out.
    """
    out: list[Candidate] = []
    seen: list[set[str]] = []
    keys: set[str] = set()
    for n, text in enumerate(passages, 1):
        previous: int | None = None  # the candidate index of the sentence just before, if prose
        for pos, (s, e) in enumerate(sentence_spans(text, 0, len(text))):
            sent = prose.clean(text[s:e])
            ok = (6 <= len(sent.split()) <= 70 and prose.kind(sent) is None
                  and not looks_like_instruction(sent))
            words = set(re.findall(r"\w+", sent.lower()))
            key = " ".join(sorted(words))
            if ok and (key in keys or any(_near(words, w) for w in seen)):
                ok = False
            if ok and prose.refers_back(sent):
                if previous is None:
                    ok = False
                else:
                    chain = out[previous].before + [previous]
                    ok = len(chain) <= 2
            if not ok:
                previous = None
                continue
            cand = Candidate(n, pos, sent)
            if prose.refers_back(sent) and previous is not None:  # ok above: it has a predecessor
                cand.before = out[previous].before + [previous]
            if stemmer is not None:
                cand.terms = {stemmer.stemWord(w) for w in re.findall(r"[\w\-]+", sent.lower())}
            keys.add(key)
            seen.append(words)
            out.append(cand)
            previous = len(out) - 1
    return out


def _near(a: set[str], b: set[str]) -> bool:
    small, large = sorted((len(a), len(b)))
    return bool(small) and len(a & b) >= 0.8 * large if small >= 0.7 * large else len(a & b) >= 0.9 * small


def extract(query: str, passages: list[str], stems: set[str], stemmer: _Stemmer, encoder: _Encoder,
            how: Selection | None = None, papers: list[str] | None = None, words: int | None = None) -> str:
    """The extractive answer to `query` from `passages` (best first).

    `stems`: the query's stemmed terms; `papers`: the paper of each passage (None: one paper);
    `words`: the length limit (default `budget(query)`). Returns "" when there are no passages.
    """
    how = how or Selection()
    limit = words or budget(query, how)
    several = several_parts(query)
    passages = passages[: how.passages]
    if papers and not several:  # a one-part question keeps to the papers of its best passages
        topic = set(papers[: how.topic_passages])
        passages = [p if paper in topic else "" for p, paper in zip(passages, papers, strict=False)]
    cands = candidates(passages, stemmer)
    if not cands:
        return f"{passages[0][:300]} [1]" if passages else ""
    idf = _rarity(cands, stems)
    total = sum(idf.values()) or 1.0
    lexical = [how.overlap_weight * sum(idf.get(t, 0.0) for t in c.terms) / total + how.rank_weight / c.n
               for c in cands]
    # only the lexically best candidates go through the model: the answer's main cost
    keep = sorted(range(len(cands)), key=lambda i: -lexical[i])[: how.max_encoded]
    vectors: dict[int, np.ndarray] = {}
    scores = list(lexical)
    if keep:
        emb = encoder.encode([query] + [cands[i].text for i in keep])
        vectors = dict(zip(keep, emb[1:], strict=True))
        dense = {i: float(v @ emb[0]) for i, v in vectors.items()}
        floor = min(dense.values())
        scores = [lexical[i] + dense.get(i, floor) for i in range(len(cands))]
    if how.neighbour_weight:
        scores = _with_neighbours(cands, scores, how.neighbour_weight)
    chosen = _choose(cands, scores, vectors, idf, total, papers if several else None, limit, how)
    return " ".join(f"{cands[i].text} [{cands[i].n}]" for i in chosen)


def _with_neighbours(cands: list[Candidate], scores: list[float], weight: float) -> list[float]:
    """Each sentence gains `weight` x the better score of the sentences next to it in its passage."""
    out = list(scores)
    for i, c in enumerate(cands):
        near = [scores[j] for j in (i - 1, i + 1) if 0 <= j < len(cands) and cands[j].n == c.n
                and abs(cands[j].pos - c.pos) == 1]
        out[i] += weight * max(near, default=0.0)
    return out


def _rarity(cands: list[Candidate], stems: set[str]) -> dict[str, float]:
    """The query's terms weighted by how rare they are among the candidate sentences (BM25's idf)."""
    n = len(cands)
    out = {}
    for t in stems:
        df = sum(t in c.terms for c in cands)
        out[t] = math.log(1 + (n - df + 0.5) / (df + 0.5))
    return out


def _choose(cands: list[Candidate], scores: list[float], vectors: dict[int, np.ndarray],
            idf: dict[str, float], total: float, papers: list[str] | None, limit: int,
            how: Selection) -> list[int]:
    """Greedy selection within `limit` words; returned in reading order (passage, position)."""
    chosen: list[int] = []
    covered: set[str] = set()
    quoted: set[str] = set()
    near = [0.0] * len(cands)  # each candidate's highest similarity to a chosen sentence
    used = 0
    left = set(range(len(cands)))

    def similarity(i: int, j: int) -> float:
        if i in vectors and j in vectors:
            return float(vectors[i] @ vectors[j])
        a, b = cands[i].terms, cands[j].terms
        return len(a & b) / max(1, len(a | b))

    def unit(i: int) -> list[int]:
        return [j for j in cands[i].before if j not in chosen] + [i]

    def gain(i: int) -> float:
        terms = set().union(*(cands[j].terms for j in unit(i))) if cands[i].before else cands[i].terms
        new = sum(w for t, w in idf.items() if t in terms and t not in covered) / total
        paper = papers[cands[i].n - 1] if papers and cands[i].n <= len(papers) else None
        bonus = how.paper_weight if paper is not None and paper not in quoted else 0.0
        return (scores[i] + how.coverage_weight * new + bonus - how.redundancy * near[i]
                - (1.0 if near[i] > 0.9 else 0.0))

    while left and used < limit - 8:
        gains = {i: gain(i) for i in left}
        i = max(gains, key=gains.__getitem__)
        left.discard(i)
        group = unit(i)
        n_words = sum(cands[j].words for j in group)
        if used + n_words > limit and chosen:
            continue
        if chosen and gains[i] < how.min_gain:
            break
        for j in group:
            chosen.append(j)
            left.discard(j)
            covered |= cands[j].terms
            if papers and cands[j].n <= len(papers):
                quoted.add(papers[cands[j].n - 1])
            for k in left:
                near[k] = max(near[k], similarity(k, j))
        used += n_words
    return sorted(chosen, key=lambda i: (cands[i].n, cands[i].pos))
