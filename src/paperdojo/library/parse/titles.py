"""A PDF's title from its metadata, its first page's largest type or its first lines."""

from __future__ import annotations

import re

from paperdojo.library.parse.clean import clean_line, is_arxiv_stamp
from paperdojo.library.parse.headings import NAMED, SMALL_WORDS, title_ok
from paperdojo.library.parse.pdftext import PdfText


def pdf_title(extracted: PdfText, first_lines: list[str]) -> str:
    """The title: the PDF metadata when plausible, else the first page's largest type, else the
    first lines of the first page; "" when those start with a section's name ("Abstract",
    "1 Introduction": a page without a title, whose id then comes from its file name)."""
    meta = clean_line(extracted.meta_title)
    bad = ("untitled", "microsoft word", ".dvi", ".pdf", ".doc", ".tex")
    if len(meta.split()) >= 3 and not any(b in meta.lower() for b in bad):
        return meta
    largest = re.sub(r"(?<=\w-) ", "", " ".join(extracted.largest))  # "Memory- Efficient"
    letters = sum(c.isalpha() for c in largest)
    if 2 <= len(largest.split()) <= 30 and letters >= 0.7 * len(largest.replace(" ", "")) \
            and not _section_name(largest):
        return largest[:200]
    lines = [x for x in first_lines[:40] if not is_arxiv_stamp(x)]
    # USENIX cover pages: the title follows "... is sponsored by"
    cover = next((i for i, x in enumerate(lines[:15]) if "sponsored by" in x), None)
    if cover is not None:
        lines = lines[cover + 1 :]
    lines = [x for x in lines if not re.match(r"^(appears in|this paper is|proceedings)", x, re.I)]
    if not lines or _section_name(lines[0]):
        return ""
    title = lines[0]
    for nxt in lines[1:4]:
        short = len(nxt.split()) <= (14 if title.endswith(":") else 6)
        words = nxt.split()
        dangling = title.split()[-1].lower() in SMALL_WORDS
        a_name = (len(title.split()) >= 5 and len(words) in (2, 3) and not dangling
                  and all(w[0].isupper() and "-" not in w for w in words))
        if short and not a_name and "@" not in nxt and not re.search(r"\d|,", nxt) and title_ok(nxt):
            title += " " + nxt
        else:
            break
    return title[:200]


def _section_name(line: str) -> bool:
    """Does `line` start with a usual section's name, alone or run in ("Abstract", "1 Introduction",
    "ABSTRACT. We shard ..."), rather than a title?"""
    match = re.match(r"^(?:[\dIVX]+\.?\s+)?([A-Za-z ]+?)\s*(?:[.:](?:\s|$)|$)", line.strip())
    return match is not None and match.group(1).lower() in NAMED
