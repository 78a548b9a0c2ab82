"""Hybrid retrieval: dense (FAISS, MiniLM) and lexical (BM25 via bm25s with stemming), fused.

Both see the chunk's heading (paper title and section) as well as its text, so a question naming
a paper or a section matches it. Fusion is linear: cosine + w * BM25 / max BM25 of the query
(on dev.jsonl it matched or beat reciprocal rank fusion on page hit, MRR and key-point recall),
plus a small prior for abstract and introduction passages, which state a paper's key ideas in
few words (dev.jsonl MRR 0.822 -> 0.857; QASPER's detail questions 0.525 -> 0.522).
A chunk also gains a share of its better neighbour's score (relevant text comes in stretches), and
neighbouring chunks of one section that both rank high are merged into one passage, so five hits
are five different passages.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import bm25s
import numpy as np
import Stemmer

from paperdojo.library import lexical as lex
from paperdojo.library.chunk import heading_text
from paperdojo.library.embed import Embedder, resolve_model
from paperdojo.library.lexical import stem_sequence
from paperdojo.library.store import LoadedIndex, search_faiss
from paperdojo.records import Chunk, mark_word
from paperdojo.settings import Settings

log = logging.getLogger(__name__)
logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets DEBUG on its logger at import


INTRO = re.compile(r"^(abstract|introduction|(1|i)(\.\d+)*\.?\s)", re.I)  # "1.1 Our Approach", "I. INTRO"
# back matter about the paper rather than its subject: thanks and funding, and the artifact appendix of
# systems venues (how to install and run the code: "cd $PET_HOME/pet-ae", "This experiment reproduces
# Figure 13"), which names the paper's systems and baselines more often than any other section
BACK_MATTER = re.compile(r"^(?:[A-Z]?\d*(?:\.\d+)*\.?\s*)?(?:acknowledge?ments?|"
                         r"artifact (?:appendix|evaluation|description)|"
                         r"reproducibility (?:checklist|statement))\b", re.I)


class EmptyQuery(ValueError):
    """A question that cannot be searched: blank once white space is stripped (or too long,
    `LongQuery`); its message says which (Retriever.search)."""


class LongQuery(EmptyQuery):
    """A question longer than `Settings.max_question_chars` (a pasted page, not a question)."""


@dataclass
class Hit:
    """One retrieved passage: `score` the fused rank score (higher is better; a reranker's when
    one is set), `dense` the query-chunk cosine, `bm25` the BM25 score divided by the query's best (0..1).
    `chunk` may be `matched` (the chunk that scored) joined with its neighbours."""
    chunk: Chunk
    score: float  # fused score (higher is better)
    dense: float  # cosine similarity of query and chunk
    bm25: float = 0.0  # BM25 score normalized by the query's best
    matched: Chunk | None = None  # the chunk that scored; `chunk` may hold its neighbours too

    def __post_init__(self) -> None:
        self.matched = self.matched or self.chunk


@dataclass
class Filters:
    """Which papers a search may return: paper ids and/or category names (matched ignoring
    case); empty sets mean no restriction, and a Filters with both empty is false."""
    papers: set[str] = field(default_factory=set)
    categories: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.papers or self.categories)


class Reranker:
    """An optional cross-encoder (sentence-transformers), named in settings, loaded on first use.

    Offline, only a local folder or a model already in the cache loads; when it cannot load, the
    reason is kept and reported with every answer instead of silently ranking without it.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.error = ""
        self._model: Any = None  # a sentence-transformers CrossEncoder, loaded on first use

    def available(self) -> bool:
        """Whether the cross-encoder loaded (loads it on first call; the reason for a
        failure is kept in `error` and logged once)."""
        if self._model is None and not self.error:
            try:
                from sentence_transformers import CrossEncoder

                self._model = CrossEncoder(resolve_model(self.name), device="cpu")
            except Exception as exc:  # noqa: BLE001 - any failure means: not available, say why
                self.error = f"{type(exc).__name__}: {exc}"[:300]
                log.warning("reranker %s unavailable: %s", self.name, self.error)
        return self._model is not None

    def rerank(self, query: str, hits: list[Hit]) -> list[Hit]:
        """`hits` re-scored by the cross-encoder against `query` (their `score` replaced by
        its relevance score), best first. Call only when `available()`."""
        scores = self._model.predict([(query, h.chunk.text) for h in hits], show_progress_bar=False)
        for h, score in zip(hits, scores, strict=True):
            h.score = float(score)
        return sorted(hits, key=lambda h: -h.score)


