"""Concepts worth knowing: key phrases of the prose that answers a question, each inside one sentence.

A reference passage mixes prose with residue of the PDF: table cells ("x28x28 x1x128x256"), figure
labels ("Tracker Mali GPU"), code, bibliography entries and related-work lists ("TensorFlow [1],
MXNet [2]"). Only sentences that read as prose make concepts and reference sentences: enough
function words (English prose has ~40% of them, a table row or a list of names almost none), few
digits and symbols, not a caption, not a list of citations, not from a related-work or references
section. A concept is an n-gram of one such sentence, so it never spans two sentences, and it keeps
the sentence (with its page) that explains it.

A concept is also a noun phrase worth knowing, not any n-gram of prose (issue 16: "regular basis",
"PyTorch rely", "TensorFlow MXNet Caffe", "roofline diagram roofline" were shown as missed):
- it lies inside one phrase: it never spans a comma, colon, parenthesis or slash (a list of names
  "TensorFlow, MXNet, Caffe" is no concept, nor is "buggy implementations, suboptimal");
- no word repeats, none is an adverb ("randomly walks") or a figure's or the page's own vocabulary
  ("dashed line", "Section V-D"), none is a variable or footnote mark ("x11", "post4");
- it holds at least one term of the library: a word its papers use at least three times, and ten
  times as often as general English does (`Lexicon.is_term`; general English from `wordfreq`); its
  last word (the head) is not rarer in the papers than in general English ("regular basis",
  "parallel fashion", "happens sooner" fail);
- no word is a verb: the papers use it (or its base form) after a subject, modal or "to" ("we
  rely", "it provides") more than after a determiner, or the sentence puts an object right after
  it; the head is no participle ("constraints dictated") nor a word the papers use almost only
  before a noun ("dynamic", "low-level"); the first word does not merely qualify ("various").

Terms are compared after normalisation: lower case, hyphens, slashes and underscores as spaces,
camelCase split, then stemmed ("constant-folding" = "constant folding" = "Constant Folding").
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from wordfreq import zipf_frequency

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
between via despite beyond after regarding except including against behind besides near off out up
down versus vs
"""))
# words that qualify or count rather than name ("various structures", "own software stack", "main
# optimization stages"): never the first word of a concept
GENERIC_MODIFIERS = frozenset(str.split("""
five six seven eight nine ten several various own whole entire main different possible additional
certain particular overall arbitrary huge good great better best worse poor novel recent modern
contemporary traditional interesting notable significant typical existing previous prior former
latter remaining respective corresponding following last next
"""))
RELATED_SECTIONS = re.compile(r"related work|prior work|previous work|background and related|"
                              r"references|bibliography|acknowledg", re.I)
CAPTION = re.compile(r"^\s*(?:fig(?:ure)?|table|tab|listing|algorithm|alg)\.?\s*\d", re.I)
CITATION_MARK = re.compile(r"\[\d+(?:[,\u2013\-]\s*\d+)*\]|\bet al\b")
# an author-year citation in parentheses: "(Cho & Brand, 2017)", "(Schuster, 2010; Lee & Verma, 2013a)",
# "(Jia et al., 2014)": names, not concepts (innermost parentheses holding a year)
AUTHOR_YEAR = re.compile(r"\([^()]*?[A-Z][^()]*?\b(?:1[89]|20)\d\d[a-z]?\b[^()]*\)")
BRACKETED_NUMBER = re.compile(r"\[\s*\d")
CODE = re.compile(r"[{}=;<>]|\w\(\w*[,)]|::|->|\+\+")
TOKEN = re.compile(WORD.pattern + r"|[.,;:()!?\[\]]")  # words and the punctuation that ends a phrase
# phrase boundaries inside a sentence: a concept never spans one
# (any character but letters, digits, spaces, hyphens and apostrophes: punctuation, a period inside
# ("torch.split") or ending a sentence, quotes, symbols "+", "->", Greek letters; a dash with spaces; a
# number standing alone: a page number or a table cell between two words)
PHRASE_BREAK = re.compile(r"[^\sA-Za-z0-9\-'\u2010-\u2013]|\s[-\u2013]\s"
                          r"|(?<![A-Za-z0-9-])\d[\d.]*(?![A-Za-z0-9-])")
# the page's and the figures' own vocabulary: "Section V-D", "dashed line", "red arrows", "top right"
# ("table" and "page" are not in it: "block table", "page table" are concepts)
LAYOUT_WORDS = frozenset(str.split("""
section sections figure figures fig appendix equation eq footnote chapter
left right top bottom middle dashed dotted solid arrow arrows red blue green gray grey orange
yellow purple black white shaded bold bold-faced legend axis x-axis y-axis plot plots curve curves
"""))
LABELLED = frozenset(str.split("section sections figure figures fig table tables appendix equation eq "
                               "algorithm listing chapter"))
