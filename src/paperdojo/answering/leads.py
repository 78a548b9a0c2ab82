"""Which passage leads the answer to three kinds of question that the ranking for their few words
misses: a question asking for limitations (its paper's section on them), one asking what a term is
(the passage where a paper says so), and one that only names papers (each one's abstract).

`Leads.lead` takes the ranked hits of `Retriever.search` and returns them with such a passage first;
the question analysis it needs beyond the hits (whether a question only names papers, and which) is
the Answerer's, passed in (docs/measurements.md, "Definition questions draw on the defining
passage", "Limitation questions", "Questions that only name their papers").
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from paperdojo.answering.extract import asking_sentences, candidates, defines, definition_term, parts
from paperdojo.answering.retrieve import INTRO, Filters, Hit, Retriever

# a question asking what is wrong with something ("What are the limitations of X?", "the downsides"),
# or what is left to do ("What future work does X leave open?")
_LIMITS_ASKED = re.compile(
    r"\b(?:limitations?|drawbacks?|downsides?|weakness(?:es)?|shortcomings?|caveats?|disadvantages?|pitfalls?)\b"
    r"|\bfalls? short\b|\bopen (?:problems?|questions?)\b", re.I)
_FUTURE_ASKED = re.compile(r"\bfuture (?:work|directions?|research)\b", re.I)
# the sections a paper gives to them ("5 Limitations and Future Directions", "7 Discussion"); a
# conclusion's "future work" answers the second kind only
_LIMITS_SECTION = re.compile(r"\blimitations?\b|\bdiscussion\b|\bcaveats?\b|\bshortcomings?\b|"
                             r"\bopen (?:problems?|questions?)\b", re.I)
_FUTURE_SECTION = re.compile(r"\bfuture (?:work|directions?|research)\b|\boutlooks?\b", re.I)


# words that ask about a paper as a whole: its problem, motivation, idea, insight, contribution, goal
PAPER_LEVEL = re.compile(
    r"problems?|solve[sd]?|solving|tackle[sd]?|address(?:es|ed)?|motivat(?:ion|ions|e|es|ed)|ideas?|key|main|"
    r"central|insights?|contributions?|contribute[sd]?|novelty|novel|goals?|purpose|aims?|takeaways?|lessons?|"
    r"paper|behind|big|picture|high-level|overall|essence|point|significance|important|importance|matters?|"
    r"trying|tries|try|achieve[sd]?|propose[sd]?|introduce[sd]?|summary|summarize|summarise", re.I)


def _leading(lead: list[Hit], hits: list[Hit], k: int) -> list[Hit]:
    """The top `k` of `lead` then `hits` without those overlapping a lead passage's text."""
    def overlaps(h: Hit, x: Hit) -> bool:
        return (h.chunk.doc_id == x.chunk.doc_id and x.chunk.char_start < h.chunk.char_end
                and h.chunk.char_start < x.chunk.char_end)

    rest = [h for h in hits if not any(overlaps(h, x) for x in lead)]
    return (lead + rest)[:k]


def first_asked(question: str) -> str:
    """The first part (extract.parts) of a question's first asking sentence (one ending with "?"; the
    first sentence when none does): "A limitation question: DistServe moves KV caches ... When does
    that transfer become a problem, and how ...?" -> "When does that transfer become a problem"."""
    sentences, asking = asking_sentences(question)
    if not sentences:
        return parts(question)[0]
    return parts(sentences[asking[0] if asking else 0])[0]


def _defining(hit: Hit, term: str) -> bool:
    """Whether one of the quotable sentences of `hit` defines `term` (extract.defines)."""
    return any(defines(c.text, term) for c in candidates([hit.chunk.text]))


