"""Upper-bound harness (issue 13 item 1): re-rank the top-N chunks of the live ranking by their best
sentence's cosine to the question, and report retrieval figures per file and per question type.

The unchanged ranking (w = 0) reproduces `paperdojo eval`'s retrieval figures: the same
`Answerer.passages` path, the same `retrieval_metrics`. Sentence vectors of every chunk are embedded
once and kept in a cache file (`--cache`), so reruns only embed the questions.

Run: PYTHONPATH=src python bench/sentence_scores.py --home H [--unit all|quotable] [--heading] [--bulk]
     [--kinds gain,max,mix,top2] [--pools 20,50] [--weights 0,0.1,0.2] [--json out.json]
`--sections secmax,secmean,sectop2,head` tries section-level evidence instead (`SectionEvidence`);
`--qasper` prints the QASPER per-paper rows (`qasper_rows`). Results: docs/measurements.md, "Issue 13:
sentence scores in retrieval (h10ret, session 10)".
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from paperdojo.answering import prose
from paperdojo.answering.extract import candidates
from paperdojo.answering.retrieve import Retriever
from paperdojo.evaluation.evaluate import by_type, load_questions, retrieval_metrics
from paperdojo.library.chunk import heading_text, sentence_spans
from paperdojo.settings import Settings
from paperdojo.workspace import Workspace

EVAL = Path("/work/shared/eval")


def sentences_of(text: str, unit: str) -> list[str]:
    """The sentences of a chunk scored for retrieval: `all` (every sentence of >= 4 words, cleaned)
    or `quotable` (extract.candidates: the prose an answer may quote)."""
    if unit == "quotable":
        return [c.text for c in candidates([text])]
    out = [prose.clean(text[s:e]) for s, e in sentence_spans(text, 0, len(text))]
    return [s for s in out if len(s.split()) >= 4]


def sentence_table(retriever: Retriever, unit: str, heading: bool, cache: Path,
                   bulk: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(vectors [m, dim], owner [m] chunk number) of every chunk's sentences, cached in `cache`."""
    if cache.exists():
        data = np.load(cache)
        return data["vectors"], data["owner"]
    texts, owner = [], []
    for i in range(retriever.n):
        chunk = retriever.chunks[i]
        for s in sentences_of(chunk.text, unit):
            texts.append(heading_text(chunk.title, chunk.section) + "\n" + s if heading else s)
            owner.append(i)
    started = time.perf_counter()
    vectors = retriever.embedder.encode_bulk(texts) if bulk else retriever.embedder.encode(texts)
    took = time.perf_counter() - started
    print(f"embedded {len(texts)} sentences ({unit}, heading={heading}) of {retriever.n} chunks "
          f"in {took:.1f} s "
          f"({len(texts) / took:.0f}/s)")
    np.savez(cache, vectors=vectors, owner=np.array(owner, dtype=np.int32))
    return vectors, np.array(owner, dtype=np.int32)


