"""Experiment: a linear query adapter on frozen MiniLM vectors, trained on the library's own text.

Unsupervised: pseudo-queries come from the indexed chunks only (inverse cloze task: one prose sentence
of a chunk is the query, the chunk without that sentence the positive; optionally the section heading
-> the section's first chunk). Nothing from the question files is used for training; they are only
measured, with the same passages `paperdojo eval` measures (`Answerer.passages`).

    python bench/adapt_experiment.py --home /tmp/h13e-home --questions ../shared/eval/dev.jsonl \
        ../shared/eval/dev2.jsonl [--reg 1.0] [--steps 300] [--both]

Prints the training time, held-out pseudo-query MRR before/after, and per file MRR@10, kp recall@5
and the refusal counts at the settings' min_support, for identity (no adapter) and the adapter.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path

import numpy as np

log = logging.getLogger("adapt_experiment")


def pseudo_pairs(chunks, rng: np.random.Generator, per_chunk: int = 1, min_words: int = 8,
                 max_words: int = 40) -> list[tuple[int, str, str]]:
    """(chunk row, query sentence, chunk text without it) for up to `per_chunk` prose sentences a chunk."""
    from paperdojo.answering import prose
    from paperdojo.library.chunk import sentence_spans

    out = []
    for i, c in enumerate(chunks):
        spans = sentence_spans(c.text, 0, len(c.text))
        good = []
        for s, e in spans:
            sent = " ".join(c.text[s:e].split())
            if min_words <= len(sent.split()) <= max_words and prose.kind(sent) is None:
                good.append((s, e, sent))
        if len(spans) < 3 or not good:
            continue
        for j in rng.permutation(len(good))[:per_chunk]:
            s, e, sent = good[j]
            rest = (c.text[:s] + " " + c.text[e:]).strip()
            out.append((i, sent, rest))
    return out


def train_adapter(q: np.ndarray, pos: np.ndarray, pos_row: np.ndarray, bank: np.ndarray,
                  same: np.ndarray, reg: float, steps: int, lr: float = 1e-3, tau: float = 0.05,
                  batch: int = 256, seed: int = 0, doc_of_pair: np.ndarray | None = None,
                  centroids: np.ndarray | None = None, paper_weight: float = 0.0,
                  symmetric: bool = False) -> np.ndarray:
    """W [d, d] minimizing InfoNCE of normalize(W q) against the bank (its own positive in place of
    its chunk's row; the chunk's same-section neighbours masked out) + reg * ||W - I||^2."""
    import torch

    torch.set_num_threads(1)  # a few small matmuls a step: more threads only contend on a shared machine
    torch.manual_seed(seed)
    d = q.shape[1]
    W = torch.nn.Parameter(torch.eye(d))
    opt = torch.optim.Adam([W], lr=lr)
    Q, P, B = torch.from_numpy(q), torch.from_numpy(pos), torch.from_numpy(bank)
    rows = torch.from_numpy(pos_row.astype(np.int64))
    mask_all = torch.from_numpy(same)  # [n_pairs, n_bank] True: a near-duplicate, not a negative
    rng = np.random.default_rng(seed)
    eye = torch.eye(d)
    for _ in range(steps):
        idx = torch.from_numpy(rng.choice(len(q), min(batch, len(q)), replace=False))
        qa = torch.nn.functional.normalize(Q[idx] @ W.T, dim=1)
        bank_w = torch.nn.functional.normalize(B @ W.T, dim=1) if symmetric else B
        pos_w = torch.nn.functional.normalize(P[idx] @ W.T, dim=1) if symmetric else P[idx]
        logits = qa @ bank_w.T / tau
        logits = logits.masked_fill(mask_all[idx], -1e4)
        own = (qa * pos_w).sum(1) / tau
        logits[torch.arange(len(idx)), rows[idx]] = own
        loss = torch.nn.functional.cross_entropy(logits, rows[idx]) + reg * ((W - eye) ** 2).sum()
        if paper_weight and centroids is not None and doc_of_pair is not None:
            cl = qa @ torch.from_numpy(centroids).T / tau
            loss = loss + paper_weight * torch.nn.functional.cross_entropy(
                cl, torch.from_numpy(doc_of_pair.astype(np.int64))[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return W.detach().numpy().astype(np.float32)


def pseudo_mrr(q: np.ndarray, pos_row: np.ndarray, bank: np.ndarray, W: np.ndarray) -> float:
    qa = q @ W.T
    qa /= np.linalg.norm(qa, axis=1, keepdims=True)
    s = qa @ bank.T
    own = s[np.arange(len(q)), pos_row]
    rank = (s > own[:, None]).sum(1) + 1
    return float(np.mean(np.where(rank <= 10, 1.0 / rank, 0.0)))


def measure(answerer, files: dict, min_support: float) -> dict:
    from paperdojo.evaluation.evaluate import retrieval_metrics

    out = {}
    for name, questions in files.items():
        m = retrieval_metrics(questions, lambda text: answerer.passages(text, k=10))
        refused = false = unans = 0
        for qq in questions:
            hits = answerer.passages(qq.question, k=5)
            query, _ = answerer.standalone(qq.question, None)
            why = answerer.refusal(qq.question, hits, query)
            if not qq.answerable:
                unans += 1
                refused += bool(why)
            else:
                false += bool(why)
        rows = m.pop("rows")
        types: dict[str, list] = {}
        for r in rows:
            types.setdefault(r["type"], []).append(r)
        out[name] = {"mrr@10": round(m["mrr@10"], 3), "kp_recall@5": round(m["kp_recall@5"], 3),
                     "page_hit@5": round(m["page_hit@5"], 3), "p50_ms": round(m["retrieval_p50_ms"], 1),
                     "refused": f"{refused}/{unans}", "false": f"{false}/{len(questions) - unans}",
                     "by_type": {t: (len(v), round(np.mean([r["rr"] for r in v]), 3),
                                     round(np.mean([r["kp"] for r in v]), 3))
                                 for t, v in sorted(types.items())},
                     "missed": [r["id"] for r in rows if r["rr"] == 0]}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", required=True)
    ap.add_argument("--questions", nargs="+", required=True)
    ap.add_argument("--reg", type=float, nargs="+", default=[1.0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--tau", type=float, default=0.05)
    ap.add_argument("--per-chunk", type=int, default=1)
    ap.add_argument("--leaky", action="store_true", help="positive = the stored chunk vector (sentence kept)")
    ap.add_argument("--both", action="store_true", help="apply W to the chunk vectors too")
    ap.add_argument("--headings", action="store_true", help="add heading -> first chunk pairs")
    ap.add_argument("--out", default="")
    ap.add_argument("--paper-weight", type=float, default=0.0)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--cache", default="")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from paperdojo.answering.answer import Answerer
    from paperdojo.answering.retrieve import Retriever
    from paperdojo.evaluation.evaluate import load_questions
    from paperdojo.library import store
    from paperdojo.library.chunk import heading_text
    from paperdojo.library.embed import Embedder
    from paperdojo.settings import Settings

    settings = Settings(home=Path(args.home))
    index = store.load_index(settings.index_dir)
    embedder = Embedder(settings)
    retriever = Retriever.from_settings(index, embedder, settings)
    answerer = Answerer.from_settings(retriever, settings)
    files = {Path(p).name: load_questions(Path(p)) for p in args.questions}

    t0 = time.perf_counter()
    chunks = list(index.chunks)
    bank = np.asarray(index.vectors, dtype=np.float32)
    rng = np.random.default_rng(0)
    pairs = pseudo_pairs(chunks, rng, args.per_chunk)
    rows = np.array([p[0] for p in pairs])
    cache = Path(args.cache) if args.cache else None
    if cache and cache.exists():
        z = np.load(cache)
        assert np.array_equal(z["rows"], rows), "the cache holds other pairs"
        qv = z["qv"]
    else:
        qv = embedder.encode([p[1] for p in pairs])
    t_q = time.perf_counter() - t0
    if cache and not cache.exists():
        np.savez(cache, rows=rows, qv=qv)
    if args.headings:  # heading (paper title + section) -> the section's first chunk
        seen, extra = set(), []
        for i, c in enumerate(chunks):
            key = (c.doc_id, c.section)
            if key not in seen and c.section and c.section != "Front matter":
                seen.add(key)
                extra.append((i, heading_text(c.title, c.section), ""))
        pairs += extra
        rows = np.concatenate([rows, [p[0] for p in extra]]).astype(rows.dtype)
        qv = np.concatenate([qv, embedder.encode([p[1] for p in extra])])
    if args.leaky:
        pos = bank[rows]
    else:
        with_heading = [heading_text(chunks[i].title, chunks[i].section) + ". " + rest if rest else ""
                        for i, _, rest in pairs]
        todo = [j for j, t in enumerate(with_heading) if t]
        pos = bank[rows].copy()
        pos[todo] = embedder.encode([with_heading[j] for j in todo])
    t_p = time.perf_counter() - t0 - t_q
    section = index.chunk_section
    same = section[rows][:, None] == section[None, :]
    near = np.abs(rows[:, None] - np.arange(len(bank))[None, :]) <= 1
    same &= near
    same[np.arange(len(rows)), rows] = False
    held = rng.random(len(pairs)) < 0.1
    log.info("%d pairs (%d held out); query vectors %.1f s, positives %.1f s",
             len(pairs), held.sum(), t_q, t_p)

    ndoc = int(index.chunk_doc.max()) + 1
    centroids = np.stack([bank[index.chunk_doc == d].mean(0) for d in range(ndoc)])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    results = {"pairs": len(pairs), "embed_queries_s": round(t_q, 1), "embed_positives_s": round(t_p, 1)}
    dense = retriever.dense_scores
    base_vectors = retriever.vectors
    eye = np.eye(bank.shape[1], dtype=np.float32)
    for reg in [None, *args.reg]:
        if reg is None:
            W = eye
            t_train = 0.0
        else:
            t = time.perf_counter()
            W = train_adapter(qv[~held], pos[~held], rows[~held], bank, same[~held], reg, args.steps,
                              tau=args.tau, lr=args.lr, doc_of_pair=index.chunk_doc[rows][~held],
                              centroids=centroids, paper_weight=args.paper_weight,
                              symmetric=args.both)
            t_train = time.perf_counter() - t
        def adapted(qvec, *a, W=W):  # noqa: ANN001, ANN202
            v = W @ qvec
            return dense(v / np.linalg.norm(v), *a)
        retriever.dense_scores = adapted
        if args.both and reg is not None:
            v = base_vectors @ W.T
            retriever.vectors = (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)
        else:
            retriever.vectors = base_vectors
        row = {"reg": reg, "train_s": round(t_train, 1),
               "held_out_pseudo_mrr": round(pseudo_mrr(qv[held], rows[held], bank, W), 3),
               "train_pseudo_mrr": round(pseudo_mrr(qv[~held], rows[~held], bank, W), 3),
               "dist_from_I": round(float(np.linalg.norm(W - eye)), 3),
               **measure(answerer, files, settings.min_support)}
        results[str(reg)] = row
        print(json.dumps(row), flush=True)
        if args.out and reg is not None:
            np.save(f"{args.out}-reg{reg}.npy", W)
    retriever.dense_scores = dense


if __name__ == "__main__":
    main()
