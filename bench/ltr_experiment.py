"""Learned ranker experiment (issue 13, h14ltr): does a small model over the retriever's own signals
rank the top candidates better than the hand fusion, across files?

For each question, the top `--pool` chunks of the live ranking (the exact path of `Retriever.search`,
reached through `Answerer.passages`, what `paperdojo eval` measures) get a feature vector
(`FEATURES`): dense cosine and rank, BM25 and rank, the hand-fused score, its neighbour's score,
the best sentence's cosine, heading and text coverage of the question's terms (IDF-weighted), pairs,
named-paper match, the question's cosine to the chunk's paper (its first two chunks: title and
abstract), the paper's rank among the candidates, position in the paper, section kind, length.
Labels: the chunk spans a gold page of a gold paper (`page`), holds a key point (`kp`), or either
(`any`), graded page + key-point share (`grade`, pairwise models). A model re-orders those chunks
(its score replaces the fused one; `blend*`: fused + alpha * its scaled score, alpha cross-validated
on the training questions), passages are then formed as usual (`_passages`, `each_paper_near_top`)
and `retrieval_metrics` measures them (from the recorded searches, checked against a live run).

Protocols (files never both trained and tested on): train dev -> test dev2, heldout, heldout2;
train dev2 -> dev, heldout, heldout2; train dev+dev2 -> heldout, heldout2; train QASPER (external,
`--qasper`; its evidence paragraphs) or SciFact train (`--scifact`; 809 claims) -> all four. The
unchanged ranking (model "hand") reproduces `paperdojo eval`'s figures. `--oracle`: the ceiling of
re-ordering the pool by the labels; `--coef`: pairwise weights trained on dev + dev2.
Caches in /tmp: every chunk's sentence vectors (h14ltr-sent-N.npz), SciFact's abstract vectors.

Run: PYTHONPATH=src python bench/ltr_experiment.py --home H [--pool 15] [--qasper] [--scifact]
     [--models lr1,gbm2,pair1,blendlr1,blendpair1] [--targets page,any,grade] [--json out.json]
Results: docs/measurements.md, "Issue 13: a learned ranker over the retriever's own signals (h14ltr,
session 14)".
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from sentence_scores import sentence_table, sentences_of  # noqa: E402

from paperdojo.answering.retrieve import (  # noqa: E402
    INTRO,
    Retriever,
    content_pairs,
    content_terms,
    each_paper_near_top,
    query_terms,
    question_parts,
)
from paperdojo.evaluation.evaluate import by_type, kp_found, load_questions, retrieval_metrics  # noqa: E402
from paperdojo.library.chunk import heading_text  # noqa: E402
from paperdojo.library.lexical import stem_sequence  # noqa: E402
from paperdojo.settings import Settings  # noqa: E402
from paperdojo.workspace import Workspace  # noqa: E402

EVAL = Path("/work/shared/eval")
BENCH = Path(__file__).parent
FILES = {"dev": EVAL / "dev.jsonl", "dev2": EVAL / "dev2.jsonl", "heldout": BENCH / "heldout.jsonl",
         "heldout2": BENCH / "heldout2.jsonl"}

KINDS = {"related": re.compile(r"related work|background|prior work|preliminar", re.I),
         "refs": re.compile(r"reference|bibliograph|acknowledg", re.I),
         "eval": re.compile(r"evaluat|experiment|result|benchmark|performance", re.I),
         "concl": re.compile(r"conclusion|discussion|future work|limitation", re.I),
         "appendix": re.compile(r"appendix|supplement", re.I)}

FEATURES = ["dense", "lex", "fused", "fused_gap", "dense_gap", "rank_fused", "rank_dense", "rank_lex",
            "nbr", "intro", "named", "n_named", "paper_sim", "paper_sim_gap", "doc_rank", "doc_share",
            "sent", "sent_gap", "head", "cov", "pairs", "pos", *KINDS, "length", "n_terms", "parts"]
# the features QASPER can give (one paper: no named paper, no paper similarity or rank)
EXTERNAL = [f for f in FEATURES if f not in ("named", "n_named", "paper_sim", "paper_sim_gap", "doc_rank",
                                             "doc_share")]


def ranks(x: np.ndarray) -> np.ndarray:
    """log2(1 + rank) of each value among `x` (rank 1 = highest)."""
    order = np.argsort(-x, kind="stable")
    r = np.empty(len(x))
    r[order] = np.arange(1, len(x) + 1)
    return np.log2(1 + r)


class TermStats:
    """IDF-weighted shares of a question's content terms in a text, as `Retriever.coverage` weighs them."""

    def __init__(self, retriever: Retriever) -> None:
        self.r = retriever

    def shares(self, question: str, heads: list[list[str]], texts: list[list[str]]) -> np.ndarray:
        """[len(texts), 3]: heading share, heading+text share, share of the question's pairs in a row."""
        terms = content_terms(self.r.stemmer, question) or query_terms(self.r.stemmer, question)
        pairs = content_pairs(self.r.stemmer, question, terms)
        w = {t: self.r.idf(t) for t in terms}
        total = sum(w.values()) or 1.0
        out = np.zeros((len(texts), 3))
        for j, (h, t) in enumerate(zip(heads, texts, strict=True)):
            hs, ts = set(h), set(h) | set(t)
            out[j, 0] = sum(v for k, v in w.items() if k in hs) / total
            out[j, 1] = sum(v for k, v in w.items() if k in ts) / total
            adj = set(zip(t, t[1:], strict=False)) | set(zip(h, h[1:], strict=False))
            out[j, 2] = len(pairs & adj) / len(pairs) if pairs else 0.0
        return out