class Retriever:
    """Search over a loaded index; build once, query many times."""

    def __init__(self, index: LoadedIndex, embedder: Embedder, bm25_weight: float = 0.5,
                 reranker: str = "", rerank_pool: int = 20, intro_prior: float = 0.05,
                 compound_boost: float = 0.5, merge_chunks: int = 2, neighbour_weight: float = 0.2,
                 paper_boost: float = 0.1, merge_pool: int = 3, exact_dense: bool = False,
                 lexical_candidates: int = 3000, max_query_chars: int = 4000,
                 back_matter_prior: float = -0.3) -> None:
        """`exact_dense` scores every chunk's vector even with an ANN index (the reference of
        `paperdojo bench --only scale`: its recall@10 is measured against this). With an ANN index,
        the `lexical_candidates` best BM25 chunks are scored exactly too (measured by the scale bench,
        see docs/measurements.md: recall@10 against exact hybrid search rises with it)."""
        self.index = index
        self.max_query_chars = max_query_chars  # a longer query is refused (LongQuery)
        self.lexical_candidates = lexical_candidates
        self.paper_boost = paper_boost  # added to the fused score of the papers a question names
        self.merge_pool = merge_pool  # passages are formed from this many times k ranked chunks
        self.neighbour_weight = neighbour_weight
        self.merge_chunks = merge_chunks  # neighbouring hits of one section merge up to this many chunks
        self.bm25_weight = bm25_weight
        self.reranker = Reranker(reranker) if reranker else None
        self.rerank_pool = rerank_pool
        self.compound_boost = compound_boost
        self.embedder = embedder
        self.chunks = index.chunks  # read by row from the index: only hits' text is ever read
        self.n = len(self.chunks)
        # exact search over the memory-mapped vectors for a flat index; otherwise the ANN index
        # finds candidates and their exact scores come from the same vectors
        self.exact = index.exact or exact_dense
        self.vectors = index.vectors
        self.chunk_doc = index.chunk_doc
        self.chunk_section = index.chunk_section
        self.doc_number = {doc_id: i for i, doc_id in enumerate(index.doc_ids)}
        self.stemmer = lex.stemmer()
        self.bm25 = index.bm25  # built at ingest, postings memory-mapped
        self.same_next = self.chunk_section[:-1] == self.chunk_section[1:]
        # a passage's words for a question's terms (`_passage_words`), remembered: refusal reads the
        # same top passages for the same terms twice (support's coverage, then `held_anywhere`)
        self._words: OrderedDict[tuple[str, frozenset[str], int],
                                 tuple[set[str], set[tuple[str, str]]]] = OrderedDict()
        self._words_lock = threading.Lock()  # the app answers from several threads
        intro = np.array([bool(INTRO.match(name)) for name in index.section_names], dtype=bool)
        back = np.array([bool(BACK_MATTER.match(name)) for name in index.section_names], dtype=bool)
        self.prior = (intro_prior * intro[self.chunk_section] + back_matter_prior * back[self.chunk_section]
                      ).astype(np.float32) if self.n else np.zeros(0, dtype=np.float32)
        docs = index.manifest.get("docs", {})
        self.category = {doc_id: d.get("category", "") for doc_id, d in docs.items()}
        self.doc_category = np.array([self.category.get(d, "").lower() for d in index.doc_ids], dtype=object)

    @classmethod
    def from_settings(cls, index: LoadedIndex, embedder: Embedder, settings: Settings,
                      exact_dense: bool = False) -> Retriever:
        """The retriever the settings describe (fusion weight, reranker, introduction and back-matter
        priors)."""
        embedder = embedder.matching(index.manifest.get("model", ""))
        return cls(index, embedder, settings.bm25_weight, settings.reranker,
                   intro_prior=settings.intro_prior, compound_boost=settings.compound_intro_boost,
                   merge_chunks=settings.merge_chunks, neighbour_weight=settings.neighbour_weight,
                   paper_boost=settings.paper_boost, exact_dense=exact_dense,
                   lexical_candidates=settings.lexical_candidates,
                   max_query_chars=settings.max_question_chars, back_matter_prior=settings.back_matter_prior)

    def mask(self, filters: Filters | None) -> np.ndarray:
        """A boolean array over the index's chunks (shape (n,)): True where a chunk belongs
        to a paper and a category the filters allow (all True without filters)."""
        keep = np.ones(self.n, dtype=bool)
        if filters and filters.papers:
            keep &= np.isin(self.chunk_doc, self.doc_numbers(filters.papers))
        if filters and filters.categories:
            wanted = {x.lower() for x in filters.categories}
            docs = np.flatnonzero([c in wanted for c in self.doc_category])
            keep &= np.isin(self.chunk_doc, docs)
        return keep

    def doc_numbers(self, doc_ids: set[str] | frozenset[str]) -> np.ndarray:
        """The index's document numbers of these ids (ids it does not hold are left out)."""
        return np.array(sorted(self.doc_number[d] for d in doc_ids if d in self.doc_number), dtype=np.int32)

    def share(self, stem: str) -> float:
        """The share of chunks (0..1) that hold a stemmed term (0 for a term no chunk holds)."""
        return lex.chunk_count(self.bm25, stem) / max(1, self.n)

    def idf(self, stem: str) -> float:
        """log(chunks / chunks holding the term), the term counted in at least one chunk."""
        n = max(1, self.n)
        return float(np.log(n / max(1, lex.chunk_count(self.bm25, stem))))

    def coverage(self, terms: set[str], hits: list[Hit],
                 pairs: set[tuple[str, str]] | frozenset[tuple[str, str]] = frozenset(),
                 shortened: int = 0) -> float:
        """How much of the question the best passage speaks to: the largest IDF-weighted share (0..1)
        of `terms` (stemmed content terms, see `content_terms`) that one passage (heading included)
        holds. `pairs` (see `content_pairs`) count as units too, each weighing the mean IDF of its two
        terms, held only where the passage has the two words in a row. 1.0 when there is nothing to hold.

        With `shortened` > 0 a term of at least that many letters is also held by a passage word it
        begins: a question's clipped word ("params", "vocab", "async") is the paper's long one
        ("parameters", "vocabulary", "asynchronous"); 0: only the term itself. A compound counts in
        any of its spellings (`respelled`): "autotuning" is held by "auto-tuning", "ping pong" by
        "pingpong", "radix attention" by "RadixAttention"."""
        weights = {t: self.idf(t) for t in terms}
        pair_weights = {p: (self.idf(p[0]) + self.idf(p[1])) / 2 for p in pairs}
        total = sum(weights.values()) + sum(pair_weights.values())
        if not total:
            return 1.0
        best = 0.0
        for h in hits:
            held, adjacent = self._passage_words(h, terms, shortened)
            got = (sum(w for t, w in weights.items() if t in held)
                   + sum(w for p, w in pair_weights.items() if p in adjacent))
            best = max(best, got / total)
        return best

    def held_anywhere(self, terms: set[str], hits: list[Hit], shortened: int = 0) -> set[str]:
        """The stemmed `terms` that some passage of `hits` holds (heading included), in the sense of
        `coverage`: any spelling of a compound, and with `shortened` a clipped word."""
        held: set[str] = set()
        for h in hits:
            held |= self._passage_words(h, terms, shortened)[0] & terms
        return held

    def _passage_words(self, hit: Hit, terms: set[str],
                       shortened: int) -> tuple[set[str], set[tuple[str, str]]]:
        """A passage's stemmed words (heading included, compounds of `terms` respelled, and each term
        of at least `shortened` letters that begins one of them) and its stemmed words in a row; the
        last `_PASSAGE_WORDS_KEPT` are remembered (callers must not change the sets)."""
        text = heading_text(hit.chunk.title, hit.chunk.section) + " " + hit.chunk.text
        key = (text, frozenset(terms), shortened)
        with self._words_lock:
            if key in self._words:
                self._words.move_to_end(key)
                return self._words[key]
        words = respelled(self.stemmer, stem_sequence(self.stemmer, text), set(terms))
        held, adjacent = set(words), set(zip(words, words[1:], strict=False))
        if shortened:
            held |= {t for t in terms if len(t) >= shortened and t not in held
                     and any(w.startswith(t) for w in held)}
        with self._words_lock:
            self._words[key] = (held, adjacent)
            if len(self._words) > _PASSAGE_WORDS_KEPT:
                self._words.popitem(last=False)
        return held, adjacent

    def bm25_scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk for `query`: float32 [n]."""
        return lex.scores(self.bm25, lex.tokens([query], self.stemmer)[0], self.n)

    def holds_pair(self, pair: tuple[str, str], rows: Sequence[int] | np.ndarray,
                   terms: set[str] | None = None, headings: bool = False) -> bool:
        """Whether a chunk at one of `rows` has the stemmed `pair` as two words in a row: in its text,
        with `headings` in its title and section heading too, and with `terms` a compound of those
        terms in any spelling (`respelled`)."""
        for r in rows:
            chunk = self.chunks[int(r)]
            text = heading_text(chunk.title, chunk.section) + " " + chunk.text if headings else chunk.text
            words = stem_sequence(self.stemmer, text)
            if terms is not None:
                words = respelled(self.stemmer, words, terms)
            if pair in zip(words, words[1:], strict=False):
                return True
        return False

    def search(self, query: str, k: int = 5, filters: Filters | None = None, pool: int = 50,
               papers: set[str] | frozenset[str] = frozenset()) -> list[Hit]:
        """The top `k` passages for `query`, best first.

        `papers` are the papers the question names (ids): their chunks gain `paper_boost`, and when it
        names two or more, each one's best passage is kept within the top 5 (a cross-paper question
        needs both sides). Passages are formed from `merge_pool` * k ranked chunks before the top k are
        taken, so a lower-ranked neighbour still joins its passage (measured with the boost on
        dev.jsonl MRR 0.868 -> 0.884, dev2.jsonl MRR 0.739 -> 0.761, key points 0.728 -> 0.755).
        Raises EmptyQuery for an empty query, LongQuery for one over `max_query_chars` characters.
        """
        query = query.strip()
        if not query:
            raise EmptyQuery("the question is empty")
        if len(query) > self.max_query_chars:
            raise LongQuery(f"the question is {len(query):,} characters long; ask in at most "
                            f"{self.max_query_chars:,} (one question at a time, not a pasted page)")
        keep = self.mask(filters)
        if not keep.any():
            return []
        qvec = self.embedder.encode([query])[0]
        if not self.exact:
            return self._search_candidates(query, qvec, keep, k, pool, papers)
        lexical = self.bm25_scores(query)
        lexical = np.where(keep, lexical, 0.0)
        dense = self.dense_scores(qvec, lexical, keep, pool)
        lexical = lexical / lexical.max() if lexical.max() > 0 else lexical
        # a question in several parts is answered best where the paper gives its overview
        prior = self.prior * (1 + self.compound_boost * (len(question_parts(query)) - 1))
        named = np.isin(self.chunk_doc, self.doc_numbers(papers)) if papers else 0.0
        fused = np.where(keep, self.with_neighbours(dense + self.bm25_weight * lexical) + prior
                         + self.paper_boost * named, -np.inf)
        order = top_order(fused, min(max(pool, self.merge_pool * k), int(keep.sum())))
        rerank = self.reranker is not None and self.reranker.available()
        want = max(k, self.rerank_pool) if rerank else k
        hits = self._passages(order, fused, dense, lexical, self.merge_pool * want)
        if rerank and self.reranker is not None:
            return self.reranker.rerank(query, hits[:want])[:k]
        return each_paper_near_top(hits, papers, k)

    def _search_candidates(self, query: str, qvec: np.ndarray, keep: np.ndarray, k: int, pool: int,
                           papers: set[str] | frozenset[str]) -> list[Hit]:
        """`search` with an ANN index: the same fusion, computed over the candidates only (the ANN
        and BM25 candidates and their neighbours, see `candidates`), not over every chunk. A chunk
        outside them has dense score -1 in the full fusion, so it adds nothing to a neighbour and
        ranks below them (at 100k passages, load ~21: the fusion over every chunk took ~40 ms of each
        query, and grows with the library)."""
        lexical = self.bm25_scores(query)
        if not keep.all():
            lexical[~keep] = 0.0
        rows = self.candidates(qvec, lexical, keep, pool)
        dense = np.asarray(self.vectors[rows] @ qvec, dtype=np.float32)
        top = float(lexical[rows].max()) if len(rows) else 0.0  # the best BM25 chunk is a candidate
        lex = lexical[rows] / top if top > 0 else lexical[rows]
        score = dense + self.bm25_weight * lex
        if len(rows) > 1:  # neighbours among the candidates: consecutive chunks of one section
            score = self.with_neighbours(score, (rows[1:] == rows[:-1] + 1)
                                         & self.same_next[np.maximum(rows[1:] - 1, 0)])
        prior = self.prior[rows] * (1 + self.compound_boost * (len(question_parts(query)) - 1))
        named = np.isin(self.chunk_doc[rows], self.doc_numbers(papers)) if papers else 0.0
        kept = keep[rows]
        fused = np.where(kept, score + prior + self.paper_boost * named, -np.inf)
        order = rows[top_order(fused, min(max(pool, self.merge_pool * k), int(kept.sum())))]
        rerank = self.reranker is not None and self.reranker.available()
        want = max(k, self.rerank_pool) if rerank else k
        hits = self._passages(order, fused, dense, lex, self.merge_pool * want, rows)
        if rerank and self.reranker is not None:
            return self.reranker.rerank(query, hits[:want])[:k]
        return each_paper_near_top(hits, papers, k)

    def _passages(self, order: np.ndarray, fused: np.ndarray, dense: np.ndarray, lexical: np.ndarray,
                  want: int, rows: np.ndarray | None = None) -> list[Hit]:
        """Hits in score order, where consecutive chunks of one section that rank high join into one
        passage of up to `merge_chunks` chunks (the best one stays `matched`), and no text comes twice:
        a chunk whose text a better hit already holds (two copies of one paper: another version, a
        rotated scan with the same text) is left out.
        The scores are per chunk, or with `rows` (sorted chunk numbers) per row of `rows`."""
        hits: list[Hit] = []
        spans: list[tuple[int, int]] = []  # the chunk indices each hit holds (first, last)
        seen: set[str] = set()  # the texts of the chunks taken, whitespace-normalized
        for i in order:
            near = [n for n, (a, b) in enumerate(spans)
                    if a - 1 <= i <= b + 1 and self.chunk_section[i] == self.chunk_section[a]]
            if any(spans[n][0] <= i <= spans[n][1] for n in near):
                continue
            text = " ".join(self.chunks[int(i)].text.split())
            if text in seen:
                continue
            seen.add(text)
            if near:
                for group in (near, near[:1]):  # fill the gap between two passages, else join the better
                    lo = min([i] + [spans[n][0] for n in group])
                    hi = max([i] + [spans[n][1] for n in group])
                    if hi - lo + 1 <= self.merge_chunks:
                        for n in sorted(group[1:], reverse=True):
                            del spans[n], hits[n]
                        spans[group[0]] = (lo, hi)
                        hits[group[0]].chunk = merge_chunks(self.chunks[lo : hi + 1])
                        break
                continue
            at = i if rows is None else int(np.searchsorted(rows, i))
            hits.append(Hit(self.chunks[int(i)], float(fused[at]), float(dense[at]), float(lexical[at])))
            spans.append((i, i))
            if len(hits) == want:
                break
        return hits

    def with_neighbours(self, score: np.ndarray, joined: np.ndarray | None = None) -> np.ndarray:
        """Each chunk gains a share of its better neighbour's score (same section): relevant text
        comes in stretches, so a chunk amid relevant text is likelier to answer than a lone match
        (dev.jsonl MRR 0.835 -> 0.864, key points 0.873 -> 0.918; QASPER 0.524 -> 0.527).

        `score` is per chunk, or per row of a subset when `joined` (bool [len(score) - 1]) says
        which consecutive rows are neighbours (default: every chunk, `same_next`)."""
        if not self.neighbour_weight or len(score) < 2:
            return score
        joined = self.same_next if joined is None else joined
        left = np.concatenate([[0.0], np.where(joined, score[:-1], 0.0)])
        right = np.concatenate([np.where(joined, score[1:], 0.0), [0.0]])
        return score + self.neighbour_weight * np.clip(np.maximum(left, right), 0.0, None)

    def dense_scores(self, qvec: np.ndarray, lexical: np.ndarray, keep: np.ndarray, pool: int) -> np.ndarray:
        """Cosine of every chunk to the query: exact for a flat index; with an ANN index, exact for
        the ANN candidates, the BM25 candidates and a filtered subset, -1 for the rest."""
        if self.exact:
            return self.vectors @ qvec
        dense = np.full(self.n, -1.0, dtype=np.float32)
        cand = self.candidates(qvec, lexical, keep, pool)
        dense[cand] = np.asarray(self.vectors[cand] @ qvec, dtype=np.float32)
        return dense

    def candidates(self, qvec: np.ndarray, lexical: np.ndarray, keep: np.ndarray, pool: int) -> np.ndarray:
        """The chunks an ANN search scores exactly (sorted chunk numbers): the ANN index's best
        max(4 * pool, 200) (every kept chunk under a filter), the `lexical_candidates` best BM25
        chunks, and the neighbours of both."""
        if keep.all():
            _, ids = search_faiss(self.index.faiss, qvec[None, :], max(4 * pool, 200), self.vectors)
            cand = ids[0][ids[0] >= 0]
        else:
            cand = np.flatnonzero(keep)
        # a passage fused into the top 10 can sit far down either list alone, so the BM25 side gives
        # `lexical_candidates` too (see __init__)
        cand = np.union1d(cand, top_order(lexical, max(pool, self.lexical_candidates)))
        return np.unique(np.clip(np.concatenate([cand - 1, cand, cand + 1]), 0, self.n - 1))

    def stages(self) -> list[str]:
        """What ran in a search, for the user to see."""
        kind = self.index.manifest.get("index_type", "flat")
        out = [f"dense (MiniLM/FAISS {kind})", "BM25 (bm25s, stemmed)", "fusion"]
        if self.reranker is not None:
            out.append(f"rerank ({self.reranker.name})" if self.reranker.available()
                       else f"rerank unavailable ({self.reranker.error})")
        return out


def top_order(scores: np.ndarray, m: int) -> np.ndarray:
    """The indices of the `m` highest scores, highest first (ties: lower index first). A partial
    sort: at a million chunks a full argsort took ~80 ms of each query."""
    m = max(0, min(m, len(scores)))
    if m == 0:
        return np.zeros(0, dtype=np.int64)
    top = np.argpartition(-scores, m - 1)[:m] if m < len(scores) else np.arange(len(scores))
    return top[np.lexsort((top, -scores[top]))]


_PARTS = re.compile(r"\?\s+|,\s*(?:and\s+)?(?=(?:how|why|what|when|which|where|who)\b)"
                    r"|\s+and\s+(?=(?:how|why|what|when|which|where|who)\b)", re.I)


def each_paper_near_top(hits: list[Hit], papers: set[str] | frozenset[str], k: int,
                        near: int = 5) -> list[Hit]:
    """The top `k` hits, where each of two or more named papers has its best hit within the first
    `near` (moved up from further down the list when it ranked lower)."""
    top = hits[:k]
    if len(papers) < 2:
        return top
    for paper in sorted(papers):
        if any(h.chunk.doc_id == paper for h in top[:near]):
            continue
        best = next((h for h in hits if h.chunk.doc_id == paper), None)
        if best is not None:
            if best in top:
                top.remove(best)
            top.insert(min(near - 1, len(top)), best)
    return top[:k]


def question_parts(question: str) -> list[str]:
    """The parts of a compound question ("How does X ..., and how does it ...?"), each >= 3 words."""
    return [p.strip(" ,?") for p in _PARTS.split(question) if len(p.split()) >= 3] or [question]


def merge_chunks(chunks: list[Chunk]) -> Chunk:
    """Consecutive chunks of one section as one passage (overlapping text once)."""
    text, end = chunks[0].text, chunks[0].char_end
    for c in chunks[1:]:
        text += c.text[end - c.char_start :] if c.char_start < end else " " + c.text
        end = max(end, c.char_end)
    first, last = chunks[0], chunks[-1]
    return Chunk(first.doc_id, first.title, first.section, first.page_start, last.page_end,
                 first.char_start, end, text, sum(c.n_tokens for c in chunks))


@dataclass
class SectionHit:
    """A section that discusses a query: its paper, heading and pages (over all its
    hits), the score of its best passage, a snippet with the query's terms marked **term**, and the
    passage hits behind it."""
    doc_id: str
    title: str
    section: str
    page_start: int
    page_end: int
    score: float
    snippet: str  # with the query's terms marked as **term**
    hits: list[Hit]

    def to_json(self) -> dict:
        """The section's provenance (doc, section, pages, score, snippet), as `paperdojo search --json`."""
        return {k: v for k, v in vars(self).items() if k != "hits"}


