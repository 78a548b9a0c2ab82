"""How to get a document from a link: arXiv, HAL, IEEE (paywalled), GitHub, HTML, direct PDF.

Pure functions of the link, no network: `resolve` turns what a reading list says into a `Plan`
that `fetch.py` carries out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlparse

ARXIV_ID = re.compile(r"^(?:arxiv:)?(\d{4}\.\d{4,5}(?:v\d+)?|[a-z\-]+(?:\.[A-Z]{2})?/\d{7}(?:v\d+)?)$", re.I)


@dataclass(frozen=True)
class Plan:
    """What to download and what kind of document to expect there."""

    kind: str  # pdf | html | markdown | auto | paywalled
    url: str | None  # None when paywalled with no open copy
    note: str = ""  # said to the user, e.g. why an open copy is used
    page_url: str | None = None  # a link a person can open, with #page=N for PDFs

    @property
    def suffix(self) -> str:
        return {"pdf": ".pdf", "html": ".html", "markdown": ".md"}.get(self.kind, "")


def arxiv_id(link: str) -> str | None:
    """The arXiv identifier in a bare id or an arxiv.org abs/pdf URL, else None."""
    link = link.strip()
    match = ARXIV_ID.match(link)
    if match:
        return match.group(1)
    url = urlparse(link)
    if url.hostname not in {"arxiv.org", "www.arxiv.org", "export.arxiv.org"}:
        return None
    path = re.sub(r"^/(abs|pdf|html)/", "", url.path)
    path = re.sub(r"\.pdf$", "", path.rstrip("/"))
    return path if ARXIV_ID.match(path) else None


def resolve(link: str, kind: str | None = None, open_copy: str | None = None) -> Plan:
    """The download plan for a reading-list link (`kind` forces html/pdf/markdown)."""
    link = link.strip()
    if aid := arxiv_id(link):
        return Plan("pdf", f"https://arxiv.org/pdf/{aid}", page_url=f"https://arxiv.org/pdf/{aid}")
    url = urlparse(link)
    if url.scheme not in {"http", "https"}:
        raise ValueError(f"not a link or arXiv id: {link!r}")
    host = url.hostname or ""
    if kind in {"html", "pdf", "markdown"}:
        return Plan(kind, link, page_url=link)
    if host.endswith("ieeexplore.ieee.org"):
        if open_copy:
            plan = resolve(open_copy)
            note = f"IEEE Xplore is paywalled; using the open copy at {open_copy}"
            return Plan(plan.kind, plan.url, note, plan.page_url)
        return Plan("paywalled", None, "IEEE Xplore is paywalled and no open copy is known")
    if host == "github.com":
        parts = [p for p in url.path.split("/") if p]
        if len(parts) >= 2:
            owner, repo = parts[0], parts[1].removesuffix(".git")
            raw = f"https://raw.githubusercontent.com/{owner}/{repo}/HEAD/README.md"
            return Plan("markdown", raw, "the repository's README", page_url=link)
    if "hal." in host or host.startswith("hal"):
        path = url.path.rstrip("/")
        if not path.endswith("/document") and not path.endswith(".pdf"):
            pdf = f"{url.scheme}://{host}{path}/document"
            return Plan("pdf", pdf, page_url=pdf)
        return Plan("pdf", link, page_url=link)
    if url.path.lower().endswith(".pdf") or "/pdf/" in url.path or "portal" in url.path:
        return Plan("pdf", link, page_url=link)
    # Unknown page: decided by what the server sends (a PDF, or an HTML post).
    return Plan("auto", link, page_url=link)
