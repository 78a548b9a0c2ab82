"""A paper's identity: its canonical source and its content hash.

Two ways in name the same paper when they share either:

- the canonical source (`canonical_source`): an arXiv id without its version, a HAL id without its
  version, a DOI (lower-cased; arXiv's own DOIs become the arXiv id), a proceedings site's paper key
  (OpenReview, ACL Anthology, PMLR, NeurIPS: abstract page and PDF alike), else the normalized URL
  (scheme and host lower-cased, default port, fragment, tracking parameters and trailing slash
  dropped);
- the sha256 of the file (`content_index`, `paper_with_content`), whichever path brought it (the
  reading list, `paperdojo add`, `--pdf-dir`, an upload, a watched folder).

Ids are made here too (`paper_id`): a file or link name that reduces to nothing useful (CJK or
emoji only, "download (1)", "paper") falls back to the title, then to a short hash, so distinct
documents never share an id and never overwrite each other's cached file.

These are pure functions of links and files, no network; the Zotero import builds on them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlparse, urlunparse

from paperdojo.util import sha256_file, sha256_text

ARXIV_ID = re.compile(r"^(?:arxiv:)?(\d{4}\.\d{4,5}|[a-z\-]+(?:\.[A-Z]{2})?/\d{7})(v\d+)?$", re.I)
DOI = re.compile(r"(10\.\d{4,9}/[^\s\"<>#?]+)", re.I)
HAL_ID = re.compile(r"\b((?:hal|inria|tel|cea|in2p3|halshs|hal-[a-z]+|[a-z]+)-\d{8})(v\d+)?\b", re.I)
TRACKING = re.compile(r"^(utm_.*|fbclid|gclid|mc_[ce]id|ref|ref_src|source|via)$", re.I)
# file or link names that say nothing about the paper (after slugify, without a trailing -N)
GENERIC_NAMES = {"paper", "papers", "document", "doc", "download", "downloads", "file", "untitled",
                 "pdf", "main", "fulltext", "full-text", "article", "manuscript", "preprint", "scan",
                 "print", "view", "index", "content", "upload", "new", "copy", "abs"}


def slugify(text: str, max_len: int = 40) -> str:
    """Lower-case ASCII letters and digits joined by "-", at most `max_len` characters ("" if none).

    Accents and compatibility forms fold to their letters first (NFKD, combining marks dropped):
    "école" and "ÉCOLE" are "ecole" (were "cole"), "café" is "cafe" whether written composed (NFC)
    or decomposed (NFD), full-width "ｏｔｔｅｒ" is "otter"."""
    folded = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    slug = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")
    return slug[:max_len].strip("-")


# what a title or file name may carry that names no paper: links, HTML tags, a Markdown link's target
_NOT_A_NAME = re.compile(r"\]\([^)]*\)|<[^<>]*>|\b[a-z][a-z0-9+.-]*://\S*", re.I)


def useful_slug(text: str, max_len: int = 40) -> str:
    """`slugify(text)` without the links and HTML tags in it ("Wombat [click](http://x/y) <b>Scheduler"
    is "wombat-click-scheduler"), or "" when that says nothing about the paper: under 3 characters,
    only digits and dashes of a copy counter, or a generic word like "download (1)" or "paper"."""
    slug = slugify(_NOT_A_NAME.sub(" ", text), max_len)
    core = re.sub(r"(-\d{1,3})+$", "", slug)
    if len(re.sub(r"[^a-z0-9]", "", core)) < 3 or core in GENERIC_NAMES:
        return ""
    return slug


# hosts whose paths name an arXiv paper by its id: arXiv itself and its HTML renderings and mirrors
ARXIV_HOSTS = {"arxiv.org", "www.arxiv.org", "export.arxiv.org", "ar5iv.org", "ar5iv.labs.arxiv.org",
               "alphaxiv.org", "www.alphaxiv.org", "huggingface.co", "www.semanticscholar.org"}
_ARXIV_PATH = re.compile(r"^/(?:abs|pdf|html|papers|arxiv|overview)/(?P<id>.+?)(?:\.pdf)?/?$", re.I)
_SCHEMELESS = re.compile(r"^[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}/", re.I)  # "arxiv.org/abs/..."
_LISTING = re.compile(r"\s+\[[a-z\-]+(?:\.[a-z\-]+)?\]$", re.I)  # arXiv's " [cs.LG]" after the id


def arxiv_id(link: str, keep_version: bool = True) -> str | None:
    """The arXiv identifier in a bare id (`2201.12023v3`, `arxiv:cs/0501001`, arXiv's listing form
    `arXiv:2201.12023v2 [cs.LG]`), an arXiv abs/pdf/html URL (with or without its scheme, any case:
    `arxiv.org/pdf/2201.12023v2.PDF`), a page of a mirror keyed by the id (ar5iv, alphaxiv, Hugging
    Face papers, Semantic Scholar's /arxiv/) or an arXiv DOI (10.48550/arXiv.2201.12023); None for
    anything else.

    With `keep_version=False` the version suffix (v3) is dropped: the paper, not one revision.
    """
    link = _LISTING.sub("", link.strip())
    match = ARXIV_ID.match(link)
    if not match:
        try:
            url = urlparse(f"https://{link}" if _SCHEMELESS.match(link) else link)
        except ValueError:  # "http://[::1/x.pdf": not a link at all
            return None
        host = (url.hostname or "").lower()
        arxiv_host = host in ARXIV_HOSTS or host.endswith(".arxiv.org")  # browse., export., lite.
        path = _ARXIV_PATH.match(url.path) if arxiv_host else None
        if path:
            match = ARXIV_ID.match(path["id"])
        elif doi := doi_of(link):
            match = ARXIV_ID.match(doi.removeprefix("10.48550/arxiv."))
    if not match:
        return None
    return match.group(1) + ((match.group(2) or "") if keep_version else "")


# what wraps a link pasted from a mail, a chat or a Markdown text: <...>, quotes, brackets
_WRAPPERS = {"<": ">", '"': '"', "'": "'", "\u201c": "\u201d", "\u2018": "\u2019", "(": ")", "[": "]",
             "`": "`", "\u00ab": "\u00bb"}
_MARKDOWN_LINK = re.compile(r"^\[[^\]]*\]\((\S+)\)$")  # "[Alpa](https://arxiv.org/abs/2201.12023)"
_TRAILING = ".,;:!?"  # a sentence's punctuation after a link ("see arXiv:2201.12023v3.")


def pasted(link: str) -> str:
    """A link, arXiv id or DOI without what copying it brought along: invisible format characters
    (zero-width spaces, joiners, a byte-order mark, direction marks: Unicode category Cf) anywhere,
    surrounding white space, wrappers ("<...>", quotes, "(...)", "[...]", a Markdown link's text),
    a sentence's trailing punctuation and a closing bracket or quote that opens nowhere in it.
    "(arXiv:2201.12023v3)." is "arXiv:2201.12023v3"; a balanced "[cs.DC]" or a DOI's "(20)" stays."""
    s = "".join(c for c in link if unicodedata.category(c) != "Cf").strip()
    while True:
        before = s
        if m := _MARKDOWN_LINK.match(s):
            s = m.group(1)
        if len(s) > 1 and _WRAPPERS.get(s[0]) == s[-1] and s.count(s[0]) + s.count(s[-1]) <= 2 \
                or len(s) > 2 and s[0] == s[-1] and s[0] in "\"'`" and s.count(s[0]) == 2:
            s = s[1:-1]
        s = s.rstrip(_TRAILING)
        for opener, closer in _WRAPPERS.items():
            if s.endswith(closer) and (opener == closer and s.count(closer) % 2 == 1
                                       or opener != closer and s.count(closer) > s.count(opener)):
                s = s[:-1]
            if s.startswith(opener) and (opener == closer and s.count(opener) % 2 == 1
                                         or opener != closer and s.count(opener) > s.count(closer)):
                s = s[1:]
        s = s.strip()
        if s == before:
            return s


def with_scheme(link: str) -> str:
    """`link` as pasted (`pasted`) with "https://" put in front when it is a host and a path
    written without a scheme ("proceedings.mlsys.org/paper/x.pdf", "doi.org/10.1145/x", as copied
    from a browser's address bar); anything else (a link with a scheme, an arXiv id, a DOI, a file
    name) as it is."""
    link = pasted(link)
    return f"https://{link}" if "://" not in link and _SCHEMELESS.match(link) else link


def doi_of(link: str) -> str | None:
    """The DOI (lower-cased: DOIs are case-insensitive) in `doi:10...`, a bare `10.xxxx/...`, a
    doi.org link or a publisher path holding `/doi/[abs|pdf|full]/10...`; None otherwise."""
    link = link.strip()
    url = urlparse(link)
    host = (url.hostname or "").lower()
    if link.lower().startswith("doi:") or re.match(r"^10\.\d{4,9}/", link):
        candidate = link[4:] if link.lower().startswith("doi:") else link
    elif host in {"doi.org", "dx.doi.org", "www.doi.org"}:
        candidate = url.path.lstrip("/")
    elif "/doi/" in url.path:
        candidate = re.sub(r"^.*?/doi/(?:(?:abs|pdf|full|epdf|pdfdirect|book)/)?", "", url.path)
    else:
        return None
    match = DOI.match(candidate.strip())
    return match.group(1).rstrip(".").lower() if match else None


def hal_id(link: str) -> str | None:
    """The HAL identifier without version (`hal-01828312`) of a link on a HAL server, else None."""
    url = urlparse(link.strip())
    host = (url.hostname or "").lower()
    if not ("hal." in host or host.startswith("hal") or host.endswith("archives-ouvertes.fr")):
        return None
    match = HAL_ID.search(url.path)
    return match.group(1).lower() if match else None


# proceedings that give each paper an abstract page and a PDF under one key (the paper's own id in
# the path or the query): (canonical prefix, host test, key pattern over path + "?" + query,
# the PDF's URL from the key). Written from the sites' link forms as of 2026: OpenReview
# (forum?id=X, pdf?id=X, attachment?id=X&name=pdf), ACL Anthology (2020.acl-main.1/ and .pdf),
# PMLR (v139/x21a.html and v139/x21a/x21a.pdf), NeurIPS (hash/H-Abstract*.html and file/H-Paper*.pdf,
# the PDF's URL built in `venue_source`).
_VENUES: list[tuple[str, re.Pattern[str], re.Pattern[str], str]] = [
    ("openreview", re.compile(r"(^|\.)openreview\.net$"),
     re.compile(r"^/(?:forum|pdf|attachment|revisions)/?\?(?:.*&)?id=([A-Za-z0-9_\-]+)"),
     "https://openreview.net/pdf?id={key}"),
    ("acl", re.compile(r"^(www\.)?aclanthology\.org$|^aclweb\.org$|^www\.aclweb\.org$"),
     re.compile(r"^(?:/anthology)?/([A-Za-z0-9]+(?:[.\-][A-Za-z0-9]+)+?)(?:\.pdf)?/?(?:\?|$)"),
     "https://aclanthology.org/{key}.pdf"),
    ("pmlr", re.compile(r"^proceedings\.mlr\.press$"),
     re.compile(r"^/(v\d+)/([a-z0-9\-_]+?)(?:\.html|/\2\.pdf)/?(?:\?|$)", re.I),
     "https://proceedings.mlr.press/{key}/{name}/{name}.pdf"),
    ("neurips", re.compile(r"^(papers\.nips\.cc|proceedings\.neurips\.cc)$"),
     re.compile(r"^/paper(?:_files/paper)?/(\d{4})/(?:hash|file)/([0-9a-f]{32})-(?:Abstract|Paper)",
                re.I), ""),
]


def venue_source(link: str) -> tuple[str, str | None] | None:
    """(identity, PDF link) of a paper on a proceedings site whose abstract page and PDF share a key
    (`_VENUES`): "openreview:X", "acl:2020.acl-main.1", "pmlr:v139/x21a", "neurips:2022/<hash>";
    the PDF link is None when it cannot be told from the link. None for any other link."""
    url = urlparse(link.strip())
    host = (url.hostname or "").lower()
    where = url.path + ("?" + url.query if url.query else "")
    for name, hosts, key, pdf in _VENUES:
        if not hosts.search(host) or not (m := key.search(where)):
            continue
        if name == "pmlr":
            key_of = f"pmlr:{m.group(1).lower()}/{m.group(2).lower()}"
            return key_of, pdf.format(key=m.group(1), name=m.group(2))
        if name == "neurips":  # the PDF is the abstract page's name with Paper for Abstract
            page = re.sub(r"/hash/([0-9a-f]{32})-Abstract(.*)\.html$", r"/file/\1-Paper\2.pdf", url.path,
                          flags=re.I)
            return (f"neurips:{m.group(1)}/{m.group(2).lower()}",
                    f"https://{host}{page}" if page.endswith(".pdf") else None)
        ident = m.group(1) if name == "openreview" else m.group(1).lower()  # OpenReview's: case counts
        return f"{name}:{ident}", pdf.format(key=m.group(1))
    return None


def normalized_url(link: str) -> str:
    """`link` with scheme and host lower-cased, default port, fragment, tracking parameters
    (utm_*, fbclid, ...) and a trailing slash dropped, and the query sorted.

    Raises ValueError for what is not an http(s) link with a host.
    """
    url = urlparse(link.strip())
    if url.scheme.lower() not in {"http", "https"} or not url.hostname:
        raise ValueError(f"not an http(s) link: {link!r}")
    host = url.hostname.lower()
    port = url.port  # raises ValueError for a port out of range
    default = {"http": 80, "https": 443}[url.scheme.lower()]
    netloc = host if port in (None, default) else f"{host}:{port}"
    query = urlencode(sorted((k, v) for k, v in parse_qsl(url.query, keep_blank_values=True)
                             if not TRACKING.match(k)))
    path = url.path.rstrip("/") or ""
    return urlunparse(("https", netloc, path, "", query, ""))  # http and https: the same document


def canonical_source(link: str) -> str | None:
    """The identity of what a link names: "arxiv:2201.12023", "hal:hal-01828312",
    "doi:10.1145/3373376.3378508", a proceedings site's key ("openreview:X", `venue_source`: its
    abstract page and its PDF are one paper) or "url:https://host/path"; None for an empty or
    unusable link.

    Versions are dropped (arXiv v3, HAL v2): a new revision of a paper is the same paper. http and
    https name the same document.
    """
    link = with_scheme(link or "")
    if not link:
        return None
    if aid := arxiv_id(link, keep_version=False):
        return f"arxiv:{aid.lower()}"
    if hid := hal_id(link):
        return f"hal:{hid}"
    if doi := doi_of(link):
        return f"doi:{doi}"
    if venue := venue_source(link):
        return venue[0]
    try:
        return f"url:{normalized_url(link)}"
    except ValueError:
        return None


def same_source(a: str, b: str) -> bool:
    """Do two links name the same paper (by `canonical_source`)?"""
    ca, cb = canonical_source(a), canonical_source(b)
    return ca is not None and ca == cb


def short_hash(text: str, n: int = 8) -> str:
    """The first `n` hex digits of the SHA-256 of `text` (UTF-8)."""
    return sha256_text(text)[:n]


def paper_id(taken: Iterable[str], name: str = "", title: str = "", fallback_key: str = "") -> str:
    """A new id not in `taken`: the slug of `name` (a file stem, a link's last part) when it says
    something, else the slug of `title`, else "paper-" + 8 hex digits of sha256(`fallback_key`)
    (a file's content hash or a link); "-2", "-3"... keep it unique."""
    wanted = useful_slug(name) or useful_slug(title) or f"paper-{short_hash(fallback_key or name or title)}"
    taken = set(taken)
    candidate, n = wanted, 2
    while candidate in taken:
        candidate, n = f"{wanted}-{n}", n + 1
    return candidate


def content_index(files: dict[str, Path]) -> dict[str, str]:
    """sha256 of each file -> the first id (in the given order) whose file has that content.

    `files` maps a paper id to its cached file; a missing file is skipped.
    """
    index: dict[str, str] = {}
    for pid, path in files.items():
        if path.is_file():
            index.setdefault(sha256_file(path), pid)
    return index


def paper_with_content(files: dict[str, Path], sha256: str) -> str | None:
    """The id of the first paper whose cached file has this sha256, or None."""
    for pid, path in files.items():
        if path.is_file() and sha256_file(path) == sha256:
            return pid
    return None