def query_terms(stemmer: Stemmer.Stemmer, query: str) -> set[str]:
    """The stemmed words of `query` longer than two letters, as BM25 tokenizes them
    (bm25s, English stop words removed)."""
    words = bm25s.tokenize([query], stopwords="en", stemmer=None, return_ids=False,
                           show_progress=False)[0]
    return {stemmer.stemWord(w) for w in words if len(w) > 2}


# The words of asking rather than of the topic: question words, auxiliaries, pronouns, interview
# phrasing ("walk me through", "explain", "compare") and chat framing ("ELI5:", "in one sentence",
# "briefly", "pros and cons", "what's the catch", "the gist of"; "quick q:", "ok so", "hey", contractions
# typed without the apostrophe, "what's the trick"), and the words asking for what is wrong with a thing
# ("the drawbacks of X", "its downsides"), which papers seldom write: "What are the drawbacks of TASO?" was
# refused. General English, not taken from any question set.
_ASKING = """
what why how when where which who whom whose did does do done doing can could would should will shall may
might must you your yours me my mine i we us our ours it its they them their this that these those he she
walk explain describe compare contrast tell happen happens happened say says said argue argued claim
claims mean means meant get gets got go goes went give gives gave let lets make makes made use uses used
using work works worked way ways thing things just also still really exactly actually roughly rather
instead besides versus vs other others each both either neither case something anything own about
some any many much more most very only even well like there here than then so too is are was were be
been being has have had not no yes
eli5 tldr fyi imo imho btw afaik pls please briefly nutshell summarize summarise summary sentence sentences
simply layman interviewer pros cons overview tl dr catch gist deal
ok okay quick hey hi hello lol hmm um uh whats hows whys thats doesnt dont isnt arent cant wont didnt im ur
basically kinda sorta wanna gonna idk iirc tbh ngl trick tricks intuition
drawback drawbacks downside downsides weakness weaknesses shortcoming shortcomings disadvantage disadvantages
pitfall pitfalls difference differences differ differs different between contrast similar similarity
similarities
"""
QUESTION_WORDS = frozenset(_ASKING.split())


