"""Sentence vectors remembered across answers and filled ahead (answering.sentence_vectors)."""

from __future__ import annotations

import threading

import numpy as np

from paperdojo.answering.sentence_vectors import SentenceVectors


class Counting:
    """The real embedder, counting the texts it is asked to embed."""

    def __init__(self, inner) -> None:  # noqa: ANN001
        self.inner, self.texts = inner, 0

    def encode(self, texts):  # noqa: ANN001, ANN201
        self.texts += len(texts)
        return self.inner.encode(texts)


def test_vectors_are_the_embedders_and_embedded_once(embedder):
    counting = Counting(embedder)
    memo = SentenceVectors(counting, capacity=3)
    texts = ["Pipelining splits a mini-batch into micro-batches.", "ZeRO partitions optimizer states.",
             "Pipelining splits a mini-batch into micro-batches."]
    got = memo.encode(texts)
    assert got.shape == (3, embedder.dim) and counting.texts == 2  # the repeat is embedded once
    assert np.allclose(got, embedder.encode(texts), atol=1e-5)
    memo.encode(texts[:2])
    assert counting.texts == 2 and memo.hits == 3
    memo.encode(["a", "b"])  # capacity 3: the least recently used goes
    assert len(memo) == 3 and "Pipelining splits a mini-batch into micro-batches." not in memo._vectors


def test_warm_fills_ahead_and_stops(embedder):
    counting = Counting(embedder)
    memo = SentenceVectors(counting)
    sentences = [f"Sentence number {i} about tensor programs." for i in range(10)]
    assert memo.warm(sentences, batch=4) == 10 and counting.texts == 10
    memo.encode(sentences[3:5])
    assert counting.texts == 10  # answers only embed what is new
    stop = threading.Event()
    stop.set()
    assert memo.warm(["never embedded"], stop) == 0
