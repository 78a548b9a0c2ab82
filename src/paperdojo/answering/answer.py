"""Questions -> short answers whose every sentence cites a passage (paper, section, page).

Without a language model the answer is extractive: the sentences of the retrieved passages that
best answer the question, at most ~150 words, each ending with its citation [n]. When the papers do
not cover the question (it names something no indexed paper mentions, or even the best passage is
far from it) we say so and show the nearest sections instead of making an answer up.

With a language model (settings.llm_provider) the same passages go into its prompt (grounding.py),
its text streams out as it is written, and its citations are checked afterwards; when the model
fails, the answer is the extractive one with a note saying why.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN
from wordfreq import zipf_frequency

from paperdojo.answering.cite import PageMap, cite
from paperdojo.answering.extract import Selection, asking_sentences, budget, candidates, extract
from paperdojo.answering.grounding import (
    CITATION,
    build_prompt,
    check_citations,
    clean_rewrite,
    passage_budget,
    rewrite_messages,
)
from paperdojo.answering.leads import PAPER_LEVEL, Leads
from paperdojo.answering.llm import LLM, LLMError, from_settings
from paperdojo.answering.names import PaperNames, paper_names
from paperdojo.answering.retrieve import (
    QUESTION_WORDS,
    Filters,
    Hit,
    Retriever,
    SectionHit,
    content_pairs,
    content_terms,
    find_sections,
    mark,
    plain_question,
    query_terms,
    weighing_terms,
)
from paperdojo.answering.sentence_vectors import SentenceVectors
from paperdojo.library.lexical import TOKEN, stems_of
from paperdojo.records import Chunk, Citation, Source
from paperdojo.settings import Settings

_NAMED = re.compile(r"\b[A-Za-z][\w\-]*[A-Z0-9][\w\-]*\b|\b[A-Z][a-z]{2,}\b")
# where a sentence starts: the text before a word is empty or ends a sentence (".", "?", "!", ":";
# not "e.g.", "i.e.", "vs."), quotes and brackets aside. A capital there is the sentence's, not a
# name's ("... yet ZeRO says it fails. Reconcile these claims.")
_SENTENCE_START = re.compile(r"(?:^|(?<!\be\.g)(?<!\bi\.e)(?<!\bvs)[.?!:])[\s\"'“‘(\[]*$")
# a word that points back to something said before: a personal pronoun, or this/that/these/those used
# as a pronoun (after a verb, a preposition or a question word), not as "the system that pages ..."
_BACK = re.compile(r"\b(it|its|they|them|their|he|she|his|her|which ones?|the former|the latter)\b|"
                   r"(?:^|\b(?:is|are|was|were|does|do|did|about|with|to|of|for|from|on|in|at|between|than|like|and|"
                   r"but|so|why|how|what|then|after|before|by|compare|explain)\s+)(this|that|these|those)\b",
                   re.I)
# "it" that points at nothing: "why is it a problem for X to ...", "it is hard to ...", "makes it possible"
_DUMMY_IT = re.compile(r"\b(?:(?:is|was|isn'?t|wasn'?t)\s+it|it\s+(?:is|was))\s+(?:\w+\s+){0,3}?"
                       r"(?:to|for|that)\b|\bmakes?\s+it\s+(?:possible|impossible|hard|harder|easy|easier|"
                       r"difficult|feasible|practical)\b", re.I)
# a question that continues the last one: "and ...", "what about X?", "same for X?", and a bare
# "compare with X" / "compared to X?" that leaves the other side of the comparison to the last one
_OPENER = re.compile(r"^\W*(and what about|and how about|what about|how about|"  # the longest first
                     r"same (?:question|thing|again)? ?for|compared? (?:with|to)|and|but|so|also|then|"
                     r"what of|versus|vs\.?)\b\s*", re.I)
# a continuation's first words that a standalone rewrite leaves out: "and", "so", "but also"
_CONJUNCTION = re.compile(r"^\W*(?:(?:and|but|so|also|then)\b[\s,]*)+", re.I)
# a singular pronoun for the previous question's subject, which its name can replace
_SINGULAR_BACK = re.compile(r"\b(its|it|this|that)\b", re.I)
_AUX_PRONOUN = re.compile(r"\b(?:does|do|did|is|are|was|were|can|could|would|will|should|has|have)\s+"
                          r"(?:it|they|this|that|these|those)\b", re.I)
_ENDS_ON_PRONOUN = re.compile(r"\b(it|this|that|them|these|those)\W*$", re.I)
_SHORT = 8  # words: a question this short with a pronoun for its subject leans on the last one
# words of conversation before the question proper: "ok, and the eviction policy?"
_DISCOURSE = re.compile(r"^\W*(?:ok(?:ay)?|right|alright|well|great|cool|nice|hmm+|got it|i see|thanks|"
                        r"thank you)\b[\s,.!;:-]*", re.I)
# a short question whose object is a pronoun ("what's the communication cost of that?") or that
# compares without saying with what ("how does FSDP compare?", "does SGLang do something similar?")
_ENDS_ON_OBJECT = re.compile(r"\b(?:of|for|about|with|to|in|on|from|behind|than|over)\s+"
                             r"(?:it|this|that|them|these|those)\W*$", re.I)
_BARE_COMPARISON = re.compile(r"\b(?:compare|similar|different|differ|better|worse|faster|slower|"
                              r"the same)\W*$", re.I)
_NOT_TOPICS = QUESTION_WORDS | set(STOPWORDS_EN)
# a bare "why?" ("why is that?", "how come?") and a topic asked with "how <verb> ...", which "why" can ask
_BARE_WHY = re.compile(r"^\W*(?:why(?:\s+(?:is|was|does|did)\s+(?:that|this|it)(?:\s+so)?|\s+so)?"
                       r"|how\s+come)\W*$", re.I)
_HOW_TOPIC = re.compile(r"^\W*how\s+(?P<rest>(?:do|does|did|is|are|was|were|can|could|would|will)\s+.+?)\W*$",
                        re.I)
# why a question that leans on an earlier one is refused in a chat without one (`Answerer.stream`)
_NOTHING_BEFORE = "it leans on an earlier question, and there is none in this chat"
_COMMON_SHARE = 0.25  # a term in more chunks than this (model, memory, training) names no topic of its own
_NAME_ZIPF = 3.0  # a paper name's word rarer in English names it (`names_a_paper`): "megatron" 2.8
_NAME_SHARE = 0.5  # a name most passages of one paper hold stands for that paper (`Answerer.name_papers`)
_COMPARE = re.compile(r"\b(compared?|comparing|comparison|differ|differs|differences?|different|between|"
                      r"contrast|versus|vs\.?|than|unlike|both|similar|similarit(?:y|ies)|the same|better|"
                      r"worse|faster|slower|cheaper)\b", re.I)


@dataclass
class Answer:
    """An answer to one question: its text with [n] citations, the passages `sources` numbered
    from 1, and how it came about (`query` searched, `stages`, `notes`, `mode`, `ms` in milliseconds).
    A refusal has `refused` True, `reason` saying why and the `nearest` sections instead of sources;
    `citations` holds each cited sentence with the page it stands on (answering.cite)."""
    question: str
    query: str  # what was searched (a follow-up carries the previous topic)
    text: str
    sources: list[Source]
    refused: bool = False
    reason: str = ""
    nearest: list[SectionHit] = field(default_factory=list)
    stages: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. a named paper that is not indexed
    mode: str = "extractive"  # or the language model that wrote it, e.g. "openai:smollm2"
    grounded: bool = True  # False: a model's answer with no valid citation
    llm_error: str = ""  # why the language model was not used, when it failed
    ms: float = 0.0
    citations: list[Citation] = field(default_factory=list)  # each cited sentence with its own page
    interpreted: str = ""  # the earlier question a follow-up was read as continuing ("" if standalone)

    @property
    def cited(self) -> list[Source]:
        """The sources the text cites ([n] in the answer), in source order."""
        used = {int(n) for n in CITATION.findall(self.text)}
        return [s for s in self.sources if s.n in used]

    def to_json(self) -> dict:
        """The answer with every source's provenance (doc, section, pages, char offsets, link), as
        `paperdojo ask --json` prints it and the MCP server returns it."""
        cited = {s.n for s in self.cited}
        return {"question": self.question, "query": self.query, "answer": self.text, "refused": self.refused,
                "reason": self.reason, "notes": self.notes, "mode": self.mode, "grounded": self.grounded,
                "llm_error": self.llm_error, "stages": self.stages, "ms": round(self.ms, 1),
                "sources": [{"n": s.n, "cited": s.n in cited, "url": s.url, "page": s.page,
                             "cited_pages": s.cited_pages, "score": round(s.score, 4), **s.chunk.to_json()}
                            for s in self.sources],
                "nearest": [n.to_json() for n in self.nearest],
                "citations": [c.to_json() for c in self.citations]}  # each cited sentence and its page


# a follow-up that asks again ("why?", "tell me more") when the earlier answers of the chat quoted
# every sentence of the passages found: said instead of the same sentences again
NOTHING_MORE = ("Your papers say nothing more on this than the answers above: ask about another side "
                "of it, or start a new chat")


@dataclass
class Turn:
    query: str  # what was searched
    papers: set[str]  # the papers the answer cited (or the question named)
    question: str = ""  # the question as asked (or as the model rewrote it)
    topic: str = ""  # the standalone question the turn's topic comes from (itself, or what it followed)
    named: set[str] = field(default_factory=set)  # the papers that topic question names
    said: set[str] = field(default_factory=set)  # the sentences the answer quoted (without their [n])


@dataclass
class Conversation:
    """What a follow-up question inherits: the previous topic and the papers it drew on.

    `reset()` forgets everything (the chat's Clear and New-chat buttons, `/new` in `paperdojo chat`).
    """

    turns: list[Turn] = field(default_factory=list)

    @property
    def last(self) -> Turn | None:
        return self.turns[-1] if self.turns else None

    def reset(self) -> None:
        """Start over: the next question is answered on its own."""
        self.turns.clear()

    def to_dict(self) -> dict:
        """The conversation as JSON-able data (sets as sorted lists), read back by `from_dict`: a chat
        kept across a page reload follows up as it did before."""
        return {"turns": [{"query": t.query, "papers": sorted(t.papers), "question": t.question,
                           "topic": t.topic, "named": sorted(t.named), "said": sorted(t.said)}
                          for t in self.turns]}

    @classmethod
    def from_dict(cls, data: object) -> Conversation:
        """A conversation from `to_dict`'s data; what is not a turn of that shape is skipped (data
        kept by a browser may be old or altered), so the result is always usable."""
        turns: list[Turn] = []
        for t in (data.get("turns") if isinstance(data, dict) else None) or []:
            if not isinstance(t, dict) or not isinstance(t.get("query"), str):
                continue

            def strings(key: str, turn: dict = t) -> set[str]:
                value = turn.get(key)
                return {v for v in value if isinstance(v, str)} if isinstance(value, list) else set()

            turns.append(Turn(t["query"], strings("papers"), str(t.get("question") or ""),
                              str(t.get("topic") or ""), strings("named"), strings("said")))
        return cls(turns)


@dataclass
class Reading:
    """How a question was understood: what to search, in which papers, and what it followed."""

    query: str
    papers: set[str]
    topic: str  # the standalone question this one's topic comes from
    follows: str = ""  # the previous question it continues ("" when it stands alone)
    rewritten: str = ""  # a follow-up spelled out as a standalone question (what "Interpreted as" shows)


@dataclass(frozen=True)
class Grasp:
    """How `Answerer.grasp` reads whether the passages speak to a question (settings.py says what
    each value was chosen on): `zipf`, the wordfreq Zipf frequency at and above which a word is
    everyday English and weighs nothing when no passage holds it (5.0: about once in 100,000 words,
    "big", "find", "make"); `weight`, of the unheld specific words against the best cosine + `held`;
    `floor`, below which the question is refused."""

    zipf: float = 5.0
    weight: float = 0.3
    floor: float = 0.0  # 0: never refused by this rule (the settings give the calibrated value)


@dataclass(frozen=True)
class Named:
    """A paper or system a question names: the name as written, where, and the papers it stands for."""

    text: str
    start: int
    end: int
    papers: frozenset[str]


_LOWER_WORD = re.compile(r"(?<![\w\-])[a-z]+(?![\w\-])")  # a lower-case word, not part of a name or compound
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _one_edit(word: str) -> set[str]:
    """The strings one edit from `word` (Norvig's spelling corrector): a letter dropped, two swapped,
    one changed, one added."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    out = {a + b[1:] for a, b in splits if b}
    out |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    out |= {a + c + b[1:] for a, b in splits if b for c in _LETTERS}
    out |= {a + c + b for a, b in splits for c in _LETTERS}
    out.discard(word)
    return out


def _bare(question: str) -> str:
    """A question without its closing punctuation and its opening conjunction ("And how does X
    ...?" typed as a continuation but standing alone), to continue it."""
    bare = question.strip().rstrip("?.!; ")
    rest = _CONJUNCTION.sub("", bare)
    return rest[:1].upper() + rest[1:] if rest else bare


def _leans_back(question: str) -> bool:
    """Whether a question's own words lean on an earlier one: a bare "why?", a pronoun before any word
    of its own topic ("how does it scale?", not a dummy "it is hard to", not "why does each stage
    recompute its forward pass?"), an opener ("and what about ZeRO?") or no content word at all.
    `Answerer.follows` also counts words most passages hold as no topic, which in a library of one
    short paper is every word ("What does the grebe allocator pool?")."""
    question = _DISCOURSE.sub("", question) or question
    if _BARE_WHY.match(question) or _OPENER.match(question):
        return True
    # a pronoun leans back only before the question's first content word ("how does it scale?", "what
    # are its limitations?"); after one it points inside the question ("why does each pipeline stage
    # recompute its forward pass?"), unless it is a short question's subject ("what features does it use?")
    first = next((m.start() for m in TOKEN.finditer(question.lower()) if m.group() not in _NOT_TOPICS), None)
    if first is None:
        return True
    dummy = [m.span() for m in _DUMMY_IT.finditer(question)]
    if any(m.start() <= first and not any(a <= m.start() < b for a, b in dummy)
           for m in _BACK.finditer(question)):
        return True
    return _AUX_PRONOUN.search(question) is not None and len(question.split()) <= _SHORT


def _without(text: str, names: list[Named]) -> str:
    """`text` with the spans of `names` (found in it, in order) left out."""
    bounds = [0] + [x for n in names for x in (n.start, n.end)] + [len(text)]
    return "".join(text[a:b] for a, b in zip(bounds[::2], bounds[1::2], strict=True))


def cited_pages(citations: list[Citation], terms: set[str], stemmer: Stemmer.Stemmer) -> list[int]:
    """The pages of a source's cited sentences that were found in it (Citation.found): the first
    page of the sentence holding most of the question's `terms` (stemmed; ties: the earliest cited)
    first, then every other page the found sentences stand on, in page order; [] when none was found.
    A sentence crossing a page break counts on both pages."""
    found = [c for c in citations if c.found]
    if not found:
        return []
    best = max(found, key=lambda c: len(terms & stems_of(stemmer, c.sentence)))  # max keeps the first of ties
    rest = {p for c in found for p in range(c.page_start, c.page_end + 1)} - {best.page_start}
    return [best.page_start, *sorted(rest)]


def page_url(chunk: Chunk, manifest_docs: dict, pdf_dir: Path | None = None) -> str:
    """A link that opens the cited page: the online PDF with #page=N, else the local file: the
    home's own copy in `pdf_dir` (`Settings.pdf_dir`) when it holds one, so a home that was moved
    or copied links to its own files, else the path recorded at ingest."""
    doc = manifest_docs.get(chunk.doc_id, {})
    base = doc.get("page_url") or ""
    if base and (base.endswith(".pdf") or "/pdf/" in base or "/document" in base):
        return f"{base}#page={chunk.page_start}"
    own = pdf_dir / f"{chunk.doc_id}.pdf" if pdf_dir is not None else None
    if own is not None and own.is_file():
        return own.resolve().as_uri() + f"#page={chunk.page_start}"
    if doc.get("file"):
        return Path(doc["file"]).resolve().as_uri() + f"#page={chunk.page_start}"
    return base


class Answerer:
    """Questions -> cited answers over one Retriever: extractive (the passages' own sentences),
    or written by `llm` from the same passages and checked; refuses what the papers do not cover.

    The thresholds (`min_similarity`, `min_support`, `min_similarity_held`, cosine and support scores
    in 0..1) come from settings.py, which says what each was calibrated on; `k` is the number of
    passages an answer draws on, `passage_chars` the characters of passages a model gets (see
    grounding.passage_budget). Built by `from_settings`."""

    def __init__(self, retriever: Retriever, min_similarity: float = 0.25, k: int = 5,
                 llm: LLM | None = None, passage_chars: int = 6000, min_support: float = 0.59,
                 sentences: SentenceVectors | None = None, min_similarity_held: float = 0.35,
                 pdf_dir: Path | None = None, shortened: int = 5, min_similarity_phrase: float = 0.40,
                 phrase_terms: int = 3, held_common_share: float = 0.05, define_pool: int = 20,
                 limits_first: bool = True, overview_first: bool = True,
                 respelling: tuple[int, float, float] = (5, 2.0, 2.0), grasping: Grasp | None = None) -> None:
        self.retriever = retriever
        # the passage that leads for a definition, a limitation or a names-only question
        self.leads = Leads(retriever, define_pool, limits_first, overview_first)
        # (letters, Zipf below which, Zipf margin): when a query word is searched in the library's
        # spelling as well (`respelled`); settings.py says why
        self.respelling = respelling
        # the vectors of quotable sentences, remembered (and filled ahead by a long-lived process)
        self.sentences = sentences or SentenceVectors(retriever.embedder)
        self.llm = llm  # None: extractive answers
        self.passage_chars = passage_chars  # passages a language model gets, fitted to its context
        self.selection = Selection()  # how the extractive answer picks its sentences
        self.min_similarity = min_similarity  # calibrated on dev.jsonl: see `paperdojo eval`
        self.min_support = min_support  # coverage + 0.5 * cosine below this: refused (see `support`)
        self.min_similarity_held = min_similarity_held  # below this, refused unless every term is held
        self.shortened = shortened  # a term this long is held by a word it begins ("param": "parameters")
        # below this cosine, a question of at most `phrase_terms` content terms is refused when the
        # library holds one of its phrases nowhere (`absent_phrase`)
        self.min_similarity_phrase = min_similarity_phrase
        self.phrase_terms = phrase_terms
        self.held_common_share = held_common_share  # `held` leaves out terms in more of the chunks
        self.grasping = grasping or Grasp()  # how `grasp` weighs the specific words no passage holds
        self.k = k
        self.docs = retriever.index.manifest.get("docs", {})
        self.vocab = retriever.index.vocabulary  # lower-cased words of every chunk's text and title
        self.aliases = PaperNames(self.docs, indexed=True)  # looked up by word: no pattern per paper
        self.absent = PaperNames(self.docs, indexed=False)
        self._pages: PageMap | None = None
        self._title_words: dict[str, set[str]] | None = None  # a title's words -> its papers (`name_papers`)
        self._name_words: set[str] | None = None  # words of the indexed papers' names (`names_a_paper`)
        self.pdf_dir = pdf_dir  # the home's PDF copies, which source links open (`page_url`)

    def page_map(self) -> PageMap | None:
        """Offsets -> pages of the indexed documents (each read from the index when first cited)."""
        if self._pages is None and hasattr(self.retriever.index, "doc_texts"):
            self._pages = PageMap(self.retriever.index.doc_texts())
        return self._pages

    @classmethod
    def from_settings(cls, retriever: Retriever, settings: Settings, k: int = 5,
                      sentences: SentenceVectors | None = None) -> Answerer:
        """An answerer with the configured language model (none for the extractive provider);
        `sentences`: a sentence-vector memory to share (e.g. across index generations)."""
        llm = from_settings(settings)
        return cls(retriever, settings.min_similarity, k, llm,
                   passage_budget(settings.llm_context_tokens, settings.llm_max_tokens), settings.min_support,
                   sentences, settings.min_similarity_held, settings.pdf_dir,
                   shortened=settings.min_shortened_letters,
                   min_similarity_phrase=settings.min_similarity_phrase, phrase_terms=settings.phrase_terms,
                   held_common_share=settings.held_common_share, define_pool=settings.define_pool,
                   limits_first=settings.limits_first, overview_first=settings.overview_first,
                   respelling=(settings.respell_letters, settings.respell_max_zipf, settings.respell_margin),
                   grasping=Grasp(settings.unheld_zipf, settings.unheld_weight, settings.min_grasp))

    def quotable_sentences(self) -> Iterator[str]:
        """Every sentence of the index an extractive answer may quote (extract.candidates of each
        passage), in index order: what `SentenceVectors.warm` is given."""
        for chunk in self.retriever.chunks:
            for cand in candidates([chunk.text]):
                yield cand.text

    # ----------------------------------------------------------------- understanding the question
    def named_papers(self, text: str) -> set[str]:
        """The indexed papers `text` names (by id or title head, see answering.names)."""
        return set(self.aliases.find(text))

    def absent_papers(self, question: str, refused: bool = False) -> list[str]:
        """Notes for papers of the library the question names but that are not indexed; unless the
        answer is `refused` (its nearest sections need not mention the paper), each says the quoted
        passages come from papers that mention it."""
        notes = []
        for doc_id in self.absent.find(question):
            doc = self.docs[doc_id]
            why = doc.get("reason") or doc.get("status", "")
            notes.append(f"{doc.get('title') or doc_id} is in your library but not indexed ({why})"
                         + ("" if refused else "; the passages below come from papers that mention it"))
        return notes

    def scenario_words(self, question: str) -> set[str]:
        """The lower-cased words (`TOKEN`) of a question's scenario that no indexed text holds: words
        only in the statements before its last asking sentence (one ending with "?"), and in no chunk's
        text or title. "I'm onboarding a new teammate to our MoE code. In plain words, how would you
        explain GShard's random routing?" sets the scene with "onboarding", "teammate"; the topic is
        what the asking sentence names. Empty for a question of one sentence, or with no "?": then
        every word may be the topic. A word the asking sentences use as well is not scenario."""
        sentences, asking = asking_sentences(question)
        if not asking or len(sentences) < 2:
            return set()
        scene = {w.lower() for i, s in enumerate(sentences[: asking[-1]]) if i not in asking
                 for w in TOKEN.findall(s)}
        asked = {w.lower() for i in asking for w in TOKEN.findall(sentences[i])}
        asked |= {w.lower() for s in sentences[asking[-1] + 1:] for w in TOKEN.findall(s)}
        return {w for w in scene - asked if w not in self.vocab}

    def unknown_names(self, question: str) -> list[str]:
        """Specific names in the question (acronyms, proper nouns) that no indexed text contains; a
        name only in the question's scenario (`scenario_words`: "keyed by URL prefix. What is the
        analogous structure in SGLang?") is the scene, not the topic, and is left out."""
        out = []
        scene = self.scenario_words(question)
        for m in _NAMED.finditer(question):
            w = m.group()
            base = re.sub(r"('s|-style|-based|-like)$", "", w)
            if (w.istitle() and _SENTENCE_START.search(question[: m.start()])) or w.lower() in QUESTION_WORDS:
                continue  # "Explain ...", "... claims. Reconcile them", "ELI5: ...": words of asking
            if scene and all(t.lower() in scene for t in TOKEN.findall(base)):
                continue
            parts = [p for p in base.split("-") if p]
            singular = base[:-1] if len(base) > 3 and base.endswith("s") else base  # "ReduceScatters"
            if (base.lower() not in self.vocab and singular.lower() not in self.vocab
                    and not all(p.lower() in self.vocab for p in parts)
                    and not ("_" in base and self.spelled_apart(base))):
                out.append(base)
        return out

    def spelled_apart(self, name: str) -> bool:
        """Whether an identifier joined by underscores ("x86_64", "conv3_2") stands in some chunk's
        text with its parts in a row, apart or hyphenated ("x86 64", "conv3 2"): pdftotext turns an
        underscore set in a PDF into a space, so the paper spells the name it prints that way. Only
        the chunks holding the name's rarest part (by BM25) are read; False when no part of two or
        more letters or digits is a BM25 term (`TOKEN`)."""
        parts = [p for p in re.split(r"[_\-]+", name) if p]
        indexed = [p for p in parts if TOKEN.fullmatch(p) and self.retriever.share(
            self.retriever.stemmer.stemWord(p.lower())) > 0]
        if len(parts) < 2 or not indexed:
            return False
        rare = max(indexed, key=lambda p: self.retriever.idf(self.retriever.stemmer.stemWord(p.lower())))
        apart = re.compile(r"(?<![\w\-])" + r"[\s_\-]+".join(map(re.escape, parts)) + r"(?![\w\-]*\w)", re.I)
        rows = np.nonzero(self.retriever.bm25_scores(rare) > 0)[0]
        return any(apart.search(self.retriever.chunks[int(r)].text) for r in rows)

    def _subjects(self, question: str) -> tuple[list[int], list[int]]:
        """(where the question names papers of the library, where its content words outside those
        names are): character offsets, in order; a content word is one not in most passages."""
        matches = list(self.aliases.matches(question).values())
        asking = {self.retriever.stemmer.stemWord(w) for w in QUESTION_WORDS}
        content = []
        for m in TOKEN.finditer(question):  # BM25's words
            word = m.group().lower()
            if any(a.start() <= m.start() < a.end() for a in matches):
                continue  # part of a paper's name ("ZeRO", "Flash" in "FlashAttention")
            stem = self.retriever.stemmer.stemWord(word)
            if (len(word) > 2 and word not in _NOT_TOPICS and stem not in asking
                    and self.retriever.share(stem) < _COMMON_SHARE):
                content.append(m.start())
        return [a.start() for a in matches], content

    def follows(self, question: str) -> bool:
        """Whether a question cannot stand alone: it points back ("how does it scale?", "and how does
        that compare to X?") before naming anything of its own, continues with a short fragment ("what
        about ZeRO?"), names no topic at all ("why?"), or is short and leaves its object or the other
        side of a comparison to the last question ("what's the cost of that?", "how does FSDP
        compare?"). Words of conversation before it ("ok, and ...") are skipped."""
        question = _DISCOURSE.sub("", question) or question
        named, topic = self._subjects(question)
        if (not named and not topic) or _BARE_WHY.match(question):  # "why?", "how come?"
            return True
        opener = _OPENER.match(question)
        rest = question[opener.end():] if opener else ""
        if opener and len(rest.split()) <= 4 and not re.match(
                r"(what|why|how|when|where|which|who|is|are|does|do|did|can)\b", rest, re.I):
            return True
        dummy = [m.span() for m in _DUMMY_IT.finditer(question)]
        back = next((m for m in _BACK.finditer(question)
                     if not any(a <= m.start() < b for a, b in dummy)), None)
        # neither a word of comparison ("difference", "versus") nor the words pointing back ("between
        # that") is a subject: "what is the difference between that and vLLM?" points back first
        skip = [m.span() for m in _COMPARE.finditer(question)] + ([back.span()] if back else [])
        subject = min([i for i in named + topic if not any(a <= i < b for a, b in skip)] or named + topic)
        if back is not None and back.start() <= subject:
            return True
        # a short question that ends on a pronoun for its topic and has at most a verb of its own
        # besides paper names: "and how does ZeRO do it?", "how does Shard handle that?"
        if (_ENDS_ON_PRONOUN.search(question) and len(question.split()) <= _SHORT
                and len(topic) <= 1):
            return True
        if len(question.split()) <= _SHORT and (_ENDS_ON_OBJECT.search(question)
                                                or _BARE_COMPARISON.search(question)):
            return True
        # a short comparison that names one side at most and says nothing else of its own ("what's the
        # difference with vLLM?", "vLLM versus?"): the other side is the last question's
        if (len(question.split()) <= _SHORT and _COMPARE.search(question)
                and len(self.subjects(question)) <= 1 and not self.own_words(question)):
            return True
        # a short question whose verb's subject is a pronoun ("what features does it use?")
        subject_pronoun = _AUX_PRONOUN.search(question)
        return (subject_pronoun is not None and len(question.split()) <= _SHORT
                and not any(n < subject_pronoun.start() for n in named))

    def standalone(self, question: str, conversation: Conversation | None) -> tuple[str, set[str]]:
        """The query to search and the papers to draw on, carrying a follow-up's context, with the
        library's spelling of the words it misspells (`respelled`)."""
        reading = self.read(question, conversation)
        return self.respelled(reading.query), reading.papers

    def respelled(self, query: str) -> str:
        """`query` with, in brackets, the library's spelling of each lower-case word of it that no
        indexed text holds (`spelling`): "whats the diffrence vs glow's own standard libary" ->
        "... libary (difference library)". The query as given when it has no such word. The words stay
        as typed too, so a name no paper has is still unknown (`unknown_names` reads the question)."""
        letters = self.respelling[0]
        fixes = [self.spelling(w) for w in dict.fromkeys(_LOWER_WORD.findall(query))
                 if len(w) >= letters and w not in self.vocab]
        fixes = list(dict.fromkeys(f for f in fixes if f))
        return f"{query} ({' '.join(fixes)})" if fixes else query

    def spelling(self, word: str) -> str:
        """The indexed word `word` (lower-case, in no indexed text) stands for, or "": its American
        spelling when the library holds that ("tensorise" -> "tensorize", "neighbouring" ->
        "neighboring"); else, when `word` is rare in English (wordfreq Zipf below the second of
        `respelling`), the indexed word one edit away (Damerau: a letter dropped, added, changed or
        two swapped) at least the third of `respelling` Zipf more common, the one in most chunks
        ("libary" -> "library"). Common English words, however rare in the papers, are no typos."""
        american = [re.sub(r"is(?=(?:e|es|ed|ing|ation|ations|er|ers)$)", "iz", word),
                    word.replace("our", "or")]
        held = [w for w in american if w != word and w in self.vocab]
        if held:
            return held[0]
        _, rare, margin = self.respelling
        typed = zipf_frequency(word, "en")
        if typed >= rare:
            return ""
        stem = self.retriever.stemmer.stemWord
        near = [w for w in _one_edit(word) if w in self.vocab and zipf_frequency(w, "en") >= typed + margin]
        return max(near, key=lambda w: (self.retriever.share(stem(w)), w), default="")

    def read(self, question: str, conversation: Conversation | None) -> Reading:
        """How to answer `question` in a conversation: on its own unless it cannot stand alone, when
        it carries the topic (and papers) of the conversation's last standalone question.

        A follow-up that names a paper or system of its own ("what about GPipe?", "and in Megatron?",
        "and how does vLLM compare?") asks the last topic of that new subject: the topic question with
        its subject replaced by the new one, or for a comparison "How does <new> compare with <old>?"
        searched with the topic's words in the papers of both. Any other follow-up is searched with
        its words and the topic's, and spelled out by naming the topic's subject for "it"/"that", or
        as "<topic> — <follow-up>"."""
        papers = self.named_papers(question)
        last = conversation.last if conversation else None
        if last is None or not self.follows(question):
            return Reading(question, papers, question)
        topic = last.topic or last.question or last.query
        before = self.subjects(topic)
        old_papers = set().union(*(n.papers for n in before)) or last.named or last.papers
        new = [n for n in self.subjects(question) if not n.papers <= old_papers]
        if new and not self.own_words(question):
            return self._new_subject(question, topic, before, new, old_papers)
        if new:  # "how does SGLang reuse it?": the new paper's passages, searched with both questions' words
            papers = set().union(*(n.papers for n in new))
            papers |= old_papers if _COMPARE.search(question) else set()
            return Reading(f"{question} {_without(topic, before)}", papers, topic, follows=topic,
                           rewritten=self.spelled_out(question, topic, []))
        if _COMPARE.search(question) or not papers:
            papers |= last.named or last.papers  # what the topic named, else what its answer cited
        return Reading(f"{question} {topic}", papers, topic, follows=topic,
                       rewritten=self.spelled_out(question, topic, before))

    def _new_subject(self, question: str, topic: str, before: list[Named], new: list[Named],
                     old_papers: set[str]) -> Reading:
        """A follow-up fragment naming a new subject (`new`), read against the last `topic` whose
        own subjects are `before` (see `read`)."""
        names = " and ".join(dict.fromkeys(n.text for n in new))
        new_papers = set().union(*(n.papers for n in new))
        olds = [n for n in before if not n.papers <= new_papers]
        if _COMPARE.search(question):
            other = " and ".join(dict.fromkeys(n.text for n in olds))
            rewritten = (f"How does {names} compare with {other}?" if other
                         else f"{_bare(topic)}: how does {names} compare?")
            # searched with the topic's words but not its names again, which would outweigh the new
            # side; the topic stays the last standalone question ("what about Orca?" next asks it of Orca)
            return Reading(f"{rewritten} {_without(topic, before)}", new_papers | old_papers, topic,
                           follows=topic, rewritten=rewritten)
        if olds:
            swapped = re.escape(olds[0].text)
            rewritten = re.sub(rf"(?<![\w\-]){swapped}(?![\w\-]*\w)", lambda _: names, topic)
        else:
            rewritten = f"{_bare(topic)} in {names}?"
        return Reading(f"{rewritten} {question}", new_papers, rewritten, follows=topic, rewritten=rewritten)

    def own_words(self, question: str) -> list[str]:
        """The words a follow-up says besides names, words of asking, openers, comparison words and
        words pointing back ("between that"): its own content ("reuse" in "how does SGLang reuse it?";
        none in "and how does vLLM compare?")."""
        question = _DISCOURSE.sub("", question) or question
        _, content = self._subjects(question)
        skip = [m.span() for m in _COMPARE.finditer(question)]
        skip += [(n.start, n.end) for n in self.subjects(question)]
        skip += [m.span() for m in _BACK.finditer(question)]  # "between that", "with these"
        opener = _OPENER.match(question)
        if opener:
            skip.append(opener.span())
        return [TOKEN.match(question, i).group() for i in content  # type: ignore[union-attr]
                if not any(a <= i < b for a, b in skip)]

    def spelled_out(self, question: str, topic: str, before: list[Named]) -> str:
        """A follow-up without a subject of its own as a standalone question: its first "it", "its",
        "this" or "that" (not a dummy "it is hard to") replaced by the name of the topic's subject
        ("why does that reduce HBM accesses?" after a FlashAttention question: "Why does
        FlashAttention reduce HBM accesses?"), else "<topic> — <follow-up>". A bare "why?" ("why is
        that?") asks why of the whole topic: "Why does GPipe ...?" after "How does GPipe ...?"."""
        asked = _CONJUNCTION.sub("", _DISCOURSE.sub("", question)).strip() or question
        if _BARE_WHY.match(asked):  # "why is that?" asks why of the whole topic, not of its subject
            how = _HOW_TOPIC.match(topic)  # "why?" after "How does GPipe keep memory low?"
            return f"Why {how['rest']}?" if how else f"{_bare(topic)} — why?"
        names = " and ".join(dict.fromkeys(n.text for n in before))
        mentioned = any(re.search(re.escape(n.text), asked, re.I) for n in before)
        dummy = [m.span() for m in _DUMMY_IT.finditer(asked)]
        back = next((m for m in _SINGULAR_BACK.finditer(asked)
                     if not any(a <= m.start() < b for a, b in dummy)), None)
        if names and back is not None and not mentioned and len(before) == 1:
            name = f"{names}'s" if back.group().lower() == "its" else names
            out = asked[: back.start()] + name + asked[back.end():]
            return out[0].upper() + out[1:]
        return f"{_bare(topic)} — {asked}"

    def subjects(self, text: str) -> list[Named]:
        """The papers and systems `text` names, in order of where: the papers of the library by name
        (answering.names), and each other name-like word (an acronym or capitalized word, not a word
        of asking, found in the indexed text) that stands for papers (`name_papers`)."""
        found = [Named(m.group(), m.start(), m.end(), frozenset({doc_id}))
                 for doc_id, m in self.aliases.matches(text).items()]
        first = text.split()[0] if text.split() else ""
        for m in _NAMED.finditer(text):
            word = m.group()
            if any(n.start <= m.start() < n.end for n in found) or word.lower() in QUESTION_WORDS:
                continue
            if (m.start() == text.index(first) and word.istitle()) or word.lower() not in self.vocab:
                continue  # "Explain ...": the first word capitalized; a word no paper holds
            papers = self.name_papers(word)
            if papers:
                found.append(Named(word, m.start(), m.end(), frozenset(papers)))
        out: list[Named] = []
        for n in sorted(found, key=lambda n: (n.start, n.end)):
            last = out[-1] if out else None
            if last is not None and (last.start, last.end) == (n.start, n.end):  # one name, two papers
                out[-1] = Named(n.text, n.start, n.end, last.papers | n.papers)
            elif last is not None and not text[last.end : n.start].strip():  # "Ring Attention": one name
                both = (last.papers & n.papers) or (last.papers | n.papers)
                out[-1] = Named(text[last.start : n.end], last.start, n.end, both)
            else:
                out.append(n)
        return out

    def names_a_paper(self, question: str) -> bool:
        """Whether the question names an indexed paper: by one of its names (`named_papers`), or by a
        word of one (answering.names.paper_names: its id and its title's head) that is not everyday
        English (wordfreq Zipf below `_NAME_ZIPF`): "megatron" (of "Megatron-LM", 2.8) in "why does
        megatron move the layer norm", though three papers share it; not "ring" or "attention"."""
        if self.named_papers(question) or self.named_papers(question.replace("-", " ")):
            return True  # "ZeRO-R", "ZeRO-DP": ZeRO's parts, which its name's pattern leaves out whole
        if self._name_words is None:
            self._name_words = {w for doc_id, doc in self.docs.items() if doc.get("status") == "indexed"
                                for name in paper_names(doc_id, doc) for w in re.findall(r"\w+", name.lower())
                                if zipf_frequency(w, "en") < _NAME_ZIPF}
        return any(w.lower() in self._name_words for w in TOKEN.findall(question))

    def name_papers(self, name: str) -> set[str]:
        """The indexed papers a system's name as written ("vLLM", "Megatron") stands for: the papers
        whose title holds it as a word ("Megatron" in "Megatron-LM: ..."), else the paper that holds
        most passages naming it, when these hold at least half of the passages naming it
        (`_NAME_SHARE`; "vLLM": 57 of 86 in PagedAttention's paper; "Attention", in two titles, is in
        many more papers); empty when they do not."""
        key = name.lower()
        if self._title_words is None:
            self._title_words = {}
            for doc_id, doc in self.docs.items():
                if doc.get("status") == "indexed":
                    for word in set(re.findall(r"\w+", (doc.get("title") or "").lower())):
                        self._title_words.setdefault(word, set()).add(doc_id)
        rows = np.flatnonzero(self.retriever.bm25_scores(key) > 0)
        if not len(rows):
            return set()
        counts = np.bincount(self.retriever.chunk_doc[rows], minlength=len(self.retriever.index.doc_ids))
        titled = self._title_words.get(key, set())
        numbers = self.retriever.doc_numbers(titled) if titled else np.array([int(counts.argmax())])
        if counts[numbers].sum() < _NAME_SHARE * len(rows):
            return set()
        return {self.retriever.index.doc_ids[int(i)] for i in numbers}

    # ----------------------------------------------------------------- retrieval
    def retrieve(self, query: str, papers: set[str], filters: Filters | None, k: int) -> list[Hit]:
        """Top passages; the papers the question names rank higher, each one near the top. A compound
        the named papers spell apart is searched in their spelling too (`paper_spelling`).

        Three kinds of question get a passage of their own first, where the ranking for their few
        words misses it (answering.leads): limitations, a definition, and a question that only names
        papers (`overview_asked`)."""
        query = self.paper_spelling(query, papers)
        hits = self.retriever.search(query, k, filters, papers=papers)

        def overview() -> list[frozenset[str]] | None:
            return [n.papers for n in self.subjects(query)] if self.overview_asked(query) else None

        return self.leads.lead(query, hits, papers, filters, k, overview)

    def overview_asked(self, question: str) -> bool:
        """Whether the question names indexed papers or systems and asks nothing else of them
        (`own_words` empty, or words about a paper as a whole, `PAPER_LEVEL`: "What problem does Orca
        solve?", "What are the key insights behind FlashAttention?"): "How does Orca differ from vLLM?",
        "TVM vs Ansor?", "Explain SGLang.".
        An acronym in capitals that names no paper of the library is a concept asked about, not a
        system: "why is GSPMD SPMD and not MPMD?" asks about SPMD and MPMD (both stand for GSPMD's
        and GShard's passages, `subjects`)."""
        named = self.subjects(question)
        if not named or any(not PAPER_LEVEL.fullmatch(w) for w in self.own_words(question)):
            return False
        return not any(word.isupper() and not self.aliases.find(word)
                       for n in named for word in re.findall(r"[\w\-]+", n.text))

    def paper_spelling(self, query: str, papers: set[str]) -> str:
        """`query` with, in brackets, the split spelling of each joined word of 7+ letters that the
        named `papers` never write joined but write as two words in a row, hyphenated or not: "How does
        TVM do autotuning?" -> "How does TVM do autotuning? (auto tuning)" (TVM writes "auto-tuning";
        BM25 splits at hyphens, so "autotuning" matched none of its passages). The query as given
        when it names no paper or has no such word.

        Only the named papers' spelling counts: the library-wide rule (a word also written hyphenated
        anywhere is searched both ways) gave other words of the eval files a twin that pulled in other
        passages (docs/measurements.md, "Hyphenated spellings in questions")."""
        if not papers:
            return query
        stemmer = self.retriever.stemmer
        inside = np.isin(self.retriever.chunk_doc, self.retriever.doc_numbers(papers))
        extra: list[str] = []
        for word in dict.fromkeys(w.lower() for w in TOKEN.findall(query) if len(w) >= 7 and w.isalpha()):
            if (self.retriever.bm25_scores(word)[inside] > 0).any():
                continue  # the paper writes it so
            for i in range(3, len(word) - 2):
                head, tail = word[:i], word[i:]
                if head not in self.vocab or tail not in self.vocab:
                    continue
                pair = (stemmer.stemWord(head), stemmer.stemWord(tail))
                rows = np.nonzero((self.retriever.bm25_scores(head) > 0) & inside)[0]
                if self.retriever.holds_pair(pair, rows):
                    extra.append(f"{head} {tail}")
                    break
        return f"{query} ({', '.join(extra)})" if extra else query

    def passages(self, question: str, k: int | None = None, filters: Filters | None = None) -> list[Hit]:
        """The passages a standalone question's answer draws on (what `eval` measures retrieval on)."""
        query, papers = self.standalone(plain_question(question), None)
        return self.retrieve(query, papers, filters, k or self.k)

    # ----------------------------------------------------------------- answering
    def answer(self, question: str, filters: Filters | None = None, k: int | None = None,
               conversation: Conversation | None = None) -> Answer:
        """The finished answer (`stream` gives a language model's text as it is written)."""
        for item in self.stream(question, filters, k, conversation):
            if isinstance(item, Answer):
                return item
        raise RuntimeError("the answer stream ended without an answer")

    def stream(self, question: str, filters: Filters | None = None, k: int | None = None,
               conversation: Conversation | None = None) -> Iterator[str | Answer]:
        """Pieces of text as a language model writes them, then the checked `Answer`, always last.

        Without a model (or when it fails) the only item is the extractive `Answer`. Markup pasted
        into the question (HTML tags, Markdown emphasis, images, link targets) is taken out first
        (`plain_question`).
        """
        started = time.perf_counter()
        k = k or self.k
        notes: list[str] = []
        question = plain_question(question)
        reading = self.read(question, conversation)
        query, papers = self.respelled(reading.query), reading.papers
        asked, rewrite_stage = self.rewrite(question, query, conversation, notes)
        if asked != question:
            query = asked
        if reading.follows:
            notes.insert(0, f'Interpreted as: "{asked if asked != question else reading.rewritten}" '
                         f'(a follow-up to "{reading.follows}"; start a new chat to ask it on its own).')
        hits = self.retrieve(query, papers, filters, k)
        stages = self.retriever.stages() + ([rewrite_stage] if rewrite_stage else [])
        stems = query_terms(self.retriever.stemmer, query)
        sources = [Source(n, h.chunk, page_url(h.chunk, self.docs, self.pdf_dir), mark(h.chunk.text, stems,
                                                                       self.retriever.stemmer, 600),
                          h.score) for n, h in enumerate(hits, 1)]
        result = Answer(question, query, "", sources, stages=stages, notes=notes, interpreted=reading.follows)
        # a follow-up with no earlier question in this chat ("how does it scale?" as a chat's first
        # question): without a subject of its own, whatever it found is about something else
        orphan = not reading.follows and self.follows(question) and _leans_back(question)
        pointless = orphan and not self.subjects(question)
        reason = _NOTHING_BEFORE if pointless else self.refusal(question, hits, query)
        at = 1 if reading.follows else 0  # after "Interpreted as", before the rewrite's notes
        notes[at:at] = self.absent_papers(question, refused=bool(reason))
        if orphan and not pointless:  # "and what about ZeRO?" in a new chat
            notes.append("This reads as a follow-up (it leans on an earlier question), but there is no "
                         "earlier question in this chat: " + ("ask it in full." if reason else
                                                      "it was answered as it stands; ask it in full if you "
                                                      "meant more."))
        if pointless:
            result.refused, result.reason = True, reason
            result.text = ("This question leans on an earlier one (\"it\", \"that\", \"why?\"), but this "
                           "chat has no earlier question: ask it in full, naming the paper, system or "
                           "technique it is about.")
        elif reason:
            result.refused, result.reason = True, reason
            result.nearest = find_sections(self.retriever, query, 5, filters)
            result.text = f"The papers in your library do not cover this: {reason}."
        elif self.llm is not None:
            yield from self.generate(result, asked, hits, stems)
        else:
            # a follow-up that asks again without a subject or words of its own ("why?", "tell me
            # more") is answered with what the last answer did not quote yet
            last = conversation.last if conversation else None
            bare = _BARE_WHY.match(_DISCOURSE.sub("", question) or question) or not self.own_words(question)
            again = (last.said if last is not None and reading.follows and not self.subjects(question)
                     and bare else set())
            result.text = self.extract(query, hits, stems, question,
                                       reading.papers if reading.follows else None, avoid=again)
            if again and not result.text:  # every sentence found was quoted already in this chat
                if any(len(w) > 2 and w.lower() not in _NOT_TOPICS for w in TOKEN.findall(question)):
                    # a word of its own, common in a small library ("and pipelining?"): on that, again
                    result.text = self.extract(query, hits, stems, question,
                                               reading.papers if reading.follows else None)
                else:  # "tell me more", "go on", "why?": the same sentences again would say nothing
                    result.refused = True
                    result.text = NOTHING_MORE
            stages.append("extractive answer")
        if not result.refused:  # each cited sentence gets its own page, and the link opens it
            result.citations = cite(result.text, result.sources, self.page_map())
            terms = weighing_terms(self.retriever.stemmer, query, stems)
            for src in result.sources:
                src.cited_pages = cited_pages([c for c in result.citations if c.n == src.n], terms,
                                              self.retriever.stemmer)
                if src.cited_pages:
                    src.url = re.sub(r"#page=\d+$", f"#page={src.page}", src.url)
        if conversation is not None:
            cited = {s.chunk.doc_id for s in result.cited} or papers
            topic = asked if asked != question else reading.topic
            pieces = CITATION.split(result.text)[::2]  # the text between the [n] marks
            said = set() if result.refused else {t.strip() for t in pieces if t.strip()}
            if reading.follows and conversation.last is not None and topic == conversation.last.topic:
                said |= conversation.last.said  # "why?" then "tell me more": neither repeats the first
            conversation.turns.append(Turn(query, cited, asked if asked != question else query, topic=topic,
                                           named=self.named_papers(topic), said=said))
        result.ms = (time.perf_counter() - started) * 1000
        yield result

    def rewrite(self, question: str, query: str, conversation: Conversation | None,
                notes: list[str]) -> tuple[str, str]:
        """A follow-up made standalone by the language model, and the stage that says what happened.

        Without a model, or for a question that is not a follow-up, the question itself and no stage.
        """
        last = conversation.last if conversation else None
        if self.llm is None or last is None or query == question:
            return question, ""
        kept = "follow-up kept the previous question's words"
        try:
            rewritten = clean_rewrite(self.llm.complete(rewrite_messages(last.question, question)), question)
        except LLMError as exc:
            notes.append(f"{exc}; the follow-up was searched with the previous question's words")
            return question, kept
        if not rewritten or not self.named_papers(question) <= self.named_papers(rewritten):
            return question, kept  # a rewrite that drops a paper the follow-up names is worse than none
        return rewritten, f"follow-up rewritten by {self.llm.label}"

    def generate(self, result: Answer, question: str, hits: list[Hit], stems: set[str]) -> Iterator[str]:
        """The model's answer from the passages, streamed; then its citations are checked.

        Any failure of the model (down, timed out, unknown model, nothing written) leaves one note and
        the extractive answer instead.
        """
        assert self.llm is not None
        prompt = build_prompt(question, result.sources, self.passage_chars)
        pieces: list[str] = []
        try:
            for piece in self.llm.stream(prompt.messages):
                pieces.append(piece)
                yield piece
            if not "".join(pieces).strip():
                raise LLMError(f"the language model at {self.llm.where} wrote nothing")
        except LLMError as exc:
            result.llm_error = str(exc)
            result.notes.append(f"{exc}; showing the extractive answer instead")
            result.text = self.extract(result.query, hits, stems, result.question)
            result.stages.append("extractive answer (language model failed)")
            return
        result.mode = self.llm.label
        result.stages.append(f"{self.llm.label} on {prompt.passages} passages")
        if prompt.omitted:
            result.notes.append(f"{prompt.omitted} instruction-like sentence(s) in the passages were "
                                "withheld from the model")
        checked = check_citations("".join(pieces), result.sources[: prompt.passages])
        result.text = checked.text
        if checked.removed:
            shown = ", ".join(f"[{n}]" for n in sorted(set(checked.removed)))
            result.notes.append(f"removed citation(s) {shown}: the model cited passages it was not given")
        if not checked.grounded:
            result.grounded = False
            result.notes.append("the model's answer cites no passage, so it is not grounded in the papers; "
                                "the extractive evidence follows it")
            evidence = self.extract(result.query, hits, stems, result.question)
            result.text += "\n\nEvidence from the papers: " + evidence
        elif checked.uncited:
            result.notes.append(f"{checked.uncited} sentence(s) of the model's answer cite no passage")
        if checked.attributed:
            result.notes.append(f"{checked.attributed} sentence(s) the model left uncited now cite the "
                                "passage that holds most of their words")

    def support(self, query: str, hits: list[Hit]) -> tuple[float, float]:
        """How well the passages speak to the question: (support, coverage), where coverage is the
        best passage's IDF-weighted share of the question's content terms (`Retriever.coverage`) and
        support = coverage + 0.5 * the best cosine. Unanswerable questions that name nothing unknown
        still leave their specific terms uncovered ("attention sinks", "compute_at")."""
        coverage = self.retriever.coverage(self.topic_terms(query), hits, shortened=self.shortened)
        return coverage + 0.5 * max(h.dense for h in hits), coverage

    def topic_terms(self, query: str) -> set[str]:
        """The query's stemmed content terms (`content_terms`) without those of its scenario that no
        chunk holds (`scenario_words`): no passage can hold them, and they are not what is asked."""
        stemmer = self.retriever.stemmer
        scene = {stemmer.stemWord(w) for w in self.scenario_words(query)}
        return {t for t in content_terms(stemmer, query)
                if t not in scene or self.retriever.share(t) > 0}

    def held(self, query: str, hits: list[Hit]) -> float:
        """The best passage's IDF-weighted share (0..1) of the query's content terms and of its phrases
        (two content words in a row, `content_pairs`), each phrase held only as two words in a row.
        A term in more than `held_common_share` of the chunks is not asked for: "cost" in "What is the
        cost of ZeRO stage 3?" is the paper's "communication volume" (its phrases still are).

        A pair with a word of a paper's name the query uses is no phrase: "ZeRO stage" is ZeRO's stage
        (the paper writes "stage 3 of ZeRO-DP"), "speculative decoding" stays one."""
        terms = {t for t in self.topic_terms(query) if self.retriever.share(t) <= self.held_common_share}
        return self.retriever.coverage(terms, hits, set(self.phrases(query)), shortened=self.shortened)

    def phrases(self, query: str) -> list[tuple[str, str]]:
        """The query's phrases (`content_pairs`, in order of the question) as the pairs `held` checks:
        a pair with a word of a paper's name the query uses is none ("ZeRO stage")."""
        stemmer = self.retriever.stemmer
        terms = self.topic_terms(query)
        named = {stemmer.stemWord(w.lower()) for m in self.aliases.matches(query).values()
                 for w in TOKEN.findall(m.group())}
        return sorted(p for p in content_pairs(stemmer, query, terms) if not named & set(p))

    def absent_phrase(self, query: str) -> str:
        """The first phrase of a short query that no chunk of the library holds, as typed ("speculative
        decoding", "early exit"), or "".

        Short: at most `phrase_terms` content terms (a long question's word pairs are mostly its
        wording, "glow pick"). Held: the two words in a row in a chunk's text or heading, a compound
        in any spelling (`respelled`: "radix attention" is held by "RadixAttention"). Only the chunks
        that hold the pair's rarer word are read (found by BM25, `Retriever.bm25_scores`)."""
        stemmer = self.retriever.stemmer
        terms = content_terms(stemmer, query)
        if len(terms) > self.phrase_terms:
            return ""
        words = TOKEN.findall(query)
        typed = {(stemmer.stemWord(a.lower()), stemmer.stemWord(b.lower())): f"{a} {b}"
                 for a, b in zip(words, words[1:], strict=False)}
        for pair in self.phrases(query):
            rare = max(pair, key=self.retriever.idf)
            rows = np.nonzero(self.retriever.bm25_scores(rare) > 0)[0]
            if not self.retriever.holds_pair(pair, rows, terms, headings=True):
                return typed.get(pair, " ".join(pair))
        return ""

    def unheld(self, query: str, hits: list[Hit]) -> tuple[float, list[str]]:
        """The specific words the query asks with that no passage of `hits` holds: (their weight as a
        share of the query's content terms, 0..`Grasp.zipf`, and the words as typed, heaviest first).

        Each topic term (`topic_terms`) weighs its IDF in the library; a term of an asking sentence
        (`asked_terms`) that no passage holds (text or heading, any spelling of a compound, a clipped
        word; `Retriever.held_anywhere`) counts its IDF times how far the typed word is below everyday
        English (`Grasp.zipf` minus its wordfreq Zipf frequency, at least 0). The asked-for thing of
        an uncovered question is a specific word the nearest passages lack ("pushdown automaton",
        "salient", "adapter", "linux"); the wording of a covered one that the paper says otherwise is
        mostly everyday English ("big", "stay", "behind"), which weighs little or nothing. Divided by
        the IDF of all topic terms."""
        stemmer = self.retriever.stemmer
        terms = self.topic_terms(query)
        total = sum(self.retriever.idf(t) for t in terms)
        if not total:
            return 0.0, []
        asked = terms & self.asked_terms(query)
        missing = asked - self.retriever.held_anywhere(terms, hits, self.shortened)
        typed: dict[str, str] = {}
        for w in TOKEN.findall(query):
            typed.setdefault(stemmer.stemWord(w.lower()), w.lower())
        weights = {typed.get(t, t): self.retriever.idf(t)
                   * max(0.0, self.grasping.zipf - zipf_frequency(typed.get(t, t), "en")) for t in missing}
        words = [w for w, v in sorted(weights.items(), key=lambda kv: -kv[1]) if v > 0]
        return sum(weights.values()) / total, words

    def asked_terms(self, query: str) -> set[str]:
        """The stemmed words of the query's asking sentences (those ending with "?"); of the whole
        query when it is one sentence or none ends with "?". The statements around them set the
        scene in the asker's words ("Your 13B chat model OOMs while serving even though the weights
        fit comfortably."), which a paper need not use."""
        stemmer = self.retriever.stemmer
        sentences, asking = asking_sentences(query)
        chosen = [sentences[i] for i in asking] if asking and len(sentences) > 1 else [query]
        return {stemmer.stemWord(w.lower()) for x in chosen for w in TOKEN.findall(x)}

    def grasp(self, query: str, hits: list[Hit]) -> tuple[float, list[str]]:
        """How well the passages read as speaking to the question: the best cosine + `held` (the best
        passage's share of the terms and phrases) - `Grasp.weight` x `unheld` (the specific words
        no passage holds), with those words. Below `Grasp.floor`: refused (`refusal`)."""
        missing, words = self.unheld(query, hits)
        best = max(h.dense for h in hits)
        return best + self.held(query, hits) - self.grasping.weight * missing, words

    def refusal(self, question: str, hits: list[Hit], query: str | None = None) -> str:
        """Why the papers do not cover the question, or "" when they do.

        In order: no passage at all (a question about indexed papers as a whole, `overview_asked`, is
        never refused); a specific name no indexed text holds; the best passage is far
        from the question (cosine < min_similarity), or not close (< min_similarity_held) and missing
        some content term or phrase of the question (`held`), or not close (< min_similarity_phrase)
        and a short question's phrase is in no indexed text (`absent_phrase`: "speculative decoding",
        whose two words SGLang has apart); or too little support (`support` <
        min_support: calibrated on dev.jsonl + dev2.jsonl, see docs/measurements.md); or the passages
        do not read as answering it (`grasp` < `Grasp.floor`: close, but the question's specific
        words are in none of them, "a context-free grammar ... a pushdown automaton" near SGLang's
        regular-expression decoding), for a question that names no paper of the library.
        """
        if not hits:
            return "nothing in the library matches (check the paper and category filters)"
        if self.leads.overview_first and self.overview_asked(question):
            return ""  # about indexed papers as a whole ("What problem does Orca solve?"): covered
        unknown = self.unknown_names(question)
        if unknown:
            names = ", ".join(sorted(set(unknown)))
            return f"no indexed paper mentions {names}"
        best = max(h.dense for h in hits)
        if best < self.min_similarity:
            return f"even the closest passage is only loosely related (similarity {best:.2f})"
        if best < self.min_similarity_held and self.held(query or question, hits) < 1.0:
            return (f"the closest passage is only loosely related (similarity {best:.2f}) and does not hold "
                    "all of the question's terms and phrases")
        if best < self.min_similarity_phrase:
            phrase = self.absent_phrase(query or question)
            if phrase:
                return (f'no indexed text has "{phrase}" as a phrase, and the closest passage is only '
                        f"loosely related (similarity {best:.2f})")
        support, coverage = self.support(query or question, hits)
        if support < self.min_support:
            return (f"the closest passages are only loosely related: the best one holds {coverage:.0%} of "
                    f"the question's specific terms (similarity {best:.2f})")
        if self.names_a_paper(question):  # asked about a paper it names: its words may differ from the
            return ""  # asker's ("rewrites" for TASO's "substitutions"), and it is in the library
        grasp, words = self.grasp(query or question, hits)
        if grasp < self.grasping.floor:
            lacking = f" (none has {', '.join(repr(w) for w in words[:3])})" if words else ""
            return (f"the closest passages do not speak to what is asked{lacking}: they hold "
                    f"{coverage:.0%} of the question's specific terms (similarity {best:.2f})")
        return ""

    def extract(self, query: str, hits: list[Hit], stems: set[str], question: str = "",
                named: set[str] | None = None, avoid: set[str] | None = None) -> str:
        """Query-focused prose sentences from the whole passages, each with its citation.

        `stems` are the query's stemmed terms (computed once per answer by the caller); sentences are
        weighed by its content terms, without the words of asking. The length limit follows the
        question as asked (`extract.budget`: 150 words, 250 for several parts); each passage's paper
        and the papers the query names (or `named`: those a follow-up was read as asking about) are
        passed so a comparison quotes every side; the sentences in `avoid` are not quoted again.
        """
        terms = weighing_terms(self.retriever.stemmer, query, stems)
        return extract(query, [h.chunk.text for h in hits], terms, self.retriever.stemmer,
                       self.sentences, self.selection, papers=[h.chunk.doc_id for h in hits],
                       words=budget(question or query, self.selection),
                       named=self.named_papers(query) if named is None else named,
                       avoid={" ".join(t.split()) for t in avoid or ()})