_MARKUP_BLOCK = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.I | re.S)
_MARKUP_TAG = re.compile(r"</?(?:a|b|i|u|s|em|strong|code|pre|mark|span|div|p|br|hr|img|sup|sub|h[1-6]|ul|ol|"
                         r"li|table|tr|td|th|iframe|script|style|font|small|big|blockquote|svg|video)\b[^>]*>",
                         re.I)
_MARKDOWN = re.compile(r"\*\*|__|~~|`+")
# a Markdown image or link whose target is a URL or a path ("![x](http://...)", "[text](/a "t")"):
# the image is no words, the link its text; "a[0](x)" is an index, not a link
_MARKDOWN_LINK = re.compile(r"(!?)\[([^\[\]]*)\]\(\s*(?:[a-z][a-z0-9+.-]*:|www\.|/|#)[^()\s]*"
                            r"(?:\s+\"[^\"]*\")?\s*\)", re.I)


def plain_question(text: str) -> str:
    """A typed question without the markup pasted into it: HTML tags (a script's or style's content
    too), Markdown emphasis or code marks, Markdown images and the targets of Markdown links are no
    words of the question ("Explain <b>paged attention</b> in **[vLLM](https://...)**" asks about
    paged attention in vLLM). Whitespace is collapsed; a question made of markup alone is returned
    as typed, stripped."""
    plain = _MARKUP_TAG.sub(" ", _MARKUP_BLOCK.sub(" ", text))
    plain = _MARKDOWN.sub("", _MARKDOWN_LINK.sub(lambda m: " " if m.group(1) else m.group(2), plain))
    return " ".join(plain.split()) or text.strip()


