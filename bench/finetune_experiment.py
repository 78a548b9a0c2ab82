"""Experiment: fine-tune all-MiniLM-L6-v2 on the library's own text, re-embed the chunks, measure.

Pseudo-pairs as in adapt_experiment.py (inverse cloze task: a prose sentence of a chunk -> the chunk,
heading included, without that sentence), multiple-negatives ranking loss (in-batch negatives, scale
20, as sentence-transformers' MultipleNegativesRankingLoss), one epoch, a plain torch loop on the
SentenceTransformer modules. Nothing from the question files is used for training.

    python bench/finetune_experiment.py --home /tmp/h13e-home --questions ../shared/eval/dev.jsonl \
        ../shared/eval/dev2.jsonl --pairs 2000 --model-out /tmp/h13e-ft
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from adapt_experiment import measure, pseudo_pairs  # noqa: E402

log = logging.getLogger("finetune_experiment")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", required=True)
    ap.add_argument("--questions", nargs="+", required=True)
    ap.add_argument("--pairs", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--train-tokens", type=int, default=128, help="max tokens a text has in training")
    ap.add_argument("--model-out", required=True)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import torch
    from sentence_transformers import SentenceTransformer

    from paperdojo.answering.answer import Answerer
    from paperdojo.answering.retrieve import Retriever
    from paperdojo.evaluation.evaluate import load_questions
    from paperdojo.library import store
    from paperdojo.library.chunk import embedding_text, heading_text
    from paperdojo.library.embed import Embedder, resolve_model
    from paperdojo.settings import BUNDLED_MODEL, Settings

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    settings = Settings(home=Path(args.home))
    index = store.load_index(settings.index_dir)
    chunks = list(index.chunks)
    rng = np.random.default_rng(0)
    pairs = pseudo_pairs(chunks, rng, 1)
    pairs = [pairs[i] for i in rng.permutation(len(pairs))[: args.pairs]]
    queries = [p[1] for p in pairs]
    positives = [heading_text(chunks[i].title, chunks[i].section) + "\n" + rest for i, _, rest in pairs]

    out = Path(args.model_out)
    if not (out / "config.json").exists():
        model = SentenceTransformer(resolve_model(BUNDLED_MODEL), device="cpu")
        full = model.max_seq_length
        model.max_seq_length = args.train_tokens
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=args.lr)
        t = time.perf_counter()
        steps = len(pairs) // args.batch
        for step in range(steps):
            a = queries[step * args.batch : (step + 1) * args.batch]
            b = positives[step * args.batch : (step + 1) * args.batch]
            fa = model.tokenize(a)
            fb = model.tokenize(b)
            ea = torch.nn.functional.normalize(model(fa)["sentence_embedding"], dim=1)
            eb = torch.nn.functional.normalize(model(fb)["sentence_embedding"], dim=1)
            loss = torch.nn.functional.cross_entropy(20.0 * ea @ eb.T, torch.arange(len(a)))
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step % 2 == 0:
                log.info("step %d/%d loss %.3f (%.0f s)", step, steps, loss.item(), time.perf_counter() - t)
        train_s = time.perf_counter() - t
        model.eval()
        model.max_seq_length = full
        model.save(str(out))
        (out / "train_s.txt").write_text(f"{train_s:.1f}")
    train_s = float((out / "train_s.txt").read_text())

    ft = Embedder(settings.model_copy(update={"embed_model": str(out), "embed_backend": "torch"}))
    vec_path = out / "chunk_vectors.npy"
    t = time.perf_counter()
    if not vec_path.exists():
        np.save(vec_path, ft.encode([embedding_text(c, settings.embed_with_heading) for c in chunks]))
    embed_s = time.perf_counter() - t
    vectors = np.load(vec_path)

    retriever = Retriever.from_settings(index, Embedder(settings), settings)
    answerer = Answerer.from_settings(retriever, settings)
    files = {Path(p).name: load_questions(Path(p)) for p in args.questions}
    retriever.embedder = ft
    retriever.vectors = vectors
    retriever.exact = True
    print(json.dumps({"pairs": len(pairs), "train_s": train_s, "re_embed_s": round(embed_s, 1),
                      **measure(answerer, files, settings.min_support)}), flush=True)


if __name__ == "__main__":
    main()
