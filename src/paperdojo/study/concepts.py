"""Concepts worth knowing: key phrases of the prose that answers a question, each inside one sentence.

A reference passage mixes prose with residue of the PDF: table cells ("x28x28 x1x128x256"), figure
labels ("Tracker Mali GPU"), code, bibliography entries and related-work lists ("TensorFlow [1],
MXNet [2]"). Only sentences that read as prose make concepts and reference sentences: enough
function words (English prose has ~40% of them, a table row or a list of names almost none), few
digits and symbols, not a caption, not a list of citations, not from a related-work or references
section. A concept is an n-gram of one such sentence, so it never spans two sentences, and it keeps
the sentence (with its page) that explains it.

Terms are compared after normalisation: lower case, hyphens, slashes and underscores as spaces,
camelCase split, then stemmed ("constant-folding" = "constant folding" = "Constant Folding").
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-'][A-Za-z0-9]+)*")
# function words: what prose is made of besides its terms (articles, pronouns, prepositions,
# auxiliaries, conjunctions, common adverbs); a list of terms has almost none
FUNCTION_WORDS = frozenset(str.split("""
a an the this that these those it its they them their there we our you your he she his her i me my
of in on at to for from by with without into onto over under about as than then so such
and or but nor if when while because since although though unless until whereas whether
is are was were be been being am do does did done has have had having can could may might must
shall should will would not no never only also just even still very more most less least much many
few each every all any some both either neither other another same which who whom whose what where
how why also too here once again already instead rather thus hence therefore however yet
"""))
STOP = FUNCTION_WORDS | frozenset(str.split("""
e.g i.e via per one two three four new well used use uses using based given called see note first
second show shows shown need needs allow allows let lets make makes made take takes get gets got become
becomes like across along around through during before above below among upon toward towards within
"""))
RELATED_SECTIONS = re.compile(r"related work|prior work|previous work|background and related|"
                              r"references|bibliography|acknowledg", re.I)
CAPTION = re.compile(r"^\s*(?:fig(?:ure)?|table|tab|listing|algorithm|alg)\.?\s*\d", re.I)
CITATION_MARK = re.compile(r"\[\d+(?:[,\u2013\-]\s*\d+)*\]|\bet al\b")
# an author-year citation in parentheses: "(Cho & Brand, 2017)", "(Schuster, 2010; Lee & Verma, 2013a)",
# "(Jia et al., 2014)": names, not concepts (innermost parentheses holding a year)
AUTHOR_YEAR = re.compile(r"\([^()]*?[A-Z][^()]*?\b(?:1[89]|20)\d\d[a-z]?\b[^()]*\)")
CODE = re.compile(r"[{}=;<>]|\w\(\w*[,)]|::|->|\+\+")


def split_camel(word: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z][a-z])", " ", word)


def term_words(text: str) -> list[str]:
    """Lower-case words with hyphens, slashes, underscores and camelCase taken apart."""
    text = re.sub(r"[-_/\u2010-\u2014]", " ", text)
    return [w.lower() for w in WORD.findall(split_camel(text))]


def function_share(text: str) -> float:
    """Share of the words of `text` that are function words (0-1; prose ~0.4, a list of terms ~0)."""
    words = WORD.findall(text)
    return sum(w.lower() in FUNCTION_WORDS for w in words) / len(words) if words else 0.0


def is_prose(sentence: str, section: str = "") -> bool:
    """Does this sentence read as the paper's own prose (not a table, caption, code or citation list)?"""
    words = WORD.findall(sentence)
    if len(words) < 6 or RELATED_SECTIONS.search(section or "") or CAPTION.match(sentence):
        return False
    chars = [c for c in sentence if not c.isspace()]
    letters = sum(c.isalpha() for c in chars)
    if letters < 0.75 * len(chars):  # digits and symbols: a table row, an equation, code
        return False
    if len(CITATION_MARK.findall(sentence)) >= 2 or len(CODE.findall(sentence)) >= 2:
        return False
    # a row of a table reads as many short capitalised or numeric tokens with no function words
    return function_share(sentence) >= 0.2


@dataclass
class Candidate:
    """A concept candidate: its words as written, its normalised stems, and where it is explained."""

    phrase: str
    key: tuple[str, ...]  # stems after normalisation
    sentence: int  # index of the reference sentence holding it


def candidates(sentences: list[str], stem: Callable[[str], str], asked: set[str]) -> list[Candidate]:
    """Term n-grams (1-3 words) inside each sentence, not starting or ending in a stop word, and
    not mostly the question's own words. Single words only when they look like terms (TPU,
    all-reduce, FP16)."""
    out = []
    for i, sentence in enumerate(sentences):
        # author-year citations are cut out; an n-gram never spans the cut
        for piece in AUTHOR_YEAR.split(sentence):
            out += _piece_candidates(piece, i, stem, asked)
    return out


def _piece_candidates(text: str, i: int, stem: Callable[[str], str], asked: set[str]) -> list[Candidate]:
    """`candidates` of one stretch of sentence `i` without citations."""
    out = []
    tokens = WORD.findall(text)
    for n in (1, 2, 3):
        for j in range(len(tokens) - n + 1):
            gram = tokens[j : j + n]
            low = [w.lower() for w in gram]
            if low[0] in STOP or low[-1] in STOP or any(len(w) < 3 or w in FUNCTION_WORDS for w in low):
                continue
            if n == 1 and not looks_like_term(gram[0]):
                continue
            key = tuple(stem(w) for w in term_words(" ".join(gram)))
            if not key or 2 * len(set(key) & asked) > len(set(key)):
                continue
            out.append(Candidate(" ".join(gram), key, i))
    return out


def looks_like_term(word: str) -> bool:
    if word.lower().endswith("ly") or len(word) < 4:
        return False
    return any(c.isupper() for c in word[1:]) or any(c.isdigit() for c in word) or "-" in word


def rank_concepts(cands: Iterable[Candidate], df: Counter[str], n_docs: int,
                  relevance: Callable[[list[str]], list[float]], n: int) -> list[Candidate]:
    """The `n` best candidates by term weight (tf-idf over the corpus's chunks) and similarity to the
    question (`relevance`: phrases -> cosine), no two sharing a stem."""
    tf: Counter[tuple[str, ...]] = Counter()
    first: dict[tuple[str, ...], Candidate] = {}
    for c in cands:
        tf[c.key] += 1
        first.setdefault(c.key, c)
    if not tf:
        return []

    def weight(key: tuple[str, ...]) -> float:
        idf = sum(math.log(n_docs / (1 + df.get(s, 0))) for s in key) / len(key)
        return (1 + math.log(tf[key])) * max(idf, 0.0) * (1 + 0.3 * (len(key) - 1))

    ranked = sorted(tf, key=weight, reverse=True)[:40]
    sims = relevance([first[k].phrase for k in ranked])
    top = max(weight(k) for k in ranked) or 1.0
    score = {k: 0.5 * weight(k) / top + 0.5 * s for k, s in zip(ranked, sims, strict=True)}
    chosen: list[tuple[str, ...]] = []
    for key in sorted(ranked, key=lambda k: score[k], reverse=True):
        if any(set(key) & set(c) for c in chosen):
            continue
        chosen.append(key)
        if len(chosen) == n:
            break
    return [first[k] for k in chosen]