def content_terms(stemmer: Stemmer.Stemmer, question: str, terms: set[str] | None = None) -> set[str]:
    """The question's stemmed terms without the words of asking (`QUESTION_WORDS`); `terms`: its
    `query_terms` when the caller has them already."""
    asking = {stemmer.stemWord(w) for w in QUESTION_WORDS}
    terms = query_terms(stemmer, question) if terms is None else terms
    return {t for t in terms if t not in asking and t not in QUESTION_WORDS}


def weighing_terms(stemmer: Stemmer.Stemmer, question: str, terms: set[str] | None = None) -> set[str]:
    """The terms an extractive answer weighs sentences by: the question's content terms, or all its
    `query_terms` (`terms` when given) when it holds only words of asking."""
    terms = query_terms(stemmer, question) if terms is None else terms
    return content_terms(stemmer, question, terms) or terms


def content_pairs(stemmer: Stemmer.Stemmer, question: str, terms: set[str]) -> set[tuple[str, str]]:
    """The question's phrases as stemmed pairs: two words in a row that are both content `terms`
    ("speculative decoding" -> ("specul", "decod")); a word between them (even "the", or a single
    digit or letter BM25 drops, as in "level 3 cost") breaks a pair."""
    words = [stemmer.stemWord(w) for w in re.findall(r"\w+", question.lower())]
    return {(a, b) for a, b in zip(words, words[1:], strict=False) if a != b and a in terms and b in terms}


