"""Topics that fit the library: a paper without a category gets the nearest one.

Candidates are the reading list's categories (each described by its name and the titles of its
papers) and a small built-in set of ML-systems topics the reading list lacks (LLM serving,
distributed training, attention kernels, ...), each described by a sentence. A paper is described
by its title and abstract (the first 1,500 characters of its text when no abstract was found); the
embedder picks the candidate of highest cosine. The choice is written to the catalog
(catalog.set_category), so it shows in `paperdojo papers` and the Library, stays stable across
ingests, and the user can change it like any other category.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np

from paperdojo.library import catalog
from paperdojo.library.embed import Embedder
from paperdojo.records import ParsedDoc
from paperdojo.settings import Settings

log = logging.getLogger(__name__)

BUILTIN_TOPICS = {
    # named like the reading list's category, so a library with the reading list keeps that one
    "End-to-end ML compiler frameworks": "Compilers for deep learning models: computational graphs and "
                                         "intermediate representations, operator fusion, lowering and "
                                         "code generation for CPUs, GPUs and accelerators.",
    "LLM serving": "Serving systems for inference of large language models: batching user requests, "
                   "KV cache memory management, scheduling prefill and decoding, latency and throughput.",
    "Distributed training": "Training large language models and other neural networks on many GPUs: data, "
                            "tensor, sequence and pipeline parallelism, sharding parameters, gradients and "
                            "optimizer states, collective communication.",
    "Attention kernels": "Fast and memory-efficient attention on GPUs: tiling, softmax, kernel fusion, "
                         "IO-aware exact attention, memory bandwidth and on-chip SRAM.",
    "Mixture of experts": "Sparsely activated mixture-of-experts models: gating, routing tokens to "
                          "experts, expert parallelism and load balancing.",
    "Quantization and compression": "Quantizing and compressing neural networks: low-precision weights "
                                    "and activations, int8 and 4-bit inference, pruning and sparsity.",
    "Tensor program optimization": "Generating fast tensor programs: schedules, loop tiling, search "
                                   "spaces, learned cost models and code generation for operators.",
}


def describe_paper(doc: ParsedDoc, title: str = "") -> str:
    """Title and abstract (or the opening of the text) of a parsed paper."""
    body = doc.abstract or doc.text[:1500]
    return f"{title or doc.title}. {body}"


def topic_descriptions(papers: Iterable[catalog.Paper]) -> dict[str, str]:
    """{category: description}: the reading list's categories, then the built-in topics it lacks."""
    titles: dict[str, list[str]] = {}
    for p in papers:
        if p.origin == "reading-list" and p.category and p.category != catalog.UNCATEGORIZED:
            titles.setdefault(p.category, []).append(p.title)
    out = {cat: f"{cat}: " + "; ".join(t for t in ts if t) for cat, ts in titles.items()}
    lowered = {c.lower() for c in out}
    out.update({name: f"{name}: {text}" for name, text in BUILTIN_TOPICS.items()
                if name.lower() not in lowered})
    return out


def nearest_topics(embedder: Embedder, texts: list[str], topics: dict[str, str]) -> list[tuple[str, float]]:
    """For each of `texts`, the topic whose description is closest (cosine), and that cosine. The
    descriptions and the texts are embedded once, in one call (a cold ingest of the 27 shared PDFs
    spent 2.4 s embedding the descriptions again for every paper)."""
    names = list(topics)
    vecs = embedder.encode([topics[n] for n in names] + texts)
    sims = vecs[len(names):] @ vecs[: len(names)].T  # (texts, topics)
    return [(names[int(np.argmax(row))], float(row.max())) for row in sims]


def fill_categories(settings: Settings, papers: list[catalog.Paper], docs: Iterable, parsed: dict,
                    embedder: Embedder) -> list[tuple[str, str]]:
    """Give each indexed paper still "Added by you" its nearest topic, in `docs` and the catalog.

    `docs`: ingest.DocStatus records (changed in place); `parsed`: {doc id: (ParsedDoc, ...)}.
    Returns (paper id, category) for each paper categorised.
    """
    todo = [d for d in docs if d.status == "indexed" and d.category in ("", catalog.UNCATEGORIZED)
            and d.id in parsed]
    if not todo:
        return []
    topics = topic_descriptions(papers)
    done = []
    nearest = nearest_topics(embedder, [describe_paper(parsed[d.id][0], d.title) for d in todo], topics)
    for d, (name, sim) in zip(todo, nearest, strict=True):
        d.category = name
        catalog.set_category(settings, d.id, name)
        log.info("%s: category %r (nearest topic, cosine %.2f); change it with "
                 "`paperdojo papers --set-category %s CATEGORY`", d.id, name, sim, d.id)
        done.append((d.id, name))
    return done
