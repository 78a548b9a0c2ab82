"""Small helpers shared across the layers: atomic writes, hashing and JSON (Lines) files, and two
wordings (a title's short form, a counted noun)."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file's bytes as 64 hex digits, read in blocks (hashlib.file_digest);
    OSError when it cannot be read."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def sha256_text(text: str) -> str:
    """The SHA-256 of `text` encoded as UTF-8, as 64 hex digits."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def atomic_write_bytes(path: Path, data: bytes, mode: int | None = None) -> None:
    """Write to a temporary file beside `path`, fsync, then rename: never half-written.

    The file gets `mode` (e.g. 0o600) before it is renamed into place; by default mkstemp's 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str, mode: int | None = None) -> None:
    """`text` as UTF-8 to `path`, atomically (see atomic_write_bytes)."""
    atomic_write_bytes(path, text.encode("utf-8"), mode)


def atomic_write_json(path: Path, data: object) -> None:
    """`data` as JSON (UTF-8 kept, indent 1) to `path`, atomically; TypeError when not serializable."""
    atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=1))


def read_json(path: Path, default: Any = None) -> Any:
    """The JSON value in `path`, or `default` when the file does not exist; ValueError
    (json.JSONDecodeError) when it holds no valid JSON."""
    if not path.exists():
        return default
    return json.loads(path.read_text(encoding="utf-8"))


def jsonl_records(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number from 1, JSON value) of each non-blank line of a JSON Lines file. Raises
    ValueError naming the file and line when one is not JSON, OSError when it cannot be read."""
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield n, json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{n}: not JSON ({exc.msg})") from exc


def short_title(title: str) -> str:
    """A paper's title before its subtitle: the text before the first ": " ("GPipe: Easy Scaling..." ->
    "GPipe"); the whole title when it has none (a colon inside a link or a time is no separator)."""
    head = title.split(": ", 1)[0].strip()
    return head or title


def counted(n: int, noun: str) -> str:
    """ "1 paper", "2 papers": `n` and the noun, plural unless n is 1 (nouns with a plain -s plural)."""
    return f"{n} {noun}{'s' * (n != 1)}"
