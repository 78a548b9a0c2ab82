"""External checks nobody here wrote: BEIR SciFact and the QASPER subset.

SciFact anchors the retrieval stack's correctness (one document = one abstract, no chunking):
all-MiniLM-L6-v2 is published at nDCG@10 0.645 and BM25 at 0.665. QASPER ranks the paragraphs of
one paper for its questions (per-paper retrieval, as its README asks, nDCG@10), and checks the
extractive answer drawn from the top paragraphs against the annotators' answer spans.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

from paperdojo.answering.extract import Selection, extract
from paperdojo.answering.retrieve import weighing_terms
from paperdojo.evaluation.evaluate import norm
from paperdojo.library.embed import Embedder
from paperdojo.util import jsonl_records


def ndcg_at_10(ranked: list[str], relevant: dict[str, int]) -> float:
    """nDCG@10 of a ranking of ids against graded relevance {id: grade} (linear gain, log2
    discount, as trec_eval's ndcg_cut.10); 0 when nothing is relevant."""
    dcg = sum(relevant.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:10]))
    ideal = sorted(relevant.values(), reverse=True)[:10]
    idcg = sum(r / math.log2(i + 2) for i, r in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def _jsonl(path: Path) -> list[dict]:
    return [record for _, record in jsonl_records(path)]


def _qrels(path: Path) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        q, d, s = line.split("\t")
        out.setdefault(q, {})[d] = int(s)
    return out


class _Scorer:
    """Dense, BM25 and fused scores of queries over one corpus."""

    def __init__(self, texts: list[str], embedder: Embedder, bm25_weight: float) -> None:
        self.stemmer = Stemmer.Stemmer("english")
        self.bm25 = bm25s.BM25()
        self.bm25.index(bm25s.tokenize(texts, stopwords="en", stemmer=self.stemmer, show_progress=False),
                        show_progress=False)
        self.vectors = embedder.encode_bulk(texts)  # like an index: the bulk backend
        self.embedder = embedder
        self.w = bm25_weight

    def scores(self, queries: list[str]) -> dict[str, np.ndarray]:
        q = self.embedder.encode(queries)
        dense = q @ self.vectors.T
        tokens = bm25s.tokenize(queries, stopwords="en", stemmer=self.stemmer, return_ids=False,
                                show_progress=False)
        lexical = np.stack([self.bm25.get_scores(t) if t else np.zeros(self.vectors.shape[0])
                            for t in tokens])
        top = lexical.max(axis=1, keepdims=True)
        hybrid = dense + self.w * np.divide(lexical, top, out=np.zeros_like(lexical), where=top > 0)
        return {"dense": dense, "bm25": lexical, "hybrid": hybrid}


def scifact(root: Path, embedder: Embedder, bm25_weight: float = 0.5,
            progress: Callable[[str], None] = print) -> dict[str, float]:
    """BEIR SciFact (test queries): nDCG@10 of dense, BM25 and hybrid ranking over the abstracts
    in `root` (corpus.jsonl, queries.jsonl, qrels/test.tsv), and the number of queries."""
    corpus = _jsonl(root / "corpus.jsonl")
    ids = [d["_id"] for d in corpus]
    qrels = _qrels(root / "qrels" / "test.tsv")
    queries = {q["_id"]: q["text"] for q in _jsonl(root / "queries.jsonl") if q["_id"] in qrels}
    progress(f"SciFact: embedding {len(corpus)} abstracts (a few minutes on 2 cores)")
    scorer = _Scorer([(d["title"] + " " + d["text"]).strip() for d in corpus], embedder, bm25_weight)
    qids = list(queries)
    out = {}
    for name, matrix in scorer.scores([queries[q] for q in qids]).items():
        ranks = np.argsort(-matrix, axis=1)[:, :10]
        out[name] = float(np.mean([ndcg_at_10([ids[i] for i in row], qrels[q])
                                   for q, row in zip(qids, ranks, strict=True)]))
    out["n_queries"] = len(qids)
    return out


def qasper(root: Path, embedder: Embedder, bm25_weight: float = 0.5,
           progress: Callable[[str], None] = print, selection: Selection | None = None) -> dict[str, float]:
    """Per-paper paragraph retrieval (nDCG@10 by ranker), and the extractive answer from the top
    hybrid paragraphs: `answer_span` (it holds a gold span whole) and `answer_recall` (best share of
    a gold span's words)."""
    selection = selection or Selection()
    paragraphs = _jsonl(root / "corpus.jsonl")
    qrels = _qrels(root / "qrels.tsv")
    questions = [q for q in _jsonl(root / "questions.jsonl") if q["qid"] in qrels]
    progress(f"QASPER: {len(questions)} questions over the paragraphs of their own paper")
    by_doc: dict[str, list[dict]] = {}
    for p in paragraphs:
        by_doc.setdefault(p["doc_id"], []).append(p)
    results: dict[str, list[float]] = {"dense": [], "bm25": [], "hybrid": [], "answer_span": [],
                                       "answer_recall": []}
    for doc_id, paras in by_doc.items():
        qs = [q for q in questions if q["doc_id"] == doc_id]
        if not qs:
            continue
        scorer = _Scorer([(p.get("section", "") + "\n" + p["text"]).strip() for p in paras], embedder,
                         bm25_weight)
        ids = [p["_id"] for p in paras]
        for name, matrix in scorer.scores([q["question"] for q in qs]).items():
            for q, row in zip(qs, np.argsort(-matrix, axis=1), strict=True):
                results[name].append(ndcg_at_10([ids[i] for i in row[:10]], qrels[q["qid"]]))
                if name == "hybrid" and q.get("extractive_spans"):
                    terms = weighing_terms(scorer.stemmer, q["question"])
                    answer = extract(q["question"], [paras[i]["text"] for i in row[:selection.passages]],
                                     terms, scorer.stemmer, embedder, selection)
                    span, recall = span_match(q["extractive_spans"], answer)
                    results["answer_span"].append(span)
                    results["answer_recall"].append(recall)
    out = {name: float(np.mean(v)) if v else 0.0 for name, v in results.items()}
    out["n_queries"] = len(results["dense"])
    out["n_answers"] = len(results["answer_span"])
    return out


def span_match(spans: list[str], answer: str) -> tuple[float, float]:
    """Whether the answer holds a gold span whole, and the best share of a span's words it holds.

    Words are compared as sets, lower-cased; spans match as key points do (case, hyphens, spaces).
    """
    hay = norm(answer)
    words = set(re.findall(r"\w+", answer.lower()))
    whole = any(norm(s) and norm(s) in hay for s in spans)
    shares = [len(set(w) & words) / len(set(w)) for s in spans if (w := re.findall(r"\w+", s.lower()))]
    return float(whole), max(shares, default=0.0)
