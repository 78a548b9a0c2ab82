"""The embedding backends agree: the int8 ONNX MiniLM and bfloat16 MiniLM stand in for the float32 one."""

from __future__ import annotations

import numpy as np
import pytest

from paperdojo.library import embed, ingest, store
from paperdojo.library.embed import ONNX_INT8, TORCH_BF16, Embedder, IndexMismatch
from paperdojo.settings import Settings

TEXTS = ["Pipeline parallelism splits the layers of a model into stages.",
         "GPipe / 2.3 Performance Optimization\nRe-materialization recomputes activations.",
         "ZeRO partitions optimizer states, gradients and parameters across data-parallel ranks. " * 30,
         "all-reduce, NCCL, FP16 and TPU-v3 are words a tokenizer must split the same way."]


@pytest.fixture(scope="module")
def torch_embedder() -> Embedder:
    return Embedder(Settings(embed_backend="torch"))


@pytest.fixture(scope="module")
def onnx_embedder() -> Embedder:
    return Embedder(Settings(embed_backend=ONNX_INT8))


@pytest.fixture(scope="module")
def bf16_embedder() -> Embedder:
    return Embedder(Settings(embed_backend=TORCH_BF16, embed_workers=1), threads=1)


def test_onnx_vectors_match_torch(onnx_embedder, torch_embedder):
    embedder = onnx_embedder
    assert embedder.backend == ONNX_INT8 and embedder.model_id.endswith("#onnx-int8")
    onnx, torch = embedder.encode(TEXTS), torch_embedder.encode(TEXTS)
    assert onnx.shape == torch.shape == (4, 384) and onnx.dtype == np.float32
    assert np.allclose(np.linalg.norm(onnx, axis=1), 1.0, atol=1e-5)
    assert (onnx * torch).sum(axis=1).min() > 0.995  # the long text is truncated at 256 tokens by both
    # the same tokenizer: token counts and split points agree, so chunks are the same
    assert embedder.count_tokens(TEXTS) == torch_embedder.count_tokens(TEXTS)
    assert embedder.split_at_tokens(TEXTS[2], 40) == torch_embedder.split_at_tokens(TEXTS[2], 40)
    assert embedder.max_input_tokens == torch_embedder.max_input_tokens == 256


def test_bf16_vectors_match_float32_and_onnx(bf16_embedder, torch_embedder, onnx_embedder):
    many = [f"{t} ({i})" for i in range(5) for t in TEXTS]  # 20: one group, sorted by length
    bf16 = bf16_embedder.encode_bulk(many)
    assert bf16.shape == (20, 384) and bf16.dtype == np.float32
    assert np.allclose(np.linalg.norm(bf16, axis=1), 1.0, atol=1e-5)
    assert (bf16 * torch_embedder.encode(many)).sum(axis=1).min() > 0.995  # int8 weights, like ONNX
    # the int8 graph's own weights: the queries into its index (ONNX) share the quantization
    assert (bf16 * onnx_embedder.encode(many)).sum(axis=1).min() > 0.9999
    # what is compared at query time goes through ONNX in this process: no torch model loaded
    fresh = Embedder(Settings(embed_backend=TORCH_BF16))
    assert np.allclose(fresh.encode(many), onnx_embedder.encode(many), atol=1e-6)
    assert "model" not in fresh.__dict__
    # the tokenizer side is ONNX's: the same chunks as the other backends
    assert fresh.count_tokens(TEXTS) == torch_embedder.count_tokens(TEXTS)


def test_bf16_bulk_vectors_come_back_in_the_callers_order(bf16_embedder, onnx_embedder):
    # batches run longest first over the whole list; each vector must still land on its own text
    texts = [TEXTS[0], TEXTS[2][:900], TEXTS[3], TEXTS[1], TEXTS[2][:300]] * 8
    assert embed.length_order(texts[:5]) == [1, 4, 2, 3, 0]
    bulk, query = bf16_embedder.encode_bulk(texts), onnx_embedder.encode(texts)
    agreement = bulk @ query.T  # row i: text i's bulk vector against every query vector
    assert np.all(np.diag(agreement) > 0.9999)
    assert np.all(agreement.argmax(axis=1) % 5 == np.arange(len(texts)) % 5)


@pytest.mark.parametrize("backend", [ONNX_INT8, TORCH_BF16])
def test_bulk_encoding_in_workers_equals_in_process(backend):
    many = [f"{t} ({i})" for i in range(12) for t in TEXTS]  # 48 texts: the worker processes take them
    workers = Embedder(Settings(embed_backend=backend, embed_workers=2))
    try:
        in_workers = workers.encode_bulk(many)
    finally:
        workers.close()
    here = Embedder(Settings(embed_backend=backend, embed_workers=1), threads=1).encode_bulk(many)
    assert np.allclose(in_workers, here, atol=1e-6)


def test_auto_takes_bf16_only_on_a_cpu_with_amx_and_for_big_runs(monkeypatch):
    monkeypatch.setattr(embed, "cpu_has_amx_bf16", lambda: True)
    auto = Embedder(Settings())
    assert auto.backend == TORCH_BF16
    # bfloat16 workers take ~5 s to start: a run of a few papers embeds with ONNX workers
    assert auto.bulk_engine(1) == ONNX_INT8 and auto.bulk_engine(embed.BF16_MIN_PAPERS) == TORCH_BF16
    auto.plan_bulk(2)
    assert auto.engine == ONNX_INT8
    assert Embedder(Settings(embed_backend=TORCH_BF16)).bulk_engine(1) == TORCH_BF16  # asked for
    with pytest.raises(ValueError, match="cannot embed with"):
        Embedder(Settings(embed_backend="torch")).use_engine(TORCH_BF16)
    # both engines make the int8 graph's vectors: one index, one cache, one fingerprint
    assert auto.model_id == Embedder(Settings(embed_backend=ONNX_INT8)).model_id
    assert ingest.fingerprint(Settings()) == ingest.fingerprint(Settings(embed_backend=ONNX_INT8))
    assert Embedder(Settings(device="cuda")).backend == "torch"
    monkeypatch.setattr(embed, "cpu_has_amx_bf16", lambda: False)
    assert Embedder(Settings()).backend == ONNX_INT8
    with pytest.raises(ValueError, match="runs on the CPU"):
        Embedder(Settings(embed_backend=TORCH_BF16, device="cuda"))


def test_an_index_is_searched_with_the_backend_that_built_it(onnx_embedder, bf16_embedder):
    embedder = onnx_embedder
    assert embedder.matching(embedder.model_id) is embedder
    # int8 ONNX and bfloat16 engines make the same vectors; queries go through ONNX either way
    assert bf16_embedder.model_id == embedder.model_id
    assert embedder.matching(bf16_embedder.model_id) is embedder
    assert bf16_embedder.matching(embedder.model_id) is bf16_embedder
    assert embedder.matching("bundled:all-MiniLM-L6-v2").backend == "torch"  # an index from before
    with pytest.raises(IndexMismatch, match="paperdojo ingest --rebuild") as err:
        embedder.matching("intfloat/e5-small")
    assert isinstance(err.value, store.IndexProblem)
    for backend in (ONNX_INT8, TORCH_BF16):
        with pytest.raises(ValueError, match="only for bundled"):
            Embedder(Settings(embed_model="intfloat/e5-small", embed_backend=backend))