class Leads:
    """The passages that lead for definition, limitation and names-only questions, over one
    retriever: `define_pool` (how deep a definition is looked for; 0 turns it off), `limits_first`,
    `overview_first` (settings.py says what each was measured on). The rows of each paper's
    abstract and limitation sections are found once, from the index's section names."""

    def __init__(self, retriever: Retriever, define_pool: int = 20, limits_first: bool = True,
                 overview_first: bool = True) -> None:
        self.retriever = retriever
        self.define_pool = define_pool
        self.limits_first = limits_first
        self.overview_first = overview_first
        self._limit_rows: dict[tuple[str, str], list[int]] | None = None
        self._overview_rows: dict[str, int] | None = None

    def lead(self, query: str, hits: list[Hit], papers: set[str], filters: Filters | None, k: int,
             overview: Callable[[], list[frozenset[str]] | None]) -> list[Hit]:
        """The top `k` of `hits` (best first, for `query`) with, first, the passage the question's
        kind calls for, in this order of precedence: limitations (`limits_lead`), a definition
        (`definition_lead`), a question that only names papers (`overview_lead`; `overview()` gives
        the papers of each name it names, or None when it asks something more). `hits` unchanged
        for any other question."""
        if not hits:
            return hits
        first = first_asked(query)
        if self.limits_first and (_LIMITS_ASKED.search(first) or _FUTURE_ASKED.search(first)):
            return self.limits_lead(query, hits, papers, filters, k, future=not _LIMITS_ASKED.search(first))
        term = definition_term(query) if self.define_pool > k else ""
        defined = self.definition_lead(query, term, hits, papers, filters, k) if term else None
        if defined is not None:
            return defined
        named = overview() if self.overview_first else None
        return self.overview_lead(named, hits, filters, k) if named else hits

    def definition_lead(self, query: str, term: str, hits: list[Hit], papers: set[str],
                        filters: Filters | None, k: int) -> list[Hit] | None:
        """`hits` for a question asking what `term` is ("What is RadixAttention?", extract.definition_term)
        when one of the top 2 defines it; else with, first, the best passage of the top `define_pool`
        (of the named papers, if it names any) with a sentence that defines the term (extract.defines):
        a paper names its technique most often in its evaluation and appendix, and says what it is
        once (docs/measurements.md, "Definition questions draw on the defining passage"). None when no
        passage of the pool defines it."""
        if any(_defining(h, term) for h in hits[:2]):
            return hits
        wider = self.retriever.search(query, self.define_pool, filters, papers=papers)
        found = next((h for h in wider if (not papers or h.chunk.doc_id in papers) and _defining(h, term)),
                     None)
        return None if found is None else _leading([found], hits, k)

    def limits_lead(self, query: str, hits: list[Hit], papers: set[str], filters: Filters | None,
                    k: int, future: bool = False) -> list[Hit]:
        """`hits` for a question asking for limitations ("What are the limitations of FlashAttention?",
        "the downsides of X"), with the best passage of a section the paper gives to them (a title
        with "Limitations", "Discussion", `_LIMITS_SECTION`; with `future`, for a question asking
        for future work, also "Future work", `_FUTURE_SECTION`) first: of the named papers, else of
        the top passage's paper. A paper names itself on every page, so such a section ranked 9th to
        46th (docs/measurements.md, "Limitation questions"). `hits` unchanged when one of the top 2
        already is one, or the paper has no such section."""
        kinds = (_LIMITS_SECTION, _FUTURE_SECTION) if future else (_LIMITS_SECTION,)
        if any(kind.search(h.chunk.section) for h in hits[:2] for kind in kinds):
            return hits
        docs = papers or {hits[0].chunk.doc_id}
        keep = self.retriever.mask(filters)
        found = self.limit_rows()
        rows = np.array([i for d in sorted(docs) for kind in kinds for i in found.get((d, kind.pattern), [])
                         if keep[i]], dtype=np.int64)
        if not len(rows):
            return hits
        dense = self.retriever.vectors[rows] @ self.retriever.embedder.encode([query])[0]
        lexical = self.retriever.bm25_scores(query)[rows]
        score = dense + self.retriever.bm25_weight * lexical / max(float(lexical.max()), 1e-9)
        best = int(np.argmax(score))
        lead = Hit(self.retriever.chunks[int(rows[best])], hits[0].score, float(dense[best]))
        return _leading([lead], hits, k)

    def overview_lead(self, named: list[frozenset[str]], hits: list[Hit], filters: Filters | None,
                      k: int) -> list[Hit]:
        """`hits` with, first, the overview (the abstract, else the first introduction passage) of
        each paper the question names (`named`: the papers of each name, in the order named), up to
        k - 2 of them: a question that names
        systems and asks nothing more of them ("How does Orca differ from vLLM?") is answered by what
        each one is; the top passages for its few words were evaluation text (docs/measurements.md,
        "Questions that only name their papers")."""
        keep = self.retriever.mask(filters)
        found = self.overview_rows()
        rows: list[int] = []
        for papers in named:
            for doc_id in sorted(papers):
                row = found.get(doc_id)
                if row is not None and keep[row] and row not in rows:
                    rows.append(row)
        rows = rows[: max(k - 2, 1)]
        if not rows:
            return hits
        return _leading([Hit(self.retriever.chunks[r], hits[0].score, hits[0].dense) for r in rows], hits, k)

    def overview_rows(self) -> dict[str, int]:
        """Paper id -> the chunk number of its overview: the first chunk of its abstract, else of its
        introduction (retrieve.INTRO), found once from the index's section names (no chunk is read)."""
        if self._overview_rows is None:
            self._overview_rows = self._first_rows(INTRO)
            self._overview_rows.update(self._first_rows(re.compile(r"^\s*abstract\s*$", re.I)))
        return self._overview_rows

    def limit_rows(self) -> dict[tuple[str, str], list[int]]:
        """(paper id, section pattern) -> the chunk numbers of the paper's sections on limitations
        (`_LIMITS_SECTION`) and on future work (`_FUTURE_SECTION`), found once from the index's
        section names (no chunk is read)."""
        if self._limit_rows is None:
            self._limit_rows = {}
            doc_ids = self.retriever.index.doc_ids
            for kind in (_LIMITS_SECTION, _FUTURE_SECTION):
                for row in self._section_rows(kind):
                    key = (doc_ids[int(self.retriever.chunk_doc[row])], kind.pattern)
                    self._limit_rows.setdefault(key, []).append(int(row))
        return self._limit_rows

    def _section_rows(self, pattern: re.Pattern[str]) -> np.ndarray:
        """The chunk numbers (ascending) whose section's name `pattern` finds."""
        names = self.retriever.index.section_names
        found = np.array([bool(pattern.search(name)) for name in names], dtype=bool)
        return np.flatnonzero(found[self.retriever.chunk_section]) if len(found) else np.zeros(0, np.int64)

    def _first_rows(self, pattern: re.Pattern[str]) -> dict[str, int]:
        """Paper id -> its first chunk whose section's name `pattern` matches at the start."""
        rows = self._section_rows(re.compile(r"^(?:" + pattern.pattern + ")", pattern.flags))
        docs, first = np.unique(self.retriever.chunk_doc[rows], return_index=True)
        return {self.retriever.index.doc_ids[int(d)]: int(rows[i]) for d, i in zip(docs, first, strict=True)}