class SentenceRerank:
    """Patches a Retriever's `_passages`: the top `n` ranked chunks get `w * f(sentence cosines)`
    added to their fused score before passages are formed."""

    def __init__(self, retriever: Retriever, vectors: np.ndarray, owner: np.ndarray) -> None:
        self.retriever = retriever
        self.vectors = vectors
        self.starts = np.searchsorted(owner, np.arange(retriever.n + 1))
        self.original = retriever._passages
        self.qvec: np.ndarray | None = None
        self.w, self.n, self.kind = 0.0, 20, "max"
        original_search = retriever.search

        def search(query: str, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            self.qvec = retriever.embedder.encode([query.strip()])[0]
            return original_search(query, *args, **kwargs)

        retriever.search = search  # type: ignore[method-assign]
        retriever._passages = self.passages  # type: ignore[method-assign]

    def feature(self, i: int, dense: float) -> float:
        assert self.qvec is not None
        lo, hi = self.starts[i], self.starts[i + 1]
        if hi <= lo:
            return dense if self.kind != "gain" else 0.0
        sims = np.sort(self.vectors[lo:hi] @ self.qvec)[::-1]
        if self.kind == "max":
            return float(sims[0])
        if self.kind == "top2":
            return float(sims[:2].mean())
        if self.kind == "mix":  # the dense part becomes (1 - w) * chunk cosine + w * best sentence's
            return float(sims[0]) - dense
        if self.kind == "gain":  # only what the best sentence adds over the chunk's own cosine
            return max(0.0, float(sims[0]) - dense)
        raise ValueError(self.kind)

    def passages(self, order, fused, dense, lexical, want, rows=None):  # noqa: ANN001, ANN201
        if self.w == 0.0 or rows is not None:
            return self.original(order, fused, dense, lexical, want, rows)
        fused = fused.copy()
        top = order[: self.n]
        for i in top:
            fused[i] += self.w * self.feature(int(i), float(dense[i]))
        top = top[np.argsort(-fused[top], kind="stable")]
        return self.original(np.concatenate([top, order[self.n :]]), fused, dense, lexical, want, rows)


class SectionEvidence:
    """Patches a Retriever's `with_neighbours` (exact path: called on every chunk's dense + BM25
    score): each chunk gains `w * f(its section)`, f one of `secmax` (the section's best raw score),
    `secmean` (their mean), `sectop2` (mean of the best two), `head` (cosine of the question to the
    section's heading "title. section" embedded alone)."""

    def __init__(self, retriever: Retriever, rerank: SentenceRerank) -> None:
        self.retriever, self.rerank = retriever, rerank
        self.original = retriever.with_neighbours
        self.w, self.kind = 0.0, "secmax"
        self.section = retriever.chunk_section.astype(np.int64)
        self.n_sections = int(self.section.max()) + 1
        names = retriever.index.section_names
        first = {}
        for i in range(retriever.n):
            first.setdefault(int(self.section[i]), i)
        heads = [heading_text(retriever.chunks[first[s]].title, names[s]) if s in first else str(names[s])
                 for s in range(self.n_sections)]
        self.heads = retriever.embedder.encode(heads)
        self.count = np.bincount(self.section, minlength=self.n_sections).astype(np.float32)
        retriever.with_neighbours = self.with_neighbours  # type: ignore[method-assign]

    def with_neighbours(self, score, joined=None):  # noqa: ANN001, ANN201
        out = self.original(score, joined)
        if self.w == 0.0 or joined is not None or len(score) != self.retriever.n:
            return out
        if self.kind == "head":
            assert self.rerank.qvec is not None
            return out + self.w * (self.heads @ self.rerank.qvec)[self.section]
        if self.kind == "secmax":
            best = np.full(self.n_sections, -np.inf, dtype=np.float32)
            np.maximum.at(best, self.section, score)
            return out + self.w * best[self.section]
        if self.kind == "secmean":
            total = np.bincount(self.section, weights=score, minlength=self.n_sections)
            return out + self.w * (total / np.maximum(self.count, 1))[self.section]
        if self.kind == "sectop2":
            order = np.lexsort((-score, self.section))
            sec = self.section[order]
            firsts = np.r_[True, sec[1:] != sec[:-1]]
            seconds = np.r_[False, firsts[:-1]] & ~firsts
            top1 = np.zeros(self.n_sections, dtype=np.float32)
            top2 = np.zeros(self.n_sections, dtype=np.float32)
            top1[sec[firsts]] = score[order][firsts]
            top2[sec[seconds]] = score[order][seconds]
            two = np.where(self.count >= 2, (top1 + top2) / 2, top1)
            return out + self.w * two[self.section]
        raise ValueError(self.kind)


def run(search: Callable, files: dict[str, list]) -> dict[str, dict]:
    out = {}
    for name, questions in files.items():
        r = retrieval_metrics(questions, lambda q: search(q, k=10))
        rows = r.pop("rows")
        r["by_type"] = by_type(rows)
        out[name] = r
    return out


def qasper_rows(settings: Settings, pool: int = 20) -> dict[tuple, float]:
    """QASPER per-paper hybrid nDCG@10 (external.py's `_Scorer`, unchanged for `base`) with the top
    `pool` paragraphs re-ranked by hybrid + w * f(best sentence cosine), f as in `SentenceRerank`;
    sentences bare or after the paragraph's section name ("heading")."""
    from paperdojo.evaluation.external import _jsonl, _qrels, _Scorer, ndcg_at_10
    from paperdojo.library.embed import Embedder

    emb = Embedder(settings)
    root = settings.eval_external / "qasper_subset"
    paras, qrels = _jsonl(root / "corpus.jsonl"), _qrels(root / "qrels.tsv")
    qs = [q for q in _jsonl(root / "questions.jsonl") if q["qid"] in qrels]
    by_doc: dict[str, list[dict]] = {}
    for p in paras:
        by_doc.setdefault(p["doc_id"], []).append(p)
    bare, headed, owner = [], [], []
    for p in paras:
        for x in sentences_of(p["text"], "all"):
            bare.append(x)
            headed.append((p.get("section", "") + "\n" + x).strip())
            owner.append(p["_id"])
    started = time.perf_counter()
    vectors = {0: emb.encode_bulk(bare), 1: emb.encode_bulk(headed)}
    print(f"QASPER: embedded {2 * len(bare)} sentences in {time.perf_counter() - started:.1f} s")
    rows_of: dict[str, list[int]] = {}
    for j, pid in enumerate(owner):
        rows_of.setdefault(pid, []).append(j)
    configs = [("base", 0, 0.0)] + [(k, h, w) for h in (0, 1) for k in ("gain", "mix", "max")
                                     for w in (0.1, 0.2, 0.3)]
    res: dict[tuple, list[float]] = {c: [] for c in configs}
    for doc, ps in by_doc.items():
        dq = [q for q in qs if q["doc_id"] == doc]
        if not dq:
            continue
        scorer = _Scorer([(p.get("section", "") + "\n" + p["text"]).strip() for p in ps], emb,
                         settings.bm25_weight)
        ids = [p["_id"] for p in ps]
        qv = emb.encode([q["question"] for q in dq])
        scores = scorer.scores([q["question"] for q in dq])
        for qi, q in enumerate(dq):
            for kind, h, w in configs:
                score = scores["hybrid"][qi].copy()
                top = np.argsort(-score, kind="stable")[:pool]
                if kind != "base":
                    for i in top:
                        rows = rows_of.get(ids[i], [])
                        if rows:
                            best = float((vectors[h][rows] @ qv[qi]).max())
                            dense = float(scores["dense"][qi, i])
                            score[i] += w * {"max": best, "mix": best - dense,
                                             "gain": max(0.0, best - dense)}[kind]
                    top = top[np.argsort(-score[top], kind="stable")]
                rest = np.setdiff1d(np.arange(len(ids)), top)
                order = list(top) + list(rest[np.argsort(-score[rest], kind="stable")])
                res[(kind, h, w)].append(ndcg_at_10([ids[i] for i in order[:10]], qrels[q["qid"]]))
    out = {c: float(np.mean(v)) for c, v in res.items()}
    for c, v in out.items():
        print("QASPER", c, round(v, 4), len(res[c]))
    return out


def report(line: dict, res: dict[str, dict]) -> dict:
    """One printed row: the configuration, then page hit, MRR and kp recall per file (by type kept)."""
    for f, r in res.items():
        line[f] = {k: round(v, 3) for k, v in r.items() if k in
                   ("page_hit@5", "mrr@10", "kp_recall@5", "retrieval_p50_ms")}
        line[f]["by_type"] = {t: {k: round(v, 3) for k, v in x.items()
                                  if k in ("n", "mrr@10", "kp_recall@5", "page_hit@5")}
                              for t, x in r["by_type"].items()}
    print(*(line[k] for k in line if not k.endswith(".jsonl")),
          " | ".join(f"{f}: page {line[f]['page_hit@5']} mrr {line[f]['mrr@10']} kp {line[f]['kp_recall@5']}"
                     for f in res), flush=True)
    return line


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", required=True)
    ap.add_argument("--unit", default="all", choices=["all", "quotable"])
    ap.add_argument("--heading", action="store_true")
    ap.add_argument("--cache", default="")
    ap.add_argument("--bulk", action="store_true", help="embed the sentences as an index does (batched)")
    ap.add_argument("--weights", default="0,0.1,0.2,0.3,0.5")
    ap.add_argument("--kinds", default="max,top2,gain")
    ap.add_argument("--pools", default="20,30")
    ap.add_argument("--json", default="")
    ap.add_argument("--qasper", action="store_true", help="the QASPER rows instead")
    ap.add_argument("--sections", default="", help="section evidence kinds to try instead (secmax,head)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.qasper:
        qasper_rows(Settings.load(home=Path(args.home)))
        return
    ws = Workspace(Settings.load(home=Path(args.home)))
    answerer = ws.answerer()
    cache = Path(args.cache or f"/tmp/h10ret-sent-{args.unit}-{int(args.heading)}.npz")
    vectors, owner = sentence_table(answerer.retriever, args.unit, args.heading, cache, args.bulk)
    rer = SentenceRerank(answerer.retriever, vectors, owner)
    files = {p: load_questions(EVAL / p) for p in ("dev.jsonl", "dev2.jsonl")}
    results = []
    if args.sections:
        sec = SectionEvidence(answerer.retriever, rer)
        for kind in args.sections.split(","):
            for w in [float(x) for x in args.weights.split(",")]:
                sec.w, sec.kind = w, kind
                results.append(report({"kind": kind, "w": w}, run(answerer.passages, files)))
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=1))
        return
    for kind in args.kinds.split(","):
        for n in [int(x) for x in args.pools.split(",")]:
            for w in [float(x) for x in args.weights.split(",")]:
                if w == 0 and (kind, n) != (args.kinds.split(",")[0], int(args.pools.split(",")[0])):
                    continue
                rer.w, rer.n, rer.kind = w, n, kind
                results.append(report({"kind": kind, "n": n, "w": w}, run(answerer.passages, files)))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