_PASSAGE_WORDS_KEPT = 64  # passages x term sets `Retriever._passage_words` remembers
_MIN_COMPOUND = 6  # letters of a compound respelled: "pingpong", "autotun"; never "inplace"-short joins


def respelled(stemmer: Stemmer.Stemmer, words: list[str], terms: set[str]) -> list[str]:
    """A passage's stemmed words (`stem_sequence`) with the compounds of the question's `terms`
    spelled as the question spells them: two words in a row that make one term ("auto tuning",
    "auto-tuning" for "autotuning") become that term; a word that is two terms joined ("pingpong"
    for "ping pong", "radixattent" for "radix attention") becomes those two words. Joins are
    compared as stems and as the stem of the joined stems ("auto"+"tune" -> "autotun").

    Papers and casual questions spell one compound three ways (joined, hyphenated, spaced); BM25's
    tokens split at hyphens (`lexical.TOKEN`), so a hyphenated compound is two words. Only compounds
    of at least `_MIN_COMPOUND` letters count, so short words never merge by chance."""
    def joins(a: str, b: str) -> set[str]:
        return {a + b, stemmer.stemWord(a + b)}

    split = {j: (a, b) for a in terms for b in terms if a != b and len(a + b) >= _MIN_COMPOUND
             for j in joins(a, b) if j not in terms}
    starts = {t[:i] for t in terms if len(t) >= _MIN_COMPOUND for i in range(2, len(t) - 1)}
    if not split and not starts:
        return words
    out: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        if i + 1 < len(words) and w in starts:
            joined = joins(w, words[i + 1]) & terms
            if joined:
                out.append(joined.pop())
                i += 2
                continue
        out.extend(split.get(w, (w,)))
        i += 1
    return out


