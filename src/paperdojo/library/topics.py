"""Topics that fit the library: a paper without a category gets the nearest one.

Candidates are the reading list's categories and a small built-in set of ML-systems topics the
reading list lacks (LLM serving, distributed training, attention kernels, ...). Each topic is a set
of examples, not one vector: a reading-list category's examples are the titles of its papers (each
alone; the papers of one category can be far apart), a built-in topic's are a few sentences of the
kind its papers' abstracts hold (BUILTIN_TOPICS). A paper is described by its title and abstract
(the first 1,500 characters of its text when no abstract was found).

A topic's score for a paper is the mean cosine of the paper to the topic's `TOP_EXAMPLES` nearest
examples (one lucky title of a category no longer decides, nor does a long description diluted by
everything else it names). A reading-list category is chosen only when it scores at least
`LIST_MARGIN` above the best built-in topic: the reading list's categories are named by the
titles of few papers, often of papers that failed to download, so a paper far from all of them
(ZeRO, near "Zero-Memory Overhead Direct Convolutions" by its words only) goes to the built-in
topic it fits. The choice is written to the catalog (catalog.set_category), so it shows in
`paperdojo papers` and the Library, stays stable across ingests, and the user can change it like any
other category.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from paperdojo.library import catalog
from paperdojo.library.embed import Embedder
from paperdojo.records import ParsedDoc
from paperdojo.settings import Settings

log = logging.getLogger(__name__)

# Each topic by example sentences like its papers' abstracts (written for this module, no paper's
# wording). The first topic is named like the reading list's category, so a library with the reading
# list keeps that one (its examples then join the category's titles).
BUILTIN_TOPICS: dict[str, tuple[str, ...]] = {
    "End-to-end ML compiler frameworks": (
        "A compiler for deep learning models lowers computational graphs through intermediate "
        "representations to code for CPUs, GPUs and accelerators.",
        "Operator fusion, graph rewriting and code generation in an optimizing compiler for neural "
        "networks.",
        "A compiler infrastructure with reusable intermediate representations, dialects and passes.",
    ),
    "LLM serving": (
        "A serving system for inference of large language models batches user requests to raise "
        "throughput under latency targets.",
        "Managing the key-value cache memory of concurrent requests during autoregressive decoding.",
        "Scheduling the prefill and decoding phases of requests to a large language model service.",
        "Splitting long prompts into chunks and batching them with decode steps keeps GPUs busy during "
        "LLM inference.",
    ),
    "Distributed training": (
        "Training large neural networks with billions of parameters across many GPUs with data, "
        "tensor and pipeline parallelism.",
        "Sharding model parameters, gradients and optimizer states across data-parallel workers to "
        "reduce memory per device.",
        "Partitioning a model across devices and overlapping collective communication such as "
        "all-reduce and all-gather with computation.",
        "Sequence parallelism splits long input sequences across GPUs to train transformers on long "
        "contexts.",
        "Automatic parallelization partitions the computation graph of a large model across devices "
        "from a few sharding annotations.",
    ),
    "Attention kernels": (
        "A fast and memory-efficient exact attention kernel for GPUs that tiles the softmax "
        "computation.",
        "Reducing reads and writes between GPU high-bandwidth memory and on-chip SRAM in attention "
        "with kernel fusion.",
        "Computing attention over very long sequences block by block without materializing the "
        "attention matrix.",
    ),
    "Mixture of experts": (
        "Sparsely activated mixture-of-experts models route each token to a few experts with a "
        "gating network.",
        "Expert parallelism and load balancing of tokens across experts.",
    ),
    "Quantization and compression": (
        "Quantizing the weights and activations of neural networks to int8 or 4-bit for faster "
        "inference.",
        "Pruning and sparsity to compress deep learning models with little loss of accuracy.",
    ),
    "Tensor program optimization": (
        "Generating fast tensor programs by searching over schedules, loop tiling and other "
        "transformations.",
        "A learned cost model guides the search for high-performance implementations of tensor "
        "operators.",
        "Optimizing deep learning computations by substituting equivalent subgraphs of tensor "
        "operators.",
    ),
}
TOP_EXAMPLES = 2  # a topic's score: mean cosine to its this many nearest examples
# how much a reading-list category must beat the best built-in topic by (cosine); chosen on the 27
# shared papers (docs/measurements.md): 0.05 keeps the reading list's own indexed papers (TVM,
# TinyIREE, Timeloop, Zero-Memory Overhead Direct Convolutions) in their categories when their own
# title is left out of the examples, and sends ZeRO, GSPMD, FSDP and DeepSpeed-Ulysses to
# distributed training
LIST_MARGIN = 0.05


@dataclass
class Topic:
    """A candidate category: its name, its examples, and whether it comes from the reading list."""

    name: str
    examples: list[str]
    from_list: bool


def describe_paper(doc: ParsedDoc, title: str = "") -> str:
    """Title and abstract (or the opening of the text) of a parsed paper."""
    body = doc.abstract or doc.text[:1500]
    return f"{title or doc.title}. {body}"


def topic_examples(papers: Iterable[catalog.Paper]) -> list[Topic]:
    """The reading list's categories (examples: their papers' titles), then the built-in topics
    (a built-in topic named like a category adds its sentences to that category's examples)."""
    titles: dict[str, list[str]] = {}
    for p in papers:
        if p.origin == "reading-list" and p.category and p.category != catalog.UNCATEGORIZED:
            titles.setdefault(p.category, [])
            if p.title:
                titles[p.category].append(p.title)
    out = [Topic(cat, [f"{cat}: {t}" for t in ts] or [cat], True) for cat, ts in titles.items()]
    by_name = {t.name.lower(): t for t in out}
    for name, sentences in BUILTIN_TOPICS.items():
        if name.lower() in by_name:
            by_name[name.lower()].examples += list(sentences)
        else:
            out.append(Topic(name, list(sentences), False))
    return out


def topic_scores(paper_vecs: np.ndarray, example_vecs: np.ndarray, owners: Sequence[int],
                 n_topics: int) -> np.ndarray:
    """(papers, topics): the mean cosine of each paper to each topic's TOP_EXAMPLES nearest examples.

    `paper_vecs` (papers, dim) and `example_vecs` (examples, dim) are L2-normalised; `owners[i]` is
    the topic of example i."""
    sims = paper_vecs @ example_vecs.T
    owner = np.asarray(owners)
    out = np.zeros((len(paper_vecs), n_topics), dtype=np.float32)
    for t in range(n_topics):
        col = np.sort(sims[:, owner == t], axis=1)[:, ::-1][:, :TOP_EXAMPLES]
        out[:, t] = col.mean(axis=1) if col.shape[1] else -1.0
    return out


def choose(scores: np.ndarray, topics: Sequence[Topic]) -> list[tuple[str, float]]:
    """For each row of `scores` (papers, topics): the best built-in topic, unless a reading-list
    category beats it by LIST_MARGIN; the name and its score."""
    listed = np.array([t.from_list for t in topics])
    out = []
    for row in scores:
        best_list = int(np.argmax(np.where(listed, row, -np.inf))) if listed.any() else -1
        best_own = int(np.argmax(np.where(listed, -np.inf, row))) if (~listed).any() else -1
        pick = best_list if best_own < 0 or best_list >= 0 and row[best_list] >= row[best_own] + LIST_MARGIN \
            else best_own
        out.append((topics[pick].name, float(row[pick])))
    return out


def nearest_topics(embedder: Embedder, texts: list[str], topics: list[Topic]) -> list[tuple[str, float]]:
    """For each of `texts`, the topic chosen for it (`choose`) and its score. The examples and the
    texts are embedded once, in one call (a cold ingest of the 27 shared PDFs spent 2.4 s embedding
    topic descriptions again for every paper)."""
    examples = [e for t in topics for e in t.examples]
    owners = [i for i, t in enumerate(topics) for _ in t.examples]
    vecs = embedder.encode(examples + texts)
    return choose(topic_scores(vecs[len(examples):], vecs[: len(examples)], owners, len(topics)), topics)


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
    topics = topic_examples(papers)
    done = []
    nearest = nearest_topics(embedder, [describe_paper(parsed[d.id][0], d.title) for d in todo], topics)
    for d, (name, sim) in zip(todo, nearest, strict=True):
        d.category = name
        catalog.set_category(settings, d.id, name)
        log.info("%s: category %r (nearest topic, cosine %.2f); change it with "
                 "`paperdojo papers --set-category %s CATEGORY`", d.id, name, sim, d.id)
        done.append((d.id, name))
    return done