# adverbs and adverbial words that do not end in -ly
ADVERBS = frozenset(str.split("""
often quite soon sooner away twice thrice together later almost always usually sometimes far
else ago enough indeed perhaps respectively versa anyway somewhat nonetheless nevertheless
meanwhile moreover furthermore otherwise likewise
"""))
# words ending in -ly that are not adverbs
NOT_ADVERBS = frozenset(str.split("""
assembly family anomaly supply poly monopoly butterfly ply apply reply rely multiply comply
early italy july fly bully jelly belly
"""))
# a word right after one of these is used as a verb ("we rely", "it provides", "can capture")
SUBJECTS = frozenset(str.split("we it they he she can cannot will would could should must may might also "
                               "not then often to"))
# ... and after one of these as a noun ("the basis", "of memory")
DETERMINERS = frozenset(str.split("the a an each every its their our his any some no of"))
# an object right after a word: the word is a transitive verb ("provides a", "enumerates the")
OBJECTS = frozenset(str.split("the a an its their them each every our"))
# a word the papers use this many orders of magnitude (zipf units: log10) more often than general
# English is a term of the library: ten times (1.0) keeps "memory" (+1.9), "layout" (+1.6) and
# drops "regular" (0.0), "basis" (-0.2), "overview" (+0.9) on the 27 shared papers (issue 16)
TERM_SPECIFICITY = 1.0
# ... and they use it at least this often (one or two uses say nothing of a word's rate)
TERM_MIN_COUNT = 3
# below this many words (half a paper) a library says nothing of the rates of its words: the
# lexicon's rules are left out and only the structural ones hold
LEXICON_MIN_WORDS = 5000
# the head (last word) of a concept is not used less often in the papers than in general English
HEAD_SPECIFICITY = 0.0


def split_camel(word: str) -> str:
    """CamelCase split into words at lower-to-upper boundaries ("PipeDream" -> "Pipe Dream")."""
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
    if len(CITATION_MARK.findall(sentence)) >= 2 or len(CODE.findall(sentence)) >= 2 \
            or len(BRACKETED_NUMBER.findall(sentence)) >= 2:  # citations or code: "[0, 1]", "[30, 40]"
        return False
    # a row of a table reads as many short capitalised or numeric tokens with no function words
    return function_share(sentence) >= 0.2


@lru_cache(maxsize=65536)
def general_zipf(word: str) -> float:
    """How often general English uses `word` (lower case), on the Zipf scale: log10 of its
    occurrences per billion words (wordfreq's "en" list; 0 for words it does not know, ~7.7 for
    "the"). Hyphenated words are looked up as wordfreq splits them."""
    return float(zipf_frequency(word, "en"))


@dataclass
class Lexicon:
    """How the library's papers use each word: counts over their passages, and in which contexts.

    `counts`: lower-case word -> occurrences; `total`: words in all; `verb_uses`/`noun_uses`: the
    occurrences right after a subject or modal (SUBJECTS) / a determiner or "of" (DETERMINERS);
    `final_uses`: the occurrences that end a noun phrase (a function word or punctuation follows).
    """

    counts: Counter[str] = field(default_factory=Counter)
    total: int = 0
    verb_uses: Counter[str] = field(default_factory=Counter)
    noun_uses: Counter[str] = field(default_factory=Counter)
    final_uses: Counter[str] = field(default_factory=Counter)

    @classmethod
    def build(cls, texts: Iterable[str]) -> Lexicon:
        """The lexicon of `texts` (the passages of the library)."""
        lex = cls()
        for text in texts:
            tokens = [t.lower() for t in TOKEN.findall(text)] + ["."]
            words = [t for t in tokens if t[0].isalpha()]
            lex.counts.update(words)
            lex.total += len(words)
            for before, word in zip(words, words[1:], strict=False):
                if before in SUBJECTS:
                    lex.verb_uses[word] += 1
                elif before in DETERMINERS:
                    lex.noun_uses[word] += 1
            for word, after in zip(tokens, tokens[1:], strict=False):
                if word[0].isalpha() and (not after[0].isalpha() or after in FUNCTION_WORDS):
                    lex.final_uses[word] += 1
        return lex

    def specificity(self, word: str) -> float:
        """log10 of how much more often the papers use `word` than general English does (Zipf
        units; +1 = ten times as often). A word general English lacks counts as rarer than any it
        knows (Zipf 0)."""
        low = word.lower()
        here = math.log10((self.counts.get(low, 0) + 1) * 1e9 / (self.total + 1))
        return here - general_zipf(low)

    def is_term(self, word: str) -> bool:
        """Is `word` a term of the library: used at least TERM_MIN_COUNT times, and at least ten
        times as often as in general English (TERM_SPECIFICITY)?"""
        return self.counts.get(word.lower(), 0) >= TERM_MIN_COUNT and \
            self.specificity(word) >= TERM_SPECIFICITY

    def is_verb(self, word: str) -> bool:
        """Do the papers use `word` as a verb: more often after a subject, modal or "to" than after
        a determiner? A form in -s or -ing counts as a verb when its base form
        does ("enumerates": "we enumerate"; "requiring": "to require")."""
        low = word.lower()
        forms = [low]
        if low.endswith("s") and not low.endswith(("ss", "us", "is")):
            forms += [low[:-1], low[:-2]] if low.endswith("es") else [low[:-1]]
        if low.endswith("ing") and len(low) > 5:
            stem = low[:-3]
            forms += [stem, stem + "e"] + ([stem[:-1]] if stem[-1] == stem[-2] else [])
        return any(self.verb_uses.get(f, 0) > self.noun_uses.get(f, 0) for f in forms)

    def is_modifier(self, word: str) -> bool:
        """Do the papers use `word` (seen at least 5 times) almost only before another content word
        ("dynamic", "low-level", "asynchronous": under 20% of its uses end a noun phrase), so that it
        cannot be the head of one? Nouns end one in 26-90% of their uses on the shared papers."""
        low = word.lower()
        seen = self.counts.get(low, 0)
        return seen >= 5 and self.final_uses.get(low, 0) < 0.2 * seen


