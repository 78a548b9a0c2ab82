"""How to get a document from a link: arXiv, HAL, IEEE (paywalled), GitHub, HTML, direct PDF.

Pure functions of the link, no network: `resolve` turns what a reading list says into a `Plan`
that `fetch.py` carries out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlparse

from paperdojo.library.identity import arxiv_id, doi_of, venue_source, with_scheme

__all__ = ["Plan", "arxiv_id", "resolve"]


@dataclass(frozen=True)
class Plan:
    """What to download and what kind of document to expect there."""

    kind: str  # pdf | html | markdown | auto | paywalled
    url: str | None  # None when paywalled with no open copy
    note: str = ""  # said to the user, e.g. why an open copy is used
    page_url: str | None = None  # a link a person can open, with #page=N for PDFs

    @property
    def suffix(self) -> str:
        """The cached file's extension for the kind (".pdf", ".html", ".md"; "" when unknown)."""
        return {"pdf": ".pdf", "html": ".html", "markdown": ".md"}.get(self.kind, "")


def resolve(link: str, kind: str | None = None, open_copy: str | None = None) -> Plan:
    """The download plan for a reading-list link (`kind` forces html/pdf/markdown).

    Raises ValueError, saying what is wrong, for what is neither an http(s) link, an arXiv id nor a
    DOI, and for links that cannot be requested (a space or control character, a bad port or host).
    A host and path without a scheme ("proceedings.mlsys.org/paper/x.pdf") is an https link.
    """
    link = with_scheme(link)
    if aid := arxiv_id(link):  # before the space check: arXiv's listings write "2201.12023 [cs.DC]"
        return Plan("pdf", f"https://arxiv.org/pdf/{aid}", page_url=f"https://arxiv.org/pdf/{aid}")
    if " " in link and "/" not in link and not doi_of(link):  # words, not an address ("attention is all")
        raise ValueError(f"not a link, arXiv id or DOI: {link!r}; give an arXiv id (2201.12023), a DOI "
                         f"(10.1145/...), a URL, or a PDF file")
    if re.search(r"[\s\x00-\x1f\x7f]", link):
        raise ValueError(f"not a usable link: {link!r} holds a space or control character; check the address")
    try:
        urlparse(link).port  # noqa: B018 - raises ValueError for a bad IPv6 host or port
    except ValueError as exc:
        raise ValueError(f"not a usable link: {link!r} ({exc}); check the address") from exc
    if (doi := doi_of(link)) and not urlparse(link).hostname:
        link = f"https://doi.org/{doi}"  # doi:10.x/y or a bare DOI: the resolver's link
    url = urlparse(link)
    if url.scheme not in {"http", "https"}:
        raise ValueError(f"not a link, arXiv id or DOI: {link!r}")
    if not url.hostname:
        raise ValueError(f"not a usable link: {link!r} has no host name; check the address")
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
    if (venue := venue_source(link)) and venue[1]:  # a proceedings site's abstract page: its PDF
        return Plan("pdf", venue[1], page_url=venue[1])
    if (url.hostname or "").lower() in {"doi.org", "dx.doi.org", "www.doi.org"}:
        # a DOI leads to the publisher's page: the PDF when it is open, else a landing page that
        # fetch.py refuses with what to do
        return Plan("pdf", link, "a DOI: the publisher's copy", page_url=link)
    if url.path.lower().endswith(".pdf") or "/pdf/" in url.path or "portal" in url.path:
        return Plan("pdf", link, page_url=link)
    # Unknown page: decided by what the server sends (a PDF, or an HTML post).
    return Plan("auto", link, page_url=link)