def feature_rows(question: str, dense: np.ndarray, lex: np.ndarray, fused: np.ndarray, nbr: np.ndarray,
                 intro: np.ndarray, named: np.ndarray, n_named: int, paper_sim: np.ndarray,
                 doc: np.ndarray, sent: np.ndarray, shares: np.ndarray, pos: np.ndarray,
                 sections: list[str], length: np.ndarray) -> np.ndarray:
    """The FEATURES matrix [m, len(FEATURES)] of m candidates of one question (each argument per
    candidate)."""
    m = len(dense)
    best_doc: dict[int, float] = {}
    for d, f in zip(doc, fused, strict=True):
        best_doc[int(d)] = max(best_doc.get(int(d), -np.inf), float(f))
    doc_order = {d: i for i, d in enumerate(sorted(best_doc, key=lambda d: -best_doc[d]))}
    counts = {d: int((doc == d).sum()) for d in best_doc}
    cols = {
        "dense": dense, "lex": lex, "fused": fused, "fused_gap": fused - fused.max(),
        "dense_gap": dense - dense.max(), "rank_fused": ranks(fused), "rank_dense": ranks(dense),
        "rank_lex": ranks(lex), "nbr": nbr, "intro": intro, "named": named,
        "n_named": np.full(m, min(n_named, 2)),
        "paper_sim": paper_sim, "paper_sim_gap": paper_sim - paper_sim.max(),
        "doc_rank": np.log2(1 + np.array([doc_order[int(d)] for d in doc])),
        "doc_share": np.array([counts[int(d)] / m for d in doc]),
        "sent": sent, "sent_gap": sent - dense, "head": shares[:, 0], "cov": shares[:, 1],
        "pairs": shares[:, 2], "pos": pos,
        **{k: np.array([bool(rx.search(s)) for s in sections], dtype=float) for k, rx in KINDS.items()},
        "length": length, "n_terms": np.full(m, len(query_terms_cache(question))),
        "parts": np.full(m, len(question_parts(question))),
    }
    return np.stack([np.asarray(cols[f], dtype=float) for f in FEATURES], axis=1)


_TERMS: dict[str, set[str]] = {}
_STEMMER: Any = None


def query_terms_cache(question: str) -> set[str]:
    if question not in _TERMS:
        _TERMS[question] = query_terms(_STEMMER, question)
    return _TERMS[question]


