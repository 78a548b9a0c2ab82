"""The two embedding backends agree: the int8 ONNX MiniLM stands in for the torch one."""

from __future__ import annotations

import numpy as np
import pytest

from paperdojo.library import store
from paperdojo.library.embed import ONNX_INT8, Embedder, IndexMismatch
from paperdojo.settings import Settings

TEXTS = ["Pipeline parallelism splits the layers of a model into stages.",
         "GPipe / 2.3 Performance Optimization\nRe-materialization recomputes activations.",
         "ZeRO partitions optimizer states, gradients and parameters across data-parallel ranks. " * 30,
         "all-reduce, NCCL, FP16 and TPU-v3 are words a tokenizer must split the same way."]


@pytest.fixture(scope="module")
def torch_embedder() -> Embedder:
    return Embedder(Settings(embed_backend="torch"))


def test_onnx_vectors_match_torch(embedder, torch_embedder):
    assert embedder.backend == ONNX_INT8 and embedder.model_id.endswith("#onnx-int8")
    onnx, torch = embedder.encode(TEXTS), torch_embedder.encode(TEXTS)
    assert onnx.shape == torch.shape == (4, 384) and onnx.dtype == np.float32
    assert np.allclose(np.linalg.norm(onnx, axis=1), 1.0, atol=1e-5)
    assert (onnx * torch).sum(axis=1).min() > 0.995  # the long text is truncated at 256 tokens by both
    # the same tokenizer: token counts and split points agree, so chunks are the same
    assert embedder.count_tokens(TEXTS) == torch_embedder.count_tokens(TEXTS)
    assert embedder.split_at_tokens(TEXTS[2], 40) == torch_embedder.split_at_tokens(TEXTS[2], 40)
    assert embedder.max_input_tokens == torch_embedder.max_input_tokens == 256


def test_bulk_encoding_in_workers_equals_in_process(embedder):
    many = [f"{t} ({i})" for i in range(8) for t in TEXTS]  # 32 texts: the worker processes take them
    single = Settings(embed_workers=1)
    assert np.allclose(embedder.encode(many), Embedder(single).encode(many), atol=1e-6)


def test_an_index_is_searched_with_the_backend_that_built_it(embedder):
    assert embedder.matching(embedder.model_id) is embedder
    assert embedder.matching("bundled:all-MiniLM-L6-v2").backend == "torch"  # an index from before
    with pytest.raises(IndexMismatch, match="paperdojo ingest --rebuild") as err:
        embedder.matching("intfloat/e5-small")
    assert isinstance(err.value, store.IndexProblem)
    with pytest.raises(ValueError, match="only for bundled"):
        Embedder(Settings(embed_model="intfloat/e5-small", embed_backend=ONNX_INT8))