def mark(text: str, stems: set[str], stemmer: Stemmer.Stemmer, width: int = 320) -> str:
    """A window of `text` around the first matched term, with matched words marked **so** (see
    `records.MARKED`: the text's own asterisks are escaped as "\\*", Markdown's way).

    The words of asking ("how", "does", "explain": `QUESTION_WORDS`) are not marked when the query
    has other terms: they would light up every "How does ..." of the passage."""
    asking = {stemmer.stemWord(w) for w in QUESTION_WORDS} | QUESTION_WORDS
    stems = {s for s in stems if s not in asking} or stems
    words = text.split()
    hits = [i for i, w in enumerate(words)
            if stemmer.stemWord(w.strip(".,;:()[]\"'").lower()) in stems]
    first = hits[0] if hits else 0
    start = max(0, first - 12)
    out, size = [], 0
    for i in range(start, len(words)):
        out.append(mark_word(words[i]) if i in hits else words[i].replace("*", "\\*"))
        size += len(words[i]) + 1
        if size > width:
            break
    return ("... " if start else "") + " ".join(out) + (" ..." if i < len(words) - 1 else "")


def find_sections(retriever: Retriever, topic: str, k: int = 10,
                  filters: Filters | None = None) -> list[SectionHit]:
    """The sections that discuss `topic` (markup taken out, `plain_question`), best first, each with
    its best passage as snippet."""
    topic = plain_question(topic)
    hits = retriever.search(topic, k=max(40, 4 * k), filters=filters)
    groups: dict[tuple[str, str], list[Hit]] = {}
    for h in hits:
        groups.setdefault((h.chunk.doc_id, h.chunk.section), []).append(h)
    stems = query_terms(retriever.stemmer, topic)
    out = []
    for (doc_id, section), group in groups.items():
        best = group[0]
        out.append(SectionHit(doc_id, best.chunk.title, section,
                              min(h.chunk.page_start for h in group),
                              max(h.chunk.page_end for h in group),
                              best.score, mark(best.chunk.text, stems, retriever.stemmer), group))
    return sorted(out, key=lambda s: -s.score)[:k]
