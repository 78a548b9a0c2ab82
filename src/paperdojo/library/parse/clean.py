"""Line cleaning: ligatures and control characters, running headers and footers, the arXiv stamp,
and how a line joins the one before it (a word hyphenated across lines)."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u00ad\ufffd]")
_STAMP = re.compile(r"^arXiv:\s?\d{4}\.\d{4,5}(v\d+)?\s*\[[\w.\- ]+\]\s*\d{1,2}\s*\w{3}\s*\d{4}$")
_PAGE_NO = re.compile(r"^(page\s+)?[\divxlc]{1,5}(\s+of\s+\d+)?$", re.I)


def clean_line(line: str) -> str:
    """One line with ligatures and math letters normalized (NFKC), control characters and soft
    hyphens removed, runs of blanks collapsed."""
    line = unicodedata.normalize("NFKC", line)  # ligatures (fi, fl, ffi), math letters
    line = _CONTROL.sub("", line)
    return re.sub(r"[ \t\u00a0]+", " ", line).strip()


def is_arxiv_stamp(line: str) -> bool:
    """The arXiv side stamp ("arXiv:2201.12023v3 [cs.LG] 28 Jun 2022"), forwards or reversed."""
    compact = line.strip()
    return bool(_STAMP.match(compact) or _STAMP.match(compact[::-1]))


def _margin_key(line: str) -> str:
    return re.sub(r"\d+", "#", line.lower()).strip()


def strip_running_lines(pages: list[list[str]], margin: int = 2) -> list[list[str]]:
    """Drop headers/footers: margin lines that repeat across pages (on 30% of them, and at least
    two: a two-page paper's header on both pages is one too), page numbers, the arXiv stamp."""
    n = len(pages)
    counts: Counter[str] = Counter()
    for lines in pages:
        edge = set(lines[:margin] + lines[-margin:])
        counts.update({_margin_key(x) for x in edge})
    threshold = max(2, round(0.3 * n))
    repeated = {k for k, c in counts.items() if c >= threshold and n >= 2}
    out = []
    for lines in pages:
        keep = []
        for i, line in enumerate(lines):
            at_edge = i < margin or i >= len(lines) - margin
            if is_arxiv_stamp(line):
                continue
            if at_edge and (_margin_key(line) in repeated or _PAGE_NO.match(line)):
                continue
            keep.append(line)
        out.append(keep)
    return out


_WORD = re.compile(r"[A-Za-z][A-Za-z\-]*[A-Za-z]")


def hyphen_vocab(pages: list[list[str]]) -> tuple[set[str], set[str]]:
    """The document's words written without and with a hyphen, to decide how to join "pipeline-" +
    "parallel" across a line break."""
    plain: set[str] = set()
    hyphenated: set[str] = set()
    for lines in pages:
        for line in lines:
            for w in _WORD.findall(line.lower()):
                (hyphenated if "-" in w else plain).add(w)
    return plain, hyphenated


def line_join(prev: str, line: str, vocab: tuple[set[str], set[str]]) -> tuple[str, bool]:
    """How `line` continues `prev`: the separator, and whether prev's trailing '-' is dropped."""
    if prev.endswith("-") and len(prev) > 1 and prev[-2].isalpha() and line[:1].islower():
        head = re.findall(r"[A-Za-z\-]+$", prev[:-1])
        tail = re.match(r"[a-z]+", line)
        if head and tail:
            joined = (head[0] + tail[0]).lower()
            with_hyphen = (head[0] + "-" + tail[0]).lower()
            plain, hyphenated = vocab
            if with_hyphen in hyphenated and joined not in plain:
                return "", False
        return "", True
    return " ", False
