"""Query-focused sentence selection: the extractive answer drawn from the top passages.

The prose sentences of the top passages that best answer the question, in the passages' order, each
ending with its passage's citation [n]. Only prose claims are quoted (prose.py names what the rest
is: pseudo-code, table rows, captions, footnotes, pointers, questions, garbled formulas); a sentence
whose subject refers back ("This", "It") comes with the sentence before it or not at all; no
sentence comes twice, nor a near-copy of one already quoted. Selection is greedy: relevance (cosine
to the question, the question's terms it holds weighted by their rarity among the candidates, also
in a form the stemmer keeps apart: "assumes" for "assumption"; its passage's rank), plus the
question's terms it adds that no chosen sentence holds yet (so each part of a multi-part question is
answered), plus a bonus for a paper not yet quoted in a question with several parts (so each side of
a comparison is heard), minus its similarity to what is already chosen. Before that greedy fill,
each part of a several-part question ("how does X work, and why ..."), each alternative it weighs
("swapping or recomputation") and each paper it names gets its own best sentence, so no part goes
unanswered because another part's sentences score higher; the next item of a list ("(2) ...",
"Second, ...") follows a chosen item. A question asking what a term is ("What is X?", "Define X",
"What does X stand for?") first gets a sentence defining the term (TREC definition-question cues:
"X is a", "X refers to", "X, which is", "we call ... X", "Full Name (X)"), and that sentence leads the
answer. Length follows the question: `budget` words, the citation
marks included.

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
from paperdojo.library.lexical import WordStemmer as _Stemmer
from paperdojo.library.lexical import stems_of

MAX_WORDS = 150  # a one-part question
MAX_WORDS_SEVERAL = 250  # a question in several parts, a comparison, several papers
MAX_WORDS_BRIEF = 60  # "briefly", "in one sentence": two or three sentences
# a request for a short answer (general English, no question set's wording)
BRIEF = re.compile(r"\b(?:briefly|in brief|in (?:one|a single|1|one or two|a couple of|two) (?:sentences?|"
                   r"lines?)|one[- ]liner|in a nutshell|tl;?\s?dr|in a few words|short answer|"
                   r"short version)\b",
                   re.I)
_PARTS = re.compile(r"\?\s+\S|[,;]\s*(?:and\s+|or\s+)?"
                    r"(?:how|why|what|when|which|where|who|is|are|does|do|can)\b"
                    r"|\s(?:and|or)\s+(?:how|why|what|when|which|where|who|whether)\b", re.I)
_ASKING = re.compile(r"\b(?:how|why|what|when|which|where|who|whether|is|are|does|do|did|can|should)\b|\?",
                     re.I)
_SEVERAL = re.compile(r"\b(?:compare[sd]?|comparison|contrast|differ(?:s|ence|ences)?|versus|vs\.?|"
                      r"trade-?offs?|both)\b", re.I)
# two alternatives set against each other: "X instead of Y", "X rather than Y", "either X or Y", "unlike X"
_CONTRAST = re.compile(r"\b(?:instead\s+of|rather\s+than|unlike|whereas|either\b.+\bor)\b", re.I)
# a comparative with its other side ("lower communication than X", "more memory than X", not "more
# than 4", nor "other than X") and a denied alternative ("X and not Y", "X but not Y"): two sides,
# as a contrast has
_COMPARATIVE = re.compile(r"\b(?:[a-z]{2,}er|more|less|fewer|worse)\s+(?:[\w\-']+\s+){0,3}?"
                          r"(?<!other\s)than\s+"
                          r"(?!\d|(?:one|two|three|four|five|ten|twice|half|a\s+few|a\s+dozen)\b)"
                          r"|\b(?:and|but)\s+not\s+(?!only\b)", re.I)
# the alternatives a question weighs: the words either side of "or" / "versus" ("by swapping or by
# recomputation", "a static or a dynamic library"); kept only when both are among the query's terms
_ALTERNATIVES = re.compile(r"([\w\-]+)\s+(?:or|versus|vs\.?)\s+(?:(?:a|an|the|by|to|with)\s+)?([\w\-]+)",
                           re.I)
# the next item of a list: "(2) ...", "ii) ...", "Second, ...", "Finally, ..."
_ITEM = re.compile(r"\W{0,2}(?:\(?(?:\d|[ivx]+|[a-e])\)|(?:second|third|fourth|fifth|finally|lastly)\b)",
                   re.I)


# A question asking what something is or means (the definition questions of TREC QA): "what is/are
# X", "what is meant by X", "what does X mean / stand for", "what do the authors mean by X", "define
# X", "X: what is it", each maybe after a setting said first (`_LEAD`: "In PET, what is X", "For LLM
# serving, what is X"). The group `t` is the term asked about. General English, no question set's wording.
_LEAD = r"^\W*(?:(?:in|for|within|regarding|according\s+to)\s+[^,?]{1,60},\s*)?"
_DEFINITION_QUESTIONS = (
    re.compile(_LEAD + r"(?:so\s+|and\s+)?what(?:'s|\s+is|\s+are)\s+(?:meant\s+by\s+)?(?P<t>.+?)\W*$", re.I),
    re.compile(_LEAD + r"what\s+(?:does|do)\s+(?P<t>.+?)\s+(?:mean|stand\s+for|refer\s+to|denote)\W*$", re.I),
    re.compile(_LEAD + r"what\s+(?:does|do|did)\s+(?:we|you|they|it|the\s+\w+|[\w\-]+)\s+mean\s+by\s+"
               r"(?P<t>.+?)\W*$", re.I),
    re.compile(r"^\W*(?:please\s+)?(?:define|give\s+(?:a|the)\s+definition\s+of|(?:the\s+)?definition\s+of|"
               r"explain\s+what)\s+(?P<t>.+?)(?:\s+(?:is|are|means?))?\W*$", re.I),
    re.compile(r"^\W*(?P<t>[^:?]+?)\s*[:\u2013\u2014-]\s*what\s+(?:is|are)\s+(?:it|they|that|this)\W*$",
               re.I),
)
# where the term ends and its setting starts ("a dialect in MLIR", "mapspace according to Timeloop")
_SETTING = re.compile(r"\s+(?:in|within|from|according\s+to|as\s+used\s+in|as\s+defined\s+in)\s+.*$", re.I)
# words no term of a definition question holds: relations ("the role of X", "the difference between"),
# clauses ("X used for", "how X works") -- these ask about something else than what X is
_NOT_TERM = frozenset({
    "of", "for", "to", "between", "behind", "with", "without", "on", "over", "by", "at", "about",
    "among", "against", "than", "when", "why", "how", "where", "which", "who", "whom", "whose", "that",
    "if", "whether", "do", "does", "did", "can", "could", "should", "would", "will", "used", "needed",
    "important", "better", "worse", "difference", "purpose", "role", "goal", "idea", "point", "benefit",
    "benefits", "advantage", "advantages"})
# a term's generic head, which a definition may leave out ("a roofline" for "a roofline model")
_HEADS = frozenset({
    "model", "models", "method", "methods", "technique", "techniques", "algorithm", "algorithms",
    "approach", "approaches", "mechanism", "mechanisms", "scheme", "schemes", "framework", "frameworks",
    "system", "systems"})
_QUOTES = "\"'\u2018\u2019\u201c\u201d`"
_PAREN = r"(?:\([^()]{1,80}\)\s*)?"
_AFTER_TERM = r"^[" + _QUOTES + r"]?\s*" + _PAREN  # a closing quote, an aside in parentheses
# after the term: a copula with a determiner or "defined/called/used", a defining verb, an appositive
_DEFINING_AFTER = re.compile(
    _AFTER_TERM + r"(?:,?\s*(?:is|are|was|were)\s+(?:(?:also|often|commonly|usually|simply|essentially|"
      r"basically|thus|therefore|then|just|formally)\s+)?(?:(?:a|an|the|one|defined|called|known|what|how)\b|"
      r"used\s+(?:to|for|as)\b)"
      r"|,?\s*(?:refers?\s+to|denotes?|means|stands?\s+for|consists?\s+of|is\s+composed\s+of)\b"
      r"|,\s*(?:a|an)\s)",
    re.I)
# after the term wherever it stands: a non-restrictive relative clause, "i.e.", ", defined as", its acronym
_APPOSITIVE = re.compile(
    _AFTER_TERM + r"(?:,\s*(?:i\.\s?e\.|that\s+is|namely)\W"
      r"|,\s*(?:(?:also\s+)?(?:defined|known|referred\s+to)\s+as|called|termed|dubbed)\b"
      r"|,\s*which\s+(?:is|are|was|were|refers?|denotes?|means|describes?|captures?)\b"
      r"|\(\s*(?:i\.\s?e\.|a|an|the)\W"
      r"|\(\s*[A-Z][A-Za-z0-9\-]{1,10}\s*\))",  # the term introducing its acronym
    re.I)
# before the term: what makes it an object rather than the subject the cues after it speak of ("In X, a
# ...", "For X, the", "the overhead of X is", "Optimizing X is a")
_OBJECT = re.compile(r"\b(?:in|on|at|for|of|with|without|by|from|to|into|under|over|after|before|during|"
                     r"unlike|than|via|through|[a-z]+ing)\s+(?:(?:the|a|an|its|their|our|this|[\w\-]+'s)\s+)?"
                     r"[" + _QUOTES + r"]?$", re.I)
# before the term: a naming verb ("which we call X", "we refer to this as X", "known as X", "dubbed X")
# or an appositive whose head comes first ("a new attention algorithm, X")
_DEFINING_BEFORE = re.compile(
    r"(?:\b(?:call|calls|called|term|terms|termed|name|names|named|dub|dubs|dubbed|coin|coined|known\s+as|"
    r"refer(?:s|red)?\s+to\s+(?:[\w\-]+\s+){0,4}?as|denote[sd]?\s+(?:[\w\-]+\s+){0,4}?(?:as|by))\s+"
    r"(?:(?:it|this|these|them|that|the|a|an|[\w\-]+)\s+){0,3}?"
    r"|(?<!\bas\s)(?<!\bin\s)(?<!\bfor\s)(?<!\bat\s)(?<!\bon\s)(?<!\bby\s)(?<!\bto\s)(?<!\bof\s)"
    r"\b(?:a|an)\s+(?:[\w\-]+\s+){0,5}?[\w\-]+,\s*(?:(?:a|an|the)\s+)?)[" + _QUOTES + r"]?$", re.I)


# before a one-word common noun: a word that narrows it to a kind of it ("the affine dialect", "the LLVM
# dialect"), not a determiner, a possessive or punctuation
_NARROWED = re.compile(r"(?<![\w\-'’])(?!(?:the|a|an|each|every|any|this|that|these|those|our|its|their|"
                       r"such|one|no)\s+$)[A-Za-z][\w\-]*\s+$", re.I)


# before any term: a hyphenated lower-case modifier ("block-sparse FlashAttention, a sparse attention
# algorithm ..." defines block-sparse FlashAttention)
_NARROWED_NAME = re.compile(r"(?<![\w\-])[a-z]+-[a-z][\w\-]*\s+$")


def definition_term(question: str) -> str:
    """The term a question asks the meaning of ("What is a roofline model?" -> "roofline model",
    "Define re-materialization" -> "re-materialization", "What does SSA stand for?" -> "SSA"), or ""
    when it asks something else ("What is the role of X", "What is X used for", "How does X work").
    The first part of a several-part question counts ("What is X in Orca, and why ..." -> "X").
    The term has 1-5 words, no relation word (`_NOT_TERM`), no article, quotes nor setting ("in MLIR")."""
    first = parts(question)[0].strip().rstrip(",;")
    for pattern in _DEFINITION_QUESTIONS:
        m = pattern.match(first)
        if m:
            term = _SETTING.sub("", m.group("t")).strip(" ,;.?!" + _QUOTES)
            term = re.sub(r"^(?:a|an|the)\s+", "", term, flags=re.I).strip(_QUOTES + " ")
            words = re.findall(r"[\w\-]+", term)
            if 1 <= len(words) <= 5 and not any(w.lower() in _NOT_TERM for w in words):
                return term
            return ""
    return ""


def _term_pattern(term: str) -> re.Pattern[str] | None:
    """The term as found in a sentence: case-insensitive, its words joined by a space, a hyphen or
    nothing ("re-materialization" finds "rematerialization"), the last word with a plural ending; a
    term of several words whose last is a generic head (`_HEADS`) is also found without it."""
    words = re.findall(r"\w+", term)
    if not words:
        return None
    forms = [words]
    if len(words) > 1 and words[-1].lower() in _HEADS:
        forms.append(words[:-1])
    alts = ["[\\s\\-]?".join(re.escape(w) for w in f) + r"(?:s|es)?" for f in forms]
    return re.compile(r"(?<![\w\-])(?:" + "|".join(alts) + r")(?![\w\-])", re.I)


def defines(sentence: str, term: str) -> bool:
    """Whether `sentence` defines `term`, by the cues of definitional QA (TREC definition questions):
    the term as subject (not after a preposition or a gerund: `_OBJECT`) followed by "is a/an/the",
    "refers to", "denotes", "stands for" or ", a ..."; the term anywhere followed by ", which is",
    ", defined as", "(i.e. ..." or its acronym in parentheses; the term in parentheses after its
    expansion ("Static Single Assignment (SSA)"); the term named by "we call / term / refer to ... as",
    "known as", or after an appositive head ("a new attention algorithm, X"; not an adverbial "As a
    result, X"). A one-word common noun right after a word that narrows it ("the affine dialect is ...")
    and any term right after a hyphenated modifier ("block-sparse FlashAttention, a ...") are not
    defined (`_NARROWED`, `_NARROWED_NAME`)."""
    pattern = _term_pattern(term)
    if pattern is None:
        return False
    one_noun = term.islower() and len(re.findall(r"\w+", term)) == 1
    for m in pattern.finditer(sentence):
        if (re.search(r"\w[\w\-]*\s*\(\s*$", sentence[: m.start()])
                and re.match(r"\s*\)", sentence[m.end():])):
            return True  # its expansion: "Fully Sharded Data Parallel (FSDP)"
        after = sentence[m.end():]
        before = sentence[: m.start()]
        if (one_noun and _NARROWED.search(before)) or _NARROWED_NAME.search(before):
            continue  # "The affine dialect is a ..." defines the affine dialect, not what a dialect is
        if ((_DEFINING_AFTER.match(after) and not _OBJECT.search(before)) or _APPOSITIVE.match(after)
                or _DEFINING_BEFORE.search(before)):
            return True
    return False


class _Encoder(Protocol):
    def encode(self, texts: list[str]) -> np.ndarray: ...


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
    seeds: bool = True  # each part, alternative and named paper first gets its best sentence
    max_parts: int = 3  # parts of a question seeded at most
    part_encoded: int = 4  # further candidates per part scored by the model (its lexically best)
    # texts embedded per answer at most (question, parts, candidates): one model pass, in this process
    # (the embedder hands 16 or more to its worker processes, and a second pass doubles the time)
    max_texts: int = 15
    # a question's stem a sentence holds in another form: stems of >= `derived` letters, one the other
    # plus at most `derived_extra` letters (Snowball's "assum"/"assumpt", "constrain"/"constraint")
    derived: int = 5
    derived_extra: int = 2
    list_weight: float = 0.2  # bonus for the next item of a list whose previous item was chosen
    # a question asking what a term is ("What is X?", "Define X"): bonus for a sentence defining it
    # (`defines`); with `define_first` the best such sentence is chosen first and leads the answer
    define_weight: float = 0.15
    # a question asking for a quantity ("how many", "how much faster", "what fraction": `QUANTITY`):
    # bonus for a sentence that states one (`states_quantity`), the expected-answer-type match of
    # factoid QA
    quantity_weight: float = 0.15
    define_first: bool = True
    count_marks: bool = True  # each citation mark [n] counts as a word of the budget (as eval counts)
    words: int = MAX_WORDS
    words_several: int = MAX_WORDS_SEVERAL
    words_brief: int = MAX_WORDS_BRIEF


# a question that asks for a quantity: "how many GPUs", "how much memory", "how fast", "what fraction of
# peak", "by how much", "what speedup"
QUANTITY = re.compile(
    r"\bhow (?:many|much|fast|large|big|long|small|high|low|often|accurate|far|close|wide)\b|"
    r"\bby what (?:factor|margin)\b|\bwhat (?:\w+ )?(?:fraction|percentage|percent|share|proportion|ratio|"
    r"speedup|speed-up|throughput|latency|utili[sz]ation|accuracy|size|number|count|overhead|bandwidth)\b",
    re.I)
# a number with a unit or a scale ("502 petaFLOP/s", "3072 GPUs", "52%", "2.5x", "1.6 GB", "13B"), or
# any number of two or more digits that is neither a year nor a citation in brackets
_QUANTITY_STATED = re.compile(
    r"(?<![\w.])\d+(?:[.,]\d+)*\s*(?:%|x\b|×|times\b|[KMGTP]i?B\b|[kKMGTP]?FLOP|[a-z]*flop|[kMBT]\b|"
    r"(?:kilo|mega|giga|tera|peta)?bytes?\b|ms\b|µs\b|us\b|seconds?\b|minutes?\b|hours?\b|days?\b|"
    r"GPUs?\b|TPUs?\b|nodes?\b|cores?\b|tokens?\b|layers?\b|parameters?\b|billion\b|million\b|"
    r"trillion\b)|(?<![\w.\[])(?!(?:19|20)\d\d\b)\d{2,}(?:[.,]\d+)*(?![\w\]])", re.I)


def states_quantity(sentence: str) -> bool:
    """Does the sentence state a quantity (`_QUANTITY_STATED`): "502 petaFLOP/s", "52%", "2.5x",
    "3072 GPUs"? A bracketed citation number ("[12]") is none."""
    return bool(_QUANTITY_STATED.search(sentence))


def several_parts(question: str) -> bool:
    """Whether the question asks several things: a second question, a comparison, "how ... and why"."""
    q = question.strip()
    if _SEVERAL.search(q) or _CONTRAST.search(q) or _COMPARATIVE.search(q):
        return True
    # a second question clause counts when a question word came before it ("In X, how ..." is one)
    return any(_ASKING.search(q[: m.start()]) for m in _PARTS.finditer(q))


# a sentence's end: ".", "?" or "!" before a space (not "e.g.", "i.e.", "vs.")
SENTENCE_END = re.compile(r"(?<!\be\.g\.)(?<!\bi\.e\.)(?<!\bvs\.)(?<=[.?!])\s+")


def asking_sentences(question: str) -> tuple[list[str], list[int]]:
    """The question's sentences (`SENTENCE_END`), and the positions of those that ask (end with "?"):
    "Your 13B model OOMs. Why?" -> (["Your 13B model OOMs.", "Why?"], [1])."""
    sentences = [s for s in SENTENCE_END.split(question.strip()) if s.strip()]
    return sentences, [i for i, s in enumerate(sentences) if s.rstrip().endswith("?")]


def parts(question: str) -> list[str]:
    """The question's parts, in order: it is cut where a further question clause starts (the
    boundaries `several_parts` counts: "..., and why ...", "? What ..."); [question] when it has one."""
    q = question.strip()
    cuts = [0]
    for m in _PARTS.finditer(q):
        if _ASKING.search(q[cuts[-1]: m.start()]):
            cuts.append(m.start() + 1)
    out = [q[a:b].strip(" ,;") for a, b in zip(cuts, [*cuts[1:], len(q)], strict=True)]
    return [p for p in out if p] or [q]


def alternatives(question: str, stems: set[str], stemmer: _Stemmer) -> list[str]:
    """The stemmed terms of the alternatives a question weighs ("swapping or recomputation" ->
    ["swap", "recomput"]): the words either side of "or"/"versus" when both are among `stems`."""
    out: list[str] = []
    for m in _ALTERNATIVES.finditer(question):
        pair = [stemmer.stemWord(w.lower()) for w in m.groups()]
        if pair[0] != pair[1] and all(p in stems for p in pair):
            out += [p for p in pair if p not in out]
    return out


def budget(question: str, how: Selection | None = None) -> int:
    """The answer's length limit in words: 150 for a one-part question, 250 for several parts, 60
    when the question asks for a short answer ("briefly", "in one sentence", "TL;DR": `BRIEF`)."""
    how = how or Selection()
    if BRIEF.search(question):
        return how.words_brief
    return how.words_several if several_parts(question) else how.words


def derived_terms(stems: set[str], terms: set[str], shortest: int = 5, extra: int = 2) -> set[str]:
    """The query's `stems` that `terms` (a sentence's stems) hold in another derived form: Snowball
    stems "assumes" to "assum" and "assumption" to "assumpt", "constrain" and "constraint" apart.
    A pair counts when both stems have >= `shortest` letters and one is the other plus at most `extra`
    letters; longer tails join different words ("inter" of "inter-node" and "interfer", "tensor" and
    "tensorflow"), shorter stems are short words. Returns the stems of `stems` matched only so."""
    out = set()
    for s in stems - terms:
        if len(s) < shortest:
            continue
        for t in terms:
            if (len(t) >= shortest and 0 < abs(len(t) - len(s)) <= extra
                    and (t.startswith(s) or s.startswith(t))):
                out.add(s)
                break
    return out


@dataclass
class Candidate:
    """A sentence an extractive answer may quote: passage `n` (from 1), its position `pos`
    there, its display text, its stemmed terms, and the candidates (by index) that must come before it."""
    n: int  # passage number from 1
    pos: int  # sentence position in the passage
    text: str  # cleaned for display (prose.clean)
    terms: set[str] = field(default_factory=set)
    before: list[int] = field(default_factory=list)  # candidates it needs first (what "This" means)

    @property
    def words(self) -> int:
        """Its length in whitespace-separated words."""
        return len(self.text.split())


def quotable(sentence: str) -> bool:
    """Whether a cleaned sentence may be quoted: 6-70 words, prose (prose.kind), no instruction."""
    return (6 <= len(sentence.split()) <= 70 and prose.kind(sentence) is None
            and not looks_like_instruction(sentence))


# a sentence cut into parts when it is not quotable whole: one too long or short (kind None), a
# fragment, a garbled formula (a formula's sentence and the next one glued at "M. In"); the kinds
# told by how a sentence starts (a caption's "Figure 3:", a
# footnote's mark, a pointer) are not cut, or their parts would lose what tells them
_SPLIT_KINDS = frozenset({None, prose.FRAGMENT, prose.FORMULA})
# a figure's or table's label closing a sentence ("... Figure 7."): the sentence after it is its caption
_FIGURE_LABEL = re.compile(r"\b(?:Figure|Fig\.|Table|Tab\.)\s*\d+[a-z]?\.$")


def sentences(text: str) -> list[str]:
    """The sentences of a passage as an answer may quote them (prose.clean), in order.

    A sentence that is not quotable whole is cut into its parts (prose.pieces: list items, two
    sentences glued at a variable's period), each kept on its own. A run-in heading standing as a sentence of
    its own ("3.3.3 Forward Prefetching.") is not kept but opens the sentence after it ("Forward
    Prefetching: FSDP issues ..."), so that sentence names its subject. The text is unchanged beyond
    that: every sentence is still found in its passage by its letters and digits (answering.cite).
    """
    out: list[str] = []
    lead: str | None = None  # a run-in heading waiting for its first sentence
    label = False  # whether the sentence before ended with a figure's label: this one is its caption
    for s, e in sentence_spans(text, 0, len(text)):
        whole = prose.clean(text[s:e])
        parts = [whole]
        if not label and not quotable(whole) and prose.kind(whole) in _SPLIT_KINDS:
            parts = [prose.clean(text[a:b]) for a, b in prose.pieces(text, s, e)]
        label = bool(_FIGURE_LABEL.search(text, s, e))
        for part in parts:
            title = prose.heading(part) if prose.kind(part) == prose.FRAGMENT else None
            if title is not None:
                lead = title
                continue
            if lead is not None and quotable(part):
                part = f"{lead}: {part}"
            lead = None
            out.append(part)
    return out


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
        for pos, sent in enumerate(sentences(text)):
            ok = quotable(sent)
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
                cand.terms = stems_of(stemmer, sent)
            keys.add(key)
            seen.append(words)
            out.append(cand)
            previous = len(out) - 1
    return out


def _near(a: set[str], b: set[str]) -> bool:
    small, large = sorted((len(a), len(b)))
    return bool(small) and len(a & b) >= 0.8 * large if small >= 0.7 * large else len(a & b) >= 0.9 * small


def extract(query: str, passages: list[str], stems: set[str], stemmer: _Stemmer, encoder: _Encoder,
            how: Selection | None = None, papers: list[str] | None = None, words: int | None = None,
            named: set[str] | None = None, avoid: set[str] | None = None) -> str:
    """The extractive answer to `query` from `passages` (best first).

    `stems`: the query's stemmed content terms (without the words of asking: "how", "why" would
    weigh sentences that happen to hold them); `papers`: the paper of each passage (None: one
    paper); `named`: the papers the question names; `words`: the length limit, citation marks
    included (default `budget(query)`); `avoid`: sentences not to quote (what the last answer of a
    conversation said, for a follow-up that asks again). Returns "" when there are no passages, or
    when every sentence they hold is in `avoid` (the answer repeated everything before).
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
    if how.derived:
        for c in cands:
            c.terms |= derived_terms(stems, c.terms, how.derived, how.derived_extra)
    idf = _rarity(cands, stems)
    total = sum(idf.values()) or 1.0
    lexical = [how.overlap_weight * sum(idf.get(t, 0.0) for t in c.terms) / total + how.rank_weight / c.n
               for c in cands]
    # the parts of a several-part question, each with its own terms and lexical score
    split = [(p, stems & stems_of(stemmer, p)) for p in parts(query)] if several and how.seeds else []
    split = [(p, terms) for p, terms in split if terms][: how.max_parts]
    if len(split) < 2:
        split = []
    part_lexical = []
    for _, terms in split:
        weight = sum(idf.get(t, 0.0) for t in terms) or 1.0
        part_lexical.append([how.overlap_weight * sum(idf.get(t, 0.0) for t in c.terms & terms) / weight
                             + how.rank_weight / c.n for c in cands])
    # only the lexically best candidates (for the question, and for each part) go through the model:
    # the answer's main cost
    keep = sorted(range(len(cands)), key=lambda i: -lexical[i])[: how.max_encoded]
    asking = [query, *(p for p, _ in split)]  # embedded with the candidates: one pass
    room = min(how.part_encoded * len(split), how.max_texts - len(asking) - len(keep))
    # each part's lexically best that the question's did not include, taken in turn
    ranked = [[i for i in sorted(range(len(cands)), key=lambda i: -row[i]) if i not in keep]
              for row in part_lexical]
    for turn in zip(*(r[: how.part_encoded] for r in ranked), strict=False):
        for i in turn:
            if room > 0 and i not in keep:
                keep.append(i)
                room -= 1
    vectors: dict[int, np.ndarray] = {}
    scores = list(lexical)
    seeds: list[list[float]] = []  # per part, alternative or named paper: a score for each candidate
    if keep:
        emb = encoder.encode(asking + [cands[i].text for i in keep])
        asked, emb = emb[: len(asking)], emb[len(asking):]
        vectors = dict(zip(keep, emb, strict=True))
        sims = {i: v @ asked.T for i, v in vectors.items()}  # cosine to the question and to each part
        floor = np.min(np.stack(list(sims.values())), axis=0)
        sim = [sims.get(i, floor) for i in range(len(cands))]
        scores = [lexical[i] + float(sim[i][0]) for i in range(len(cands))]
        seeds = [[row[i] + float(sim[i][k + 1]) for i in range(len(cands))]
                 for k, row in enumerate(part_lexical)]
    if how.neighbour_weight:
        scores = _with_neighbours(cands, scores, how.neighbour_weight)
    defined_term = definition_term(query) if how.define_weight or how.define_first else ""
    defining = {i for i, c in enumerate(cands) if defined_term and defines(c.text, defined_term)}
    for i in defining:
        scores[i] += how.define_weight
    if how.quantity_weight and QUANTITY.search(query):
        for i, c in enumerate(cands):
            if states_quantity(c.text):
                scores[i] += how.quantity_weight
    if defining and how.define_first:
        seeds.insert(0, [scores[i] if i in defining else -math.inf for i in range(len(cands))])
    if several and how.seeds:
        for term in alternatives(query, stems, stemmer):
            seeds.append([scores[i] if term in c.terms else -math.inf for i, c in enumerate(cands)])
        if papers and named and len(named) > 1:
            for paper in sorted(named & set(papers), key=papers.index):
                seeds.append([scores[i] if papers[c.n - 1] == paper else -math.inf
                              for i, c in enumerate(cands)])
    said = {i for i, c in enumerate(cands) if avoid and " ".join(c.text.split()) in avoid}
    if said and len(said) == len(cands):  # all quoted already: quoting them again says nothing new
        return ""
    if said:
        scores = [-math.inf if i in said else x for i, x in enumerate(scores)]
        seeds = [[-math.inf if i in said else x for i, x in enumerate(row)] for row in seeds]
    chosen = _choose(cands, scores, vectors, idf, total, papers if several else None, limit, how, seeds)
    if how.define_first and defining & set(chosen):  # the definition leads, with what it refers back to
        best = max(defining & set(chosen), key=scores.__getitem__)
        lead = [j for j in cands[best].before if j in chosen] + [best]
        chosen = lead + [j for j in chosen if j not in lead]
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
            how: Selection, seeds: list[list[float]] | None = None) -> list[int]:
    """Greedy selection within `limit` words; returned in reading order (passage, position).

    `seeds`: rows of scores (one per part, alternative or named paper; -inf: not eligible); each row's
    best sentence is chosen first, in order, unless that row's best is already chosen.
    """
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
        item = (how.list_weight if i > 0 and i - 1 in chosen and cands[i - 1].n == cands[i].n
                and cands[i - 1].pos == cands[i].pos - 1 and _ITEM.match(cands[i].text) else 0.0)
        return (scores[i] + how.coverage_weight * new + bonus + item - how.redundancy * near[i]
                - (1.0 if near[i] > 0.9 else 0.0))

    pending = list(seeds or [])
    while left and used < limit - 8:
        gains = {i: gain(i) for i in left}
        if pending:
            row = pending.pop(0)
            if max(range(len(row)), key=row.__getitem__) in chosen:
                continue  # this part's best sentence is in the answer already
            i = max(left, key=lambda k: row[k] + gains[k] - scores[k])
            if row[i] == -math.inf:
                continue  # nothing eligible is left
        else:
            i = max(gains, key=gains.__getitem__)
        left.discard(i)
        group = unit(i)
        n_words = sum(cands[j].words + how.count_marks for j in group)
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
