"""Vectors of the sentences an extractive answer weighs, kept in memory and filled ahead of time.

Embedding the candidate sentences was ~70% of an extractive answer's time (cProfile of 30 dev2.jsonl
answers, 2026-12-01: 24.8 s of 35.4 s in ONNX runs for the query and its 8 best candidates). The
same sentences come back across questions, and an index's sentences are a fixed set, so their
vectors are kept in a bounded in-memory map (read-only homes stay read-only: nothing is written to
disk) and a long-lived process (the app, the MCP server) fills it in the background after loading an
index (`warm`), so answers then only embed the question.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)


class Encoder(Protocol):
    """What SentenceVectors wraps: texts -> unit vectors, shape (len(texts), dim), float32."""

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class SentenceVectors:
    """An encoder that remembers up to `capacity` vectors by exact text (least recently used first
    out). Thread-safe. encode(texts) -> (len(texts), dim) float32, L2-normalized like `inner`'s.

    At 384 dimensions 100,000 vectors take 154 MB; the 27 shared papers hold about 30,000 candidate
    sentences.
    """

    def __init__(self, inner: Encoder, capacity: int = 100_000) -> None:
        self.inner = inner
        self.capacity = capacity
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._vectors)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of `texts` in order; only the ones never seen (or evicted) are embedded."""
        with self._lock:
            found = {t: self._vectors[t] for t in texts if t in self._vectors}
            for t in found:
                self._vectors.move_to_end(t)
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        if missing:
            fresh = self.inner.encode(missing)
            found.update(zip(missing, fresh, strict=True))
            self._remember(missing, fresh)
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([found[t] for t in texts]).astype(np.float32, copy=False)

    def _remember(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        with self._lock:
            for t, v in zip(texts, vectors, strict=True):
                self._vectors[t] = v
                self._vectors.move_to_end(t)
            while len(self._vectors) > self.capacity:
                self._vectors.popitem(last=False)

    def warm(self, sentences: Iterable[str], stop: threading.Event | None = None, batch: int = 64,
             pause: float = 0.0) -> int:
        """Embed `sentences` not held yet, `batch` at a time, until done, full or `stop` is set;
        returns how many were added. Meant for a background thread after an index is loaded:
        `pause` > 0 rests `pause` x the time each batch took, so answers keep most of the CPU
        (1.0: at most half a core)."""
        added, pending = 0, []
        for s in sentences:
            if stop is not None and stop.is_set():
                break
            with self._lock:
                if s in self._vectors or s in pending:
                    continue
            pending.append(s)
            if len(pending) == batch:
                started = time.perf_counter()
                self._remember(pending, self.inner.encode(pending))
                added, pending = added + len(pending), []
                if pause and stop is not None:
                    stop.wait(pause * (time.perf_counter() - started))
                if len(self._vectors) >= self.capacity:
                    break
        if pending and not (stop is not None and stop.is_set()):
            self._remember(pending, self.inner.encode(pending))
            added += len(pending)
        log.info("sentence vectors: %d added, %d held", added, len(self._vectors))
        return added
