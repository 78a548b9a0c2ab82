"""Embedding cache: vectors by (model, exact text), in SQLite beside the index.

Whole documents are reused through the index parts (store.py); this catches what parts cannot: a
new parser version, other chunk settings or a re-downloaded PDF that changed a little produce many
chunks whose text is unchanged, and only the changed ones are embedded again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from paperdojo.util import sha256_text

Submit = Callable[[Sequence[str]], Callable[[], np.ndarray]]  # starts embedding; call the result to wait


class EmbeddingCache:
    """Vectors by (model, exact text) in a SQLite file (WAL), float32 bytes each; `hits` and
    `misses` count lookups since it was opened."""

    def __init__(self, path: Path, model_id: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB)")
        self.model_id = model_id
        self.hits = self.misses = 0

    def key(self, text: str) -> str:
        """The row key of `text` under this model: the first 40 hex digits of the SHA-256 of
        "model_id\ntext"."""
        return sha256_text(f"{self.model_id}\n{text}")[:40]

    def start(self, texts: Sequence[str], submit: Submit) -> Callable[[], np.ndarray]:
        """Vectors for `texts`: cached ones read back, the others started by `submit`; the returned
        function waits for them, stores them and gives all vectors in order."""
        keys = [self.key(t) for t in texts]
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 500):
            batch = keys[start : start + 500]
            marks = ",".join("?" * len(batch))
            rows = self.db.execute(f"SELECT key, vec FROM vectors WHERE key IN ({marks})", batch)
            found.update({k: np.frombuffer(v, dtype=np.float32) for k, v in rows})
        missing = [i for i, k in enumerate(keys) if k not in found]
        self.hits += len(keys) - len(missing)
        self.misses += len(missing)
        pending = submit([texts[i] for i in missing]) if missing else None

        def finish() -> np.ndarray:
            if pending is not None:
                fresh = pending()
                with self.db:
                    self.db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                                        [(keys[i], fresh[j].astype(np.float32).tobytes())
                                         for j, i in enumerate(missing)])
                found.update({keys[i]: fresh[j] for j, i in enumerate(missing)})
            if not keys:
                return np.zeros((0, 0), np.float32)
            return np.stack([found[k] for k in keys]).astype(np.float32)
        return finish

    def keep_only(self, texts: Sequence[str]) -> None:
        """Forget every vector but those of `texts` (the live index), so the cache does not grow."""
        keep = {self.key(t) for t in texts}
        stale = [k for (k,) in self.db.execute("SELECT key FROM vectors") if k not in keep]
        with self.db:
            self.db.executemany("DELETE FROM vectors WHERE key = ?", [(k,) for k in stale])

    def clear(self) -> None:
        """Forget every vector."""
        with self.db:
            self.db.execute("DELETE FROM vectors")

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()