class Ranker:
    """Patches a Retriever (exact path): records each search's candidate features, and when a model
    is set re-orders the top `pool` chunks by it before passages are formed."""

    def __init__(self, retriever: Retriever, sent_vectors: np.ndarray, owner: np.ndarray, pool: int) -> None:
        global _STEMMER
        _STEMMER = retriever.stemmer
        self.r, self.pool = retriever, pool
        self.sv, self.starts = sent_vectors, np.searchsorted(owner, np.arange(retriever.n + 1))
        self.terms = TermStats(retriever)
        self.original_passages, self.original_search = retriever._passages, retriever.search
        self.query, self.qvec, self.papers = "", np.zeros(0), frozenset()
        self.model: Any = None  # callable X -> scores
        self.cache: dict[tuple[str, frozenset], tuple[np.ndarray, np.ndarray]] = {}
        self.feature_ms: list[float] = []  # time to compute one search's features
        self.keys: dict[str, tuple[str, frozenset]] = {}  # question -> its search's key
        self.calls: dict[tuple[str, frozenset], tuple] = {}  # the _passages arguments of each search
        started = time.perf_counter()
        n = retriever.n
        self.stems = [stem_sequence(retriever.stemmer, retriever.chunks[i].text) for i in range(n)]
        self.head_stems = [stem_sequence(retriever.stemmer, heading_text(retriever.chunks[i].title,
                                                                          retriever.chunks[i].section))
                           for i in range(n)]
        doc = retriever.chunk_doc
        first = np.searchsorted(doc, np.arange(doc.max() + 2)) if np.all(np.diff(doc) >= 0) else None
        self.pos = np.zeros(n)
        self.paper_vec = np.zeros((int(doc.max()) + 1, retriever.vectors.shape[1]), dtype=np.float32)
        for d in range(int(doc.max()) + 1):
            rows = np.flatnonzero(doc == d) if first is None else np.arange(first[d], first[d + 1])
            if len(rows):
                self.pos[rows] = np.arange(len(rows)) / max(1, len(rows) - 1)
                v = np.asarray(retriever.vectors[rows[:2]]).mean(axis=0)
                self.paper_vec[d] = v / (np.linalg.norm(v) or 1.0)
        self.sections = [retriever.index.section_names[s] for s in retriever.chunk_section]
        self.intro = np.array([bool(INTRO.match(s)) for s in self.sections], dtype=float)
        self.length = np.array([retriever.chunks[i].n_tokens / 192 for i in range(n)])
        print(f"ranker tables: {time.perf_counter() - started:.1f} s", flush=True)
        retriever.search = self.search  # type: ignore[method-assign]
        retriever._passages = self.passages  # type: ignore[method-assign]

    def search(self, query: str, *args: Any, **kwargs: Any) -> Any:
        self.query = query.strip()
        self.qvec = self.r.embedder.encode([self.query])[0]
        self.papers = frozenset(kwargs.get("papers", frozenset()))
        return self.original_search(query, *args, **kwargs)

    def replay(self, key: tuple[str, frozenset], k: int) -> list[Any]:
        """The passages of a recorded search with the current model (what `search` returns)."""
        order, fused, dense, lexical, want = self.calls[key]
        self.query, self.papers = key
        return each_paper_near_top(self.passages(order, fused, dense, lexical, want), set(key[1]), k)

    def features(self, order: np.ndarray, fused: np.ndarray, dense: np.ndarray,
                 lexical: np.ndarray) -> np.ndarray:
        """The FEATURES of the chunks `order` (arrays per chunk of the index)."""
        r = self.r
        raw = dense + r.bm25_weight * lexical
        nbr = np.zeros(len(order))
        for j, i in enumerate(order):
            left = raw[i - 1] if i > 0 and r.same_next[i - 1] else 0.0
            right = raw[i + 1] if i + 1 < r.n and r.same_next[i] else 0.0
            nbr[j] = max(left, right, 0.0)
        sent = np.array([float((self.sv[self.starts[i]:self.starts[i + 1]] @ self.qvec).max())
                         if self.starts[i + 1] > self.starts[i] else float(dense[i]) for i in order])
        docs = r.chunk_doc[order]
        named = (np.isin(docs, r.doc_numbers(set(self.papers))).astype(float) if self.papers
                 else np.zeros(len(order)))
        shares = self.terms.shares(self.query, [self.head_stems[i] for i in order],
                                   [self.stems[i] for i in order])
        return feature_rows(self.query, dense[order], lexical[order], fused[order], nbr, self.intro[order],
                            named,
                            len(self.papers), self.paper_vec[docs] @ self.qvec, docs, sent, shares,
                            self.pos[order], [self.sections[i] for i in order], self.length[order])

    def passages(self, order, fused, dense, lexical, want, rows=None):  # noqa: ANN001, ANN201
        assert rows is None, "the experiment runs the exact path"
        key = (self.query, self.papers)
        top = order[: self.pool]
        if key not in self.cache:
            started = time.perf_counter()
            self.cache[key] = (top.copy(), self.features(top, fused, dense, lexical))
            self.feature_ms.append((time.perf_counter() - started) * 1000)
            self.calls[key] = (order.copy(), fused.copy(), dense.copy(), lexical.copy(), want)
        if self.model is None:
            return self.original_passages(order, fused, dense, lexical, want, rows)
        cached_top, x = self.cache[key]
        score = np.asarray(self.model(x), dtype=float)
        new = fused.copy()
        new[cached_top] = score
        top = cached_top[np.argsort(-score, kind="stable")]
        return self.original_passages(np.concatenate([top, order[self.pool:]]), new, dense, lexical, want,
                                      rows)


