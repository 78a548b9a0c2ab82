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

from paperdojo.answering.extract import Selection, budget, extract
from paperdojo.answering.grounding import (
    CITATION,
    build_prompt,
    check_citations,
    clean_rewrite,
    passage_budget,
    rewrite_messages,
)
from paperdojo.answering.llm import LLM, LLMError, from_settings
from paperdojo.answering.retrieve import Filters, Hit, Retriever, SectionHit, find_sections, mark, query_terms
from paperdojo.records import Chunk, Source
from paperdojo.settings import Settings

_NAMED = re.compile(r"\b[A-Za-z][\w\-]*[A-Z0-9][\w\-]*\b|\b[A-Z][a-z]{2,}\b")
_FOLLOW_UP = re.compile(r"^(and|but|so|also|what about|how about|then|compare|versus|vs)\b|"
                        r"\b(it|its|that|this|they|them|those|these|the same)\b", re.I)
_COMPARE = re.compile(r"\b(compare|comparison|differ|difference|versus|vs\.?|than|unlike|both)\b", re.I)


@dataclass
class Answer:
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

    @property
    def cited(self) -> list[Source]:
        used = {int(n) for n in CITATION.findall(self.text)}
        return [s for s in self.sources if s.n in used]


@dataclass
class Turn:
    query: str
    papers: set[str]
    question: str = ""  # as asked (or as the model rewrote it)


@dataclass
class Conversation:
    """What a follow-up question inherits: the previous topic and the papers it drew on."""

    turns: list[Turn] = field(default_factory=list)

    @property
    def last(self) -> Turn | None:
        return self.turns[-1] if self.turns else None


def page_url(chunk: Chunk, manifest_docs: dict, home: Path | None = None) -> str:
    """A link that opens the cited page: the online PDF with #page=N, else the local file."""
    doc = manifest_docs.get(chunk.doc_id, {})
    base = doc.get("page_url") or ""
    if base and (base.endswith(".pdf") or "/pdf/" in base or "/document" in base):
        return f"{base}#page={chunk.page_start}"
    if doc.get("file"):
        return Path(doc["file"]).resolve().as_uri() + f"#page={chunk.page_start}"
    return base