@dataclass
class Candidate:
    """A concept candidate: its words as written, its normalised stems, and where it is explained."""

    phrase: str
    key: tuple[str, ...]  # stems after normalisation
    sentence: int  # index of the reference sentence holding it


def candidates(sentences: list[str], stem: Callable[[str], str], asked: set[str],
               lexicon: Lexicon | None = None) -> list[Candidate]:
    """Term n-grams (1-3 words) inside each phrase of each sentence, not starting or ending in a
    stop word, and not mostly the question's own words. Single words only when they look like terms
    (TPU, all-reduce, FP16). With a `lexicon`, only noun phrases that hold a term of the library
    (see the module's docstring)."""
    out = []
    for i, sentence in enumerate(sentences):
        # author-year citations are cut out; an n-gram never spans the cut, nor a phrase break
        for piece in AUTHOR_YEAR.split(sentence):
            for phrase in PHRASE_BREAK.split(piece):
                out += _piece_candidates(phrase, i, stem, asked, lexicon)
    return out


def _piece_candidates(text: str, i: int, stem: Callable[[str], str], asked: set[str],
                      lexicon: Lexicon | None) -> list[Candidate]:
    """`candidates` of one phrase of sentence `i` without citations."""
    out = []
    tokens = WORD.findall(text)
    lows = [w.lower() for w in tokens]
    # the label after "Section", "Figure", "Table" ("V-D", "IV") is a reference, not a word
    label = [j > 0 and lows[j - 1] in LABELLED for j in range(len(tokens))]
    for n in (1, 2, 3):
        for j in range(len(tokens) - n + 1):
            gram = tokens[j : j + n]
            low = lows[j : j + n]
            if any(label[j : j + n]):
                continue
            if any(len(w) < 3 or w in STOP and w != "per" for w in low) or "per" in (low[0], low[-1]):
                continue
            if n == 1 and not looks_like_term(gram[0]):
                continue
            if not is_noun_phrase(low, lows[j + n] if j + n < len(lows) else "", lexicon):
                continue
            key = tuple(stem(w) for w in term_words(" ".join(gram)))
            if not key or 2 * len(set(key) & asked) > len(set(key)):
                continue
            out.append(Candidate(" ".join(gram), key, i))
    return out


RESIDUE_TOKEN = re.compile(r"[a-z]\d+|[a-z]\d+[a-z]\d+|[a-z]{4,}\d")  # x11, x1a1, post4 (lower case)


def is_noun_phrase(low: list[str], after: str, lexicon: Lexicon | None) -> bool:
    """Can the lower-case words `low` (followed in their phrase by `after`) be a concept worth
    knowing? Structure always (no repeated word, adverb, layout word, variable mark, participle
    head or qualifying first word); with a `lexicon` of at least LEXICON_MIN_WORDS words, also a
    term of the library in it, a head not rarer than in general English nor a mere modifier, and
    no verb (the module's docstring)."""
    if len(set(low)) < len(low) or any(w in LAYOUT_WORDS or w in ADVERBS for w in low):
        return False
    if any(w.endswith("ly") and w not in NOT_ADVERBS for w in low) or low[0] in GENERIC_MODIFIERS:
        return False
    if len(low[-1]) > 4 and low[-1].endswith("ed") and not low[-1].endswith("eed"):
        return False  # "constraints dictated", "microbatches injected": a participle, no head
    if any(RESIDUE_TOKEN.fullmatch(w) and not (w[:-1].isalpha() and general_zipf(w[:-1]) < 3.0)
           for w in low):
        return False  # "x11", "x1a1"; "post4", "accelerator3" (a word and a footnote mark); not "conv3"
    if after in OBJECTS:
        return False  # "GSPMD provides [an ...]": a verb with its object
    if lexicon is None or lexicon.total < LEXICON_MIN_WORDS:
        return True
    if not any(lexicon.is_term(w) for w in low):
        return False
    if lexicon.specificity(low[-1]) < HEAD_SPECIFICITY or lexicon.is_modifier(low[-1]):
        return False
    return not any(lexicon.is_verb(w) for w in low)


def looks_like_term(word: str) -> bool:
    """Whether a word looks like a technical name: inner capitals, a digit or a hyphen,
    at least 4 characters, not an -ly adverb."""
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