def labels(question: Any, chunks: list[Any]) -> np.ndarray:
    """[m, 2]: on a gold page (0/1), share of key points the chunk holds."""
    out = np.zeros((len(chunks), 2))
    for j, c in enumerate(chunks):
        out[j, 0] = any(g["doc"] == c.doc_id and any(c.page_start <= p <= c.page_end for p in g["pages"])
                        for g in question.gold)
        found = kp_found(question.key_points, c.text)
        out[j, 1] = sum(found) / len(found) if found else 0.0
    return out


def measure(answerer: Any, questions: list[Any], ranker: Ranker | None = None) -> dict:
    """Retrieval figures of `questions` through `Answerer.passages`; with `ranker` (once every question
    was searched through it) from its recorded candidates: the same passages, without searching again."""
    if ranker is None:
        r = retrieval_metrics(questions, lambda q: answerer.passages(q, k=10))
    else:
        r = retrieval_metrics(questions, lambda q: ranker.replay(ranker.keys[q], 10))
    rows = r.pop("rows")
    r["by_type"] = by_type(rows)
    r["per_question"] = {row["id"]: (row["rr"], row["kp"]) for row in rows}
    return r


def collect(answerer: Any, ranker: Ranker, questions: list[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X [rows, F], Y [rows, 2], group [rows] (question number) of the answerable questions."""
    xs, ys, gs = [], [], []
    for n, q in enumerate(q for q in questions if q.answerable):
        answerer.passages(q.question, k=10)
        ranker.keys[q.question] = (ranker.query, ranker.papers)
        top, x = ranker.cache[(ranker.query, ranker.papers)]
        xs.append(x)
        ys.append(labels(q, [ranker.r.chunks[int(i)] for i in top]))
        gs.append(np.full(len(top), n))
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(gs)


def target(y: np.ndarray, kind: str) -> np.ndarray:
    """The label a model learns: `page` (0/1), `kp` (holds a key point, 0/1), `any` (either), `grade`
    (page + share of key points, 0..2: only the pairwise model uses the grades)."""
    if kind == "grade":
        return y[:, 0] + y[:, 1]
    if kind == "page":
        return y[:, 0]
    if kind == "kp":
        return (y[:, 1] > 0).astype(float)
    return ((y[:, 0] > 0) | (y[:, 1] > 0)).astype(float)


def pairs(x: np.ndarray, y: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Differences x_i - x_j of candidates of one question with y_i > y_j, both ways (labels 1 and 0)."""
    diffs = []
    for n in np.unique(g):
        rows = np.flatnonzero(g == n)
        yy = y[rows]
        hi, lo = np.nonzero(yy[:, None] > yy[None, :])
        diffs.append(x[rows[hi]] - x[rows[lo]])
    d = np.concatenate(diffs)
    return np.concatenate([d, -d]), np.concatenate([np.ones(len(d)), np.zeros(len(d))])


def proxy(score: np.ndarray, y: np.ndarray, g: np.ndarray) -> float:
    """Chunk-level stand-in for MRR@10 + kp recall@5 of one scoring of training candidates: the
    reciprocal rank of the first gold-page chunk in the top 10, plus the key-point shares of the top 5
    summed (capped at 1), averaged over questions."""
    total = 0.0
    groups = np.unique(g)
    for n in groups:
        rows = np.flatnonzero(g == n)
        order = rows[np.argsort(-score[rows], kind="stable")]
        hit = np.flatnonzero(y[order[:10], 0] > 0)
        total += (1 / (hit[0] + 1) if len(hit) else 0.0) + min(1.0, float(y[order[:5], 1].sum()))
    return total / max(1, len(groups))


def blend(x: np.ndarray, y: np.ndarray, g: np.ndarray, inner: str, columns: list[int],
          alphas: tuple[float, ...] = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2)) -> Any:
    """fused + alpha * (the `inner` model's score, scaled to unit deviation): alpha chosen by two-fold
    cross-validation over the training questions (`proxy`), then the model refit on all of them."""
    fused = FEATURES.index("fused")
    folds = np.unique(g) % 2
    fold_of = dict(zip(np.unique(g), folds, strict=True))
    fold = np.array([fold_of[v] for v in g])
    gains = np.zeros(len(alphas))
    for k in (0, 1):
        tr, te = fold != k, fold == k
        m = fit(x[tr], target(y[tr], "grade" if inner.startswith("pair") else "any"), inner, columns,
                g[tr])
        s = m(x[te])
        s = (s - s.mean()) / (s.std() or 1.0)
        for a_i, a in enumerate(alphas):
            gains[a_i] += proxy(x[te, fused] + a * s, y[te], g[te])
    alpha = alphas[int(np.argmax(gains))]
    m = fit(x, target(y, "any" if not inner.startswith("pair") else "grade"), inner, columns, g)
    s_all = m(x)
    mu, sd = s_all.mean(), s_all.std() or 1.0
    print(f"  blend {inner}: alpha {alpha} (cv proxy {np.round(gains / 2, 3).tolist()})", flush=True)
    return lambda z: z[:, fused] + alpha * (m(z) - mu) / sd


def fit(x: np.ndarray, y: np.ndarray, model: str, columns: list[int], g: np.ndarray | None = None) -> Any:
    """A scoring function X -> scores, trained on (x[:, columns], y); `pair` models on the pairs of
    each question (`g`: question number per row) with different labels."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    xs = x[:, columns]
    if model.startswith("blend"):
        assert g is not None
        return blend(x, y, g, model[5:], columns)
    if model.startswith("pair"):
        assert g is not None
        c = float(model[4:] or 1.0)
        scaler = StandardScaler().fit(xs)
        dx, dy = pairs(scaler.transform(xs), y, g)
        lr = LogisticRegression(C=c, fit_intercept=False, max_iter=2000).fit(dx, dy)
        return lambda z: scaler.transform(z[:, columns]) @ lr.coef_[0]
    if model.startswith("lr"):
        c = float(model[2:] or 1.0)
        scaler = StandardScaler().fit(xs)
        lr = LogisticRegression(C=c, class_weight="balanced", max_iter=2000).fit(scaler.transform(xs), y)
        return lambda z: lr.decision_function(scaler.transform(z[:, columns]))
    if model.startswith("gbm"):
        depth = int(model[3:] or 3)
        gb = HistGradientBoostingClassifier(max_depth=depth, max_iter=100, learning_rate=0.05,
                                            min_samples_leaf=20, random_state=0).fit(xs, y)
        return lambda z: gb.predict_proba(z[:, columns])[:, 1]
    raise ValueError(model)


def qasper_data(settings: Settings, ranker: Ranker,
                pool: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """QASPER's 87 questions with evidence: per paper, the top `pool` paragraphs by our fusion
    (hybrid + neighbour share within a section + introduction prior); features as ours (the paper-level
    ones zero), label: an evidence paragraph. Also returns, per question, (ids, qrels, base order)."""
    from paperdojo.evaluation.external import _jsonl, _qrels, _Scorer

    emb = ranker.r.embedder
    root = settings.eval_external / "qasper_subset"
    paras, qrels = _jsonl(root / "corpus.jsonl"), _qrels(root / "qrels.tsv")
    qs = [q for q in _jsonl(root / "questions.jsonl") if q["qid"] in qrels]
    by_doc: dict[str, list[dict]] = {}
    for p in paras:
        by_doc.setdefault(p["doc_id"], []).append(p)
    texts, owner = [], []
    for j, p in enumerate(paras):
        for s in sentences_of(p["text"], "all"):
            texts.append(s)
            owner.append(j)
    sv = emb.encode_bulk(texts)
    owner_a = np.array(owner)
    index_of = {p["_id"]: j for j, p in enumerate(paras)}
    xs, ys, gs, meta = [], [], [], []
    stem = ranker.r.stemmer
    for doc, ps in by_doc.items():
        dq = [q for q in qs if q["doc_id"] == doc]
        if not dq:
            continue
        full = [(p.get("section", "") + "\n" + p["text"]).strip() for p in ps]
        scorer = _Scorer(full, emb, settings.bm25_weight)
        qv = emb.encode([q["question"] for q in dq])
        sc = scorer.scores([q["question"] for q in dq])
        secs = [p.get("section", "") for p in ps]
        same_next = np.array([secs[i] == secs[i + 1] for i in range(len(ps) - 1)])
        stems = [stem_sequence(stem, p["text"]) for p in ps]
        heads = [stem_sequence(stem, s) for s in secs]
        intro = np.array([bool(INTRO.match(s)) for s in secs], dtype=float)
        pos = np.arange(len(ps)) / max(1, len(ps) - 1)
        length = np.array([len(p["text"].split()) * 1.3 / 192 for p in ps])
        for qi, q in enumerate(dq):
            dense = sc["dense"][qi]
            lexr = sc["bm25"][qi]
            lex = lexr / lexr.max() if lexr.max() > 0 else lexr
            raw = dense + settings.bm25_weight * lex
            left = np.concatenate([[0.0], np.where(same_next, raw[:-1], 0.0)])
            right = np.concatenate([np.where(same_next, raw[1:], 0.0), [0.0]])
            nbr = np.clip(np.maximum(left, right), 0, None)
            fused = raw + settings.neighbour_weight * nbr + settings.intro_prior * intro
            top = np.argsort(-fused, kind="stable")[:pool]
            sent = []
            for i in top:
                rows = np.flatnonzero(owner_a == index_of[ps[i]["_id"]])
                sent.append(float((sv[rows] @ qv[qi]).max()) if len(rows) else float(dense[i]))
            shares = ranker.terms.shares(q["question"], [heads[i] for i in top], [stems[i] for i in top])
            x = feature_rows(q["question"], dense[top], lex[top], fused[top], nbr[top], intro[top],
                             np.zeros(len(top)), 0, np.zeros(len(top)), np.zeros(len(top), dtype=int),
                             np.array(sent), shares, pos[top], [secs[i] for i in top], length[top])
            rel = qrels[q["qid"]]
            ids = [ps[i]["_id"] for i in top]
            xs.append(x)
            ys.append(np.array([[float(i in rel), float(i in rel)] for i in ids]))
            gs.append(np.full(len(top), len(meta)))
            meta.append((ids, rel))
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(gs), meta


SCIFACT = ["dense", "lex", "fused", "fused_gap", "dense_gap", "rank_fused", "rank_dense", "rank_lex", "head",
           "cov", "pairs", "length", "n_terms", "parts"]  # what one abstract per document can give


def scifact_data(settings: Settings, ranker: Ranker, pool: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SciFact's 809 train claims (qrels/train.tsv): the top `pool` abstracts by external.py's hybrid
    (cosine + w * BM25 / best), features of `SCIFACT` (the rest zero), label: a cited abstract."""
    from paperdojo.evaluation.external import _jsonl, _qrels, _Scorer

    root = settings.eval_external / "scifact_beir"
    corpus = _jsonl(root / "corpus.jsonl")
    qrels = _qrels(root / "qrels" / "train.tsv")
    queries = {q["_id"]: q["text"] for q in _jsonl(root / "queries.jsonl") if q["_id"] in qrels}
    cache = Path("/tmp/h14ltr-scifact.npy")
    texts = [(d["title"] + " " + d["text"]).strip() for d in corpus]
    if cache.exists():
        scorer = _Scorer.__new__(_Scorer)
        import bm25s
        import Stemmer
        scorer.stemmer = Stemmer.Stemmer("english")
        scorer.bm25 = bm25s.BM25()
        scorer.bm25.index(bm25s.tokenize(texts, stopwords="en", stemmer=scorer.stemmer, show_progress=False),
                          show_progress=False)
        scorer.vectors, scorer.embedder, scorer.w = np.load(cache), ranker.r.embedder, settings.bm25_weight
    else:
        scorer = _Scorer(texts, ranker.r.embedder, settings.bm25_weight)
        np.save(cache, scorer.vectors)
    stem = ranker.r.stemmer
    qids = list(queries)
    xs, ys, gs = [], [], []
    for start in range(0, len(qids), 100):
        batch = qids[start:start + 100]
        sc = scorer.scores([queries[q] for q in batch])
        for qi, qid in enumerate(batch):
            hyb = sc["hybrid"][qi]
            top = np.argsort(-hyb, kind="stable")[:pool]
            lexr = sc["bm25"][qi]
            lex = lexr / lexr.max() if lexr.max() > 0 else lexr
            shares = ranker.terms.shares(queries[qid], [stem_sequence(stem, corpus[i]["title"]) for i in top],
                                         [stem_sequence(stem, corpus[i]["text"]) for i in top])
            z = np.zeros(len(top))
            x = feature_rows(queries[qid], sc["dense"][qi][top], lex[top], hyb[top], z, z, z, 0, z,
                             np.zeros(len(top), dtype=int), sc["dense"][qi][top], shares, z,
                             [""] * len(top), np.array([len(texts[i].split()) * 1.3 / 192 for i in top]))
            rel = qrels[qid]
            xs.append(x)
            ys.append(np.array([[float(corpus[i]["_id"] in rel)] * 2 for i in top]))
            gs.append(np.full(len(top), start + qi))
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(gs)


def qasper_ndcg(x: np.ndarray, g: np.ndarray, meta: list, model: Any) -> float:
    """Mean nDCG@10 over the QASPER questions of the candidates ordered by `model` (None: fused order)."""
    from paperdojo.evaluation.external import ndcg_at_10

    out = []
    for n, (ids, rel) in enumerate(meta):
        rows = np.flatnonzero(g == n)
        order = np.arange(len(rows)) if model is None else np.argsort(-model(x[rows]), kind="stable")
        out.append(ndcg_at_10([ids[i] for i in order], rel))
    return float(np.mean(out))


def oracle(answerer: Any, ranker: Ranker, files: dict[str, list], data: dict, base: dict) -> None:
    """The ceiling of re-ordering the pool: each question's candidates sorted by their own labels
    (gold page first, then key-point share), the hand-fused score breaking ties."""
    labels_of: dict[bytes, np.ndarray] = {}
    for x, y, g in data.values():
        for n in np.unique(g):
            rows = np.flatnonzero(g == n)
            labels_of[x[rows].tobytes()] = 10 * y[rows, 0] + 5 * y[rows, 1] + x[rows, FEATURES.index("fused")]
    ranker.model = lambda z: labels_of[z.tobytes()]
    for name, qs in files.items():
        r = measure(answerer, qs, ranker)
        print(f"oracle order of the top {ranker.pool}: {name}: {brief(r)} (hand {brief(base[name])})",
              flush=True)
    ranker.model = None


def brief(r: dict) -> str:
    return f"page {r['page_hit@5']:.3f} mrr {r['mrr@10']:.3f} kp {r['kp_recall@5']:.3f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", required=True)
    ap.add_argument("--pool", type=int, default=30)
    ap.add_argument("--models", default="lr0.1,lr1,gbm2,gbm3,pair0.1,pair1,blendlr1,blendpair1,blendgbm2")
    ap.add_argument("--targets", default="page,any,kp,grade")
    ap.add_argument("--qasper", action="store_true")
    ap.add_argument("--scifact", action="store_true", help="also train on SciFact's train claims")
    ap.add_argument("--only-external", action="store_true", help="only the external-trained protocols")
    ap.add_argument("--featuresets", default="all,external,scifact")
    ap.add_argument("--oracle", action="store_true", help="the best order of the pool by the labels")
    ap.add_argument("--coef", action="store_true", help="print the pairwise weights trained on dev+dev2")
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    settings = Settings.load(home=Path(args.home))
    ws = Workspace(settings)
    answerer = ws.answerer()
    retriever = answerer.retriever
    cache = Path(f"/tmp/h14ltr-sent-{retriever.n}.npz")
    vectors, owner = sentence_table(retriever, "all", False, cache, True)
    ranker = Ranker(retriever, vectors, owner, args.pool)
    files = {name: load_questions(path) for name, path in FILES.items()}
    results: list[dict] = []
    base = {name: measure(answerer, qs) for name, qs in files.items()}
    print("hand fusion:", " | ".join(f"{n}: {brief(r)}" for n, r in base.items()), flush=True)
    keys = ("page_hit@5", "mrr@10", "kp_recall@5")
    results.append({"train": "-", "model": "hand", **{n: {k: r[k] for k in keys}
                                                      for n, r in base.items()}})
    data = {name: collect(answerer, ranker, qs) for name, qs in files.items()}
    check = {name: measure(answerer, qs, ranker) for name, qs in files.items()}
    assert all(abs(check[n]["mrr@10"] - base[n]["mrr@10"]) < 1e-9 and
               abs(check[n]["kp_recall@5"] - base[n]["kp_recall@5"]) < 1e-9 for n in files), "replay differs"
    for name, (_, y, _) in data.items():
        print(f"{name}: {len(y)} candidates, {int(y[:, 0].sum())} on a gold page, {int((y[:, 1] > 0).sum())} "
              f"with a key point", flush=True)
    print(f"features of the top {args.pool}: p50 {np.median(ranker.feature_ms):.1f} ms a search "
          f"({len(ranker.feature_ms)} searches, load {Path('/proc/loadavg').read_text().split()[0]})",
          flush=True)
    if args.oracle:
        oracle(answerer, ranker, files, data, base)
    if args.coef:
        x = np.concatenate([data["dev"][0], data["dev2"][0]])
        y = np.concatenate([data["dev"][1], data["dev2"][1]])
        g = np.concatenate([data["dev"][2], data["dev2"][2] + 10_000])
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler
        z = StandardScaler().fit_transform(x)
        dx, dy = pairs(z, target(y, "grade"), g)
        coef = LogisticRegression(C=1.0, fit_intercept=False, max_iter=2000).fit(dx, dy).coef_[0]
        print("pairwise weights (dev+dev2, standardized features):",
              ", ".join(f"{f} {c:+.2f}" for f, c in sorted(zip(FEATURES, coef, strict=True),
                                                           key=lambda t: -abs(t[1]))), flush=True)
    protocols = {"dev": ["dev2", "heldout", "heldout2"], "dev2": ["dev", "heldout", "heldout2"],
                 "dev+dev2": ["heldout", "heldout2"]}
    if args.models == "none":
        return
    qx = qy = qg = None
    meta: list = []
    if args.qasper:
        started = time.perf_counter()
        qx, qy, qg, meta = qasper_data(settings, ranker, args.pool)
        took = time.perf_counter() - started
        print(f"QASPER: {len(meta)} questions, {len(qy)} candidates in {took:.0f} s; "
              f"fused-order nDCG@10 {qasper_ndcg(qx, qg, meta, None):.4f}", flush=True)
        protocols["qasper"] = ["dev", "dev2", "heldout", "heldout2"]
    sx = sy = sg = None
    if args.scifact:
        started = time.perf_counter()
        sx, sy, sg = scifact_data(settings, ranker, args.pool)
        print(f"SciFact train: {len(sy)} candidates, {int(sy[:, 0].sum())} cited, "
              f"{time.perf_counter() - started:.0f} s", flush=True)
        protocols["scifact"] = ["dev", "dev2", "heldout", "heldout2"]
    if args.only_external:
        protocols = {k: v for k, v in protocols.items() if k in ("qasper", "scifact")}
    featuresets = {"all": FEATURES, "external": EXTERNAL, "scifact": SCIFACT}
    for train, tests in protocols.items():
        if train == "qasper":
            assert qx is not None and qy is not None
            x, y, g = qx, qy, qg
        elif train == "scifact":
            assert sx is not None and sy is not None
            x, y, g = sx, sy, sg
        else:
            parts = [data[t] for t in train.split("+")]
            x, y = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
            g = np.concatenate([p[2] + 10_000 * k for k, p in enumerate(parts)])
        for fs, names in featuresets.items():
            if fs not in args.featuresets.split(",") or (train == "qasper" and fs == "all") or \
                    ((train == "scifact") != (fs == "scifact")):
                continue
            cols = [FEATURES.index(f) for f in names]
            for tgt in args.targets.split(","):
                for model in args.models.split(","):
                    if (tgt == "grade") != model.startswith("pair") or \
                            (model.startswith("blend") and tgt != "any"):
                        continue  # graded labels for the pairwise model only; a blend picks its own
                    t0 = time.perf_counter()
                    ranker.model = fit(x, y if model.startswith("blend") else target(y, tgt), model, cols, g)
                    took = time.perf_counter() - t0
                    res = {t: measure(answerer, files[t], ranker) for t in tests}
                    ranker.model = None
                    line: dict[str, Any] = {"train": train, "features": fs, "target": tgt, "model": model,
                                            "fit_s": round(took, 2)}
                    for t, r in res.items():
                        line[t] = {k: round(r[k], 3) for k in ("page_hit@5", "mrr@10", "kp_recall@5")}
                        line[t]["delta"] = (round(r["mrr@10"] - base[t]["mrr@10"], 3),
                                            round(r["kp_recall@5"] - base[t]["kp_recall@5"], 3))
                        before, after = base[t]["per_question"], r["per_question"]
                        line[t]["moved"] = {  # questions whose reciprocal rank / kp recall rose, fell
                            "rr": (sum(after[i][0] > before[i][0] for i in before),
                                   sum(after[i][0] < before[i][0] for i in before)),
                            "kp": (sum(after[i][1] > before[i][1] for i in before),
                                   sum(after[i][1] < before[i][1] for i in before))}
                        line[t]["by_type"] = {k: (round(v["mrr@10"], 3), round(v["kp_recall@5"], 3))
                                              for k, v in r["by_type"].items()}
                    if qx is not None and train != "qasper" and fs != "all":
                        m = fit(x, y if model.startswith("blend") else target(y, tgt), model, cols, g)
                        line["qasper_ndcg"] = round(qasper_ndcg(qx, qg, meta, m), 4)
                    results.append(line)
                    print(f"train {train:9s} {fs:8s} {tgt:4s} {model:6s} fit {took:.2f}s | "
                          + " | ".join(f"{t}: {brief(r)} (d mrr {r['mrr@10'] - base[t]['mrr@10']:+.3f}, "
                                       f"kp {r['kp_recall@5'] - base[t]['kp_recall@5']:+.3f})"
                                       for t, r in res.items())
                          + (f" | qasper {line['qasper_ndcg']}" if "qasper_ndcg" in line else ""), flush=True)
                    print("   questions up/down (rr, kp):",
                          " | ".join(f"{t}: {line[t]['moved']['rr']} {line[t]['moved']['kp']}" for t in res),
                          flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