class Answerer:
    def __init__(self, retriever: Retriever, min_similarity: float = 0.25, k: int = 5,
                 llm: LLM | None = None, passage_chars: int = 6000) -> None:
        self.retriever = retriever
        self.llm = llm  # None: extractive answers
        self.passage_chars = passage_chars  # passages a language model gets, fitted to its context
        self.selection = Selection()  # how the extractive answer picks its sentences
        self.min_similarity = min_similarity  # calibrated on dev.jsonl: see `paperdojo eval`
        self.k = k
        self.docs = retriever.index.manifest.get("docs", {})
        self.vocab = {w.lower() for c in retriever.chunks for w in re.findall(r"[\w\-]+", c.text)}
        self.vocab |= {w.lower() for c in retriever.chunks for w in re.findall(r"[\w\-]+", c.title)}
        self.aliases = self._aliases(indexed=True)
        self.absent = self._aliases(indexed=False)

    @classmethod
    def from_settings(cls, retriever: Retriever, settings: Settings, k: int = 5) -> Answerer:
        """An answerer with the configured language model (none for the extractive provider)."""
        llm = from_settings(settings)
        return cls(retriever, settings.min_similarity, k, llm,
                   passage_budget(settings.llm_context_tokens, settings.llm_max_tokens))

    # ----------------------------------------------------------------- understanding the question
    def _aliases(self, indexed: bool) -> dict[str, re.Pattern]:
        """Names a question may use for a paper: its id and the part of its title before ':'."""
        out: dict[str, re.Pattern] = {}
        for doc_id, doc in self.docs.items():
            if (doc.get("status") == "indexed") != indexed:
                continue
            names = {doc_id}
            head = (doc.get("title") or "").split(":")[0].strip()
            if head and len(head.split()) <= 3 and head.lower() != doc_id:
                names.add(head)
            parts = []
            for name in names:
                flags = 0 if any(c.isupper() for c in name[1:]) else re.I  # "ZeRO" must look like it
                parts.append(f"(?{'i' if flags else ''}:{re.escape(name)})")
            out[doc_id] = re.compile(r"(?<![\w\-])(" + "|".join(parts) + r")(?![\w\-]*\w)")
        return out

    def named_papers(self, text: str) -> set[str]:
        return {doc_id for doc_id, pattern in self.aliases.items() if pattern.search(text)}

    def absent_papers(self, question: str) -> list[str]:
        """Notes for papers of the library the question names but that are not indexed."""
        notes = []
        for doc_id, pattern in self.absent.items():
            if pattern.search(question):
                doc = self.docs[doc_id]
                why = doc.get("reason") or doc.get("status", "")
                notes.append(f"{doc.get('title') or doc_id} is in your library but not indexed ({why}); "
                             "the passages below come from papers that mention it")
        return notes

    def unknown_names(self, question: str) -> list[str]:
        """Specific names in the question (acronyms, proper nouns) that no indexed text contains."""
        words = _NAMED.findall(question)
        first = question.split()[0] if question.split() else ""
        out = []
        for w in words:
            base = re.sub(r"('s|-style|-based|-like)$", "", w)
            if w == first and w.istitle():
                continue
            parts = [p for p in base.split("-") if p]
            if base.lower() not in self.vocab and not all(p.lower() in self.vocab for p in parts):
                out.append(base)
        return out

    def standalone(self, question: str, conversation: Conversation | None) -> tuple[str, set[str]]:
        """The query to search and the papers to draw on, carrying a follow-up's context."""
        papers = self.named_papers(question)
        last = conversation.last if conversation else None
        short = len(question.split()) <= 12
        if last and (_FOLLOW_UP.search(question) or (short and not papers)):
            query = f"{question} {last.query}"
            if _COMPARE.search(question) or not papers:
                papers |= last.papers
            return query, papers
        return question, papers

    # ----------------------------------------------------------------- retrieval
    def retrieve(self, query: str, papers: set[str], filters: Filters | None, k: int) -> list[Hit]:
        """Top passages; a question naming several papers gets passages from each of them."""
        if len(papers) >= 2 and not (filters and filters.papers):
            per = max(2, k // len(papers))
            lists = [self.retriever.search(query, per, Filters({p}, filters.categories if filters else set()))
                     for p in sorted(papers)]
            merged = [h for group in zip(*lists, strict=False) for h in group]
            merged += [h for lst in lists for h in lst if h not in merged]
            return sorted(merged, key=lambda h: -h.score)
        return self.retriever.search(query, k, filters)

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

        Without a model (or when it fails) the only item is the extractive `Answer`.
        """
        started = time.perf_counter()
        k = k or self.k
        notes = self.absent_papers(question)
        query, papers = self.standalone(question, conversation)
        asked, rewrite_stage = self.rewrite(question, query, conversation, notes)
        if asked != question:
            query = asked
        hits = self.retrieve(query, papers, filters, k)
        stages = self.retriever.stages() + ([rewrite_stage] if rewrite_stage else [])
        stems = query_terms(self.retriever.stemmer, query)
        sources = [Source(n, h.chunk, page_url(h.chunk, self.docs), mark(h.chunk.text, stems,
                                                                       self.retriever.stemmer, 600),
                          h.score) for n, h in enumerate(hits, 1)]
        result = Answer(question, query, "", sources, stages=stages, notes=notes)
        reason = self.refusal(question, hits)
        if reason:
            result.refused, result.reason = True, reason
            result.nearest = find_sections(self.retriever, query, 5, filters)
            result.text = f"The papers in your library do not cover this: {reason}."
        elif self.llm is not None:
            yield from self.generate(result, asked, hits, stems)
        else:
            result.text = self.extract(query, hits, stems, question)
            stages.append("extractive answer")
        if conversation is not None:
            cited = {s.chunk.doc_id for s in result.cited} or papers
            conversation.turns.append(Turn(query, cited, asked if asked != question else query))
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

    def refusal(self, question: str, hits: list[Hit]) -> str:
        if not hits:
            return "nothing in the library matches (check the paper and category filters)"
        unknown = self.unknown_names(question)
        if unknown:
            names = ", ".join(sorted(set(unknown)))
            return f"no indexed paper mentions {names}"
        best = max(h.dense for h in hits)
        if best < self.min_similarity:
            return f"even the closest passage is only loosely related (similarity {best:.2f})"
        return ""

    def extract(self, query: str, hits: list[Hit], stems: set[str], question: str = "") -> str:
        """Query-focused prose sentences from the whole passages, each with its citation.

        `stems` are the query's stemmed terms (computed once per answer by the caller). The length
        limit follows the question as asked (`extract.budget`: 150 words, 250 for several parts);
        each passage's paper is passed so a comparison quotes every side.
        """
        return extract(query, [h.chunk.text for h in hits], stems, self.retriever.stemmer,
                       self.retriever.embedder, self.selection, papers=[h.chunk.doc_id for h in hits],
                       words=budget(question or query, self.selection))
