"""Downloads over HTTP with timeouts, bounded retries and content checks.

Nothing half-written is ever used: bodies stream into a temporary file beside the target and
are renamed into place only after they were checked (a PDF starts with %PDF, ends with %%EOF and
opens; an HTML page where a PDF was expected is refused with a reason a person can act on; a
publisher's landing page with an abstract and a paywall is named as such).

`download` raises only `FetchError`: every failure of one download (any httpx error, redirect
loops, an invalid link, a body that cannot be decoded, a reset connection, a disk that refuses the
write, anything unforeseen) becomes one sentence saying what happened and what to do, so the
caller fails that paper alone.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from paperdojo.library.parse import ParseError, check_pdf_file, looks_like_html
from paperdojo.library.sources import Plan
from paperdojo.records import DocumentError
from paperdojo.settings import Settings
from paperdojo.util import sha256_file

log = logging.getLogger(__name__)
RETRY_COMMAND = "`paperdojo ingest --retry`"  # in failure reasons (the app names its Retry button instead)


class FetchError(DocumentError):
    """A document could not be had; the message says why and what to do."""


class _Retryable(Exception):
    """A server answer worth trying again (5xx, 429)."""


@dataclass
class Fetched:
    """A downloaded document: where it is stored, its kind (pdf, html, markdown), the URL it
    came from, its SHA-256 and size in bytes."""
    path: Path
    kind: str  # pdf | html | markdown
    url: str
    sha256: str
    size: int


def make_client(settings: Settings) -> httpx.Client:
    """An httpx client with the settings' timeouts (connect at most 10 s), redirects followed
    and our User-Agent; the caller closes it."""
    timeout = httpx.Timeout(settings.http_timeout, connect=min(10.0, settings.http_timeout))
    return httpx.Client(
        timeout=timeout,
        follow_redirects=True,
        headers={"User-Agent": settings.user_agent, "Accept": "application/pdf, text/html;q=0.9, */*;q=0.5"},
    )


def _classify(head: bytes, content_type: str) -> str:
    """What an "auto" link sent: a web page, text (Markdown), else a PDF, which `check_pdf_file`
    then refuses by name when it is none (empty, an archive, an image: "neither a PDF nor a web
    page" said neither what came nor what to do)."""
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if looks_like_html(head) or "html" in content_type:
        return "html"
    if content_type.startswith("text/") and head.strip():
        return "markdown"
    return "pdf"


def _stream_to_temp(client: httpx.Client, url: str, dest_dir: Path, limit: int, deadline: float,
                    drop_hint: str) -> tuple[Path, str]:
    """One attempt: the body in a temporary file, and the response's Content-Type.

    `limit` in bytes, `deadline` in seconds for the whole attempt. Raises FetchError for answers
    that will not get better by trying again, _Retryable for those that may."""
    yourself = f"download it in a browser and {drop_hint}"
    raise_it = (f"raise max_download_mb (PAPERDOJO_MAX_DOWNLOAD_MB, now {limit >> 20}) or {yourself}")
    started = time.monotonic()
    with client.stream("GET", url) as resp:
        if resp.status_code == 429 or resp.status_code >= 500:
            raise _Retryable(f"HTTP {resp.status_code} from {url}")
        if resp.status_code == 404 or resp.status_code == 410:
            raise FetchError(f"dead link: HTTP {resp.status_code} at {url}: check the address (the paper "
                             f"may have moved), or {yourself}")
        if resp.status_code in (401, 403):
            raise FetchError(f"access denied (HTTP {resp.status_code}) at {url}: paywalled or blocked; "
                             f"if you can open it in a browser, {yourself}")
        if resp.status_code >= 400:
            raise FetchError(f"HTTP {resp.status_code} ({resp.reason_phrase or 'an error'}) at {url}: open "
                             f"it in a browser; if the paper opens there, {yourself}")
        if 300 <= resp.status_code < 400:  # redirects are followed: this one says nowhere to go
            raise FetchError(f"the server answers HTTP {resp.status_code} at {url} without saying where "
                             f"the document is (no Location): {yourself}")
        announced = resp.headers.get("content-length", "")
        if announced.isdigit() and int(announced) > limit:
            raise FetchError(f"the server announces {int(announced) >> 20} MiB at {url}, more than the "
                             f"{limit >> 20} MiB download limit: {raise_it}")
        fd, tmp = tempfile.mkstemp(dir=dest_dir, prefix=".download-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                received = 0
                for block in resp.iter_bytes():  # as it arrives: a trickle meets the deadline
                    received += len(block)
                    if received > limit:
                        raise FetchError(f"larger than the {limit >> 20} MiB download limit at {url}: "
                                         f"{raise_it}")
                    if time.monotonic() - started > deadline:
                        raise FetchError(
                            f"the server sends too slowly at {url}: {received >> 10} KiB in {deadline:g} s "
                            f"(http_deadline, PAPERDOJO_HTTP_DEADLINE); try again later ({RETRY_COMMAND}), "
                            f"or {yourself}")
                    fh.write(block)
                fh.flush()
                os.fsync(fh.fileno())
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return Path(tmp), resp.headers.get("content-type", "").split(";")[0].strip().lower()


LANDING = "a landing page, not the paper: download the PDF and add it"
_SCHOLARLY_META = re.compile(rb"<meta[^>]+(?:name|property)\s*=\s*[\"']?(?:citation_(?:title|doi|abstract"
                             rb"|pdf_url|journal_title|conference_title)|dc\.identifier|prism\.doi)", re.I)
_ABSTRACT = re.compile(rb"\babstract\b", re.I)
_PAYWALL = re.compile(
    rb"access through your institution|purchase (?:this |the )?(?:article|pdf|access|chapter)"
    rb"|buy (?:this )?(?:article|chapter|pdf)|rent this article|institutional (?:login|access|sign[ -]in)"
    rb"|get (?:full[ -]text )?access|pay[ -]per[ -]view|subscribe to (?:the |this )?journal"
    rb"|log ?in to (?:view|access|read)|sign ?in to (?:view|access|read)", re.I)
_PDF_URL = re.compile(rb"<meta[^>]+name\s*=\s*[\"']?citation_pdf_url[\"']?[^>]*content\s*=\s*[\"']([^\"']+)",
                      re.I)


def landing_page(body: bytes) -> str | None:
    """Why `body` (an HTML page) is a paper's landing page rather than the paper, or None.

    A landing page carries scholarly metadata (Highwire `citation_*`, Dublin Core or PRISM
    identifiers, as publishers and DOI targets do) or an abstract beside a paywall's words
    ("access through your institution", "purchase this article", ...).
    """
    pdf_url = _PDF_URL.search(body)
    hint = f" (the page names its PDF at {pdf_url.group(1).decode('utf-8', 'replace')})" if pdf_url else ""
    if _SCHOLARLY_META.search(body) or (_ABSTRACT.search(body) and _PAYWALL.search(body)):
        return LANDING + hint
    return None


def _describe(exc: BaseException, settings: Settings, url: str, drop_hint: str) -> str:
    """One sentence for a failed download: what happened at `url` and what the user can do."""
    later = f"try again later ({RETRY_COMMAND})"
    yourself = f"or download it in a browser and {drop_hint}"
    if isinstance(exc, _Retryable):
        return f"the server kept failing ({exc}): {later}, {yourself}"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out after {settings.http_timeout:g} s at {url}: {later}, {yourself}"
    if isinstance(exc, httpx.TooManyRedirects):
        return (f"the server redirects in a loop at {url} ({exc}): open the link in a browser and add "
                f"the address where the PDF finally opens, {yourself}")
    if isinstance(exc, httpx.DecodingError):
        return (f"the server's answer at {url} cannot be decoded ({exc}): its body is not in the "
                f"encoding it claims (e.g. gzip); {later}, {yourself}")
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol | UnicodeError) \
            or "invalid url" in str(exc).lower():
        target = _request_url(exc)
        redirected = target and target.rstrip("/") != url.rstrip("/")
        if url.lower().startswith(("http://", "https://")) and redirected:
            return (f"not a usable link: {url} redirects to {target}, which cannot be fetched ({exc}); "
                    f"open the link in a browser, {yourself}")
        return f"not a usable link ({exc}) at {url}: check the address, {yourself}"
    if isinstance(exc, httpx.RemoteProtocolError):
        text = str(exc)
        if "without sending a response" in text:
            return f"the server at {url} closed the connection without answering ({exc}): {later}, {yourself}"
        if "complete message body" in text or not text:
            return (f"the connection closed before the whole body arrived ({exc}) at {url}: {later}, "
                    f"{yourself}")
        return (f"the server's answer at {url} is not valid HTTP ({exc}): a broken server or a proxy in "
                f"between; {later}, {yourself}")
    if isinstance(exc, httpx.ConnectError) and ("SSL" in str(exc) or "TLS" in str(exc)):
        return (f"the secure (https) connection to {url} failed ({exc}): the server may not speak "
                f"https at this address (try http://), or its certificate is not trusted here; {yourself}")
    if isinstance(exc, httpx.ConnectError):
        target = _request_url(exc)
        # a redirect led there (not the same address written otherwise: an IDN host as punycode, %-escapes)
        if target and str(httpx.URL(target)).rstrip("/") != str(_as_url(url)).rstrip("/"):
            return (f"cannot connect ({exc}) to {target}, where {url} redirects: open the link in a "
                    f"browser and add the address where the PDF opens, {yourself}")
        return f"cannot connect ({exc}) to {url}: check the address and your network, then {later}"
    if isinstance(exc, httpx.ReadError | httpx.WriteError | httpx.NetworkError):
        return f"the connection broke ({exc or 'reset by the server'}) at {url}: {later}, {yourself}"
    if isinstance(exc, httpx.HTTPError):
        return f"{type(exc).__name__}: {exc} at {url}: {later}, {yourself}"
    if isinstance(exc, OSError):
        where = exc.filename or settings.ingest_dir
        what = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is used up",
                errno.EFBIG: "the file is larger than this file system or process allows",
                errno.EROFS: "the file system is read-only",
                errno.EACCES: "permission denied", errno.EPERM: "permission denied"}.get(
                    exc.errno or 0, exc.strerror or str(exc))
        return (f"cannot save the download from {url} in {where}: {what}; free some space or make "
                f"{settings.ingest_dir} writable, then run {RETRY_COMMAND}")
    return f"unexpected {type(exc).__name__} while downloading {url}: {exc}; {later}, {yourself}"


def _as_url(url: str) -> httpx.URL | str:
    """`url` as httpx writes it (punycode host, escaped path), or as it is when httpx cannot read it."""
    try:
        return httpx.URL(url)
    except httpx.InvalidURL:
        return url


def _request_url(exc: BaseException) -> str:
    """The URL an httpx error was about (after redirects), or "" when it has none."""
    try:
        request = getattr(exc, "request", None)
    except RuntimeError:  # httpx raises when the error carries no request
        return ""
    return str(request.url) if request is not None else ""


def download(plan: Plan, doc_id: str, settings: Settings, client: httpx.Client) -> Fetched:
    """Fetch `plan.url` into the cache as `<doc_id>.pdf` (pdfs/) or `.html`/`.md` (pages/).

    Raises FetchError, and only FetchError, with the reason a person can act on; nothing is left
    half-written and no other paper's file is touched.
    """
    if plan.url is None:
        raise FetchError(plan.note or "no download link")
    drop_hint = f"drop it at {settings.pdf_dir / (doc_id + '.pdf')}"
    try:
        return _download(plan, doc_id, settings, client, drop_hint)
    except FetchError:
        raise
    except RetryError as exc:
        last = exc.last_attempt.exception() or exc
        attempts = exc.last_attempt.attempt_number
        raise FetchError(f"{_describe(last, settings, plan.url, drop_hint)} ({attempts} attempts)") from last
    except Exception as exc:  # noqa: BLE001 - any failure of one download is that paper's failure
        if not isinstance(exc, httpx.HTTPError | httpx.InvalidURL | OSError | UnicodeError):
            log.warning("unexpected error downloading %s", plan.url, exc_info=exc)
        raise FetchError(_describe(exc, settings, plan.url, drop_hint)) from exc


def _download(plan: Plan, doc_id: str, settings: Settings, client: httpx.Client, drop_hint: str) -> Fetched:
    assert plan.url is not None
    yourself = f"download it in a browser and {drop_hint}"
    dest_dir = settings.ingest_dir
    dest_dir.mkdir(parents=True, exist_ok=True)
    retrying = Retrying(
        stop=stop_after_attempt(max(1, settings.http_retries)),
        wait=wait_exponential_jitter(multiplier=0.5, max=8.0),
        retry=retry_if_exception(lambda e: isinstance(e, httpx.TransportError | _Retryable)),
        reraise=False,
    )
    limit = settings.max_download_mb << 20
    tmp, content_type = retrying(_stream_to_temp, client, plan.url, dest_dir, limit, settings.http_deadline,
                                 drop_hint)
    try:
        with open(tmp, "rb") as fh:
            head = fh.read(2048)
        kind = _classify(head, content_type) if plan.kind == "auto" else plan.kind
        if kind in ("pdf", "html") and b"%PDF-" not in head[:1024] and looks_like_html(head):
            with open(tmp, "rb") as fh:
                landing = landing_page(fh.read(512 << 10))
            if landing and (kind == "pdf" or plan.kind == "auto"):
                raise FetchError(f"{landing}; {drop_hint} (from {plan.url})")
        if kind == "pdf":
            try:
                check_pdf_file(tmp, drop_hint)
            except ParseError as exc:
                what = str(exc) if re.search(r"\badd\b|drop it at", str(exc)) else \
                    f"{exc}; open the link in a browser and add the PDF's own address, or {yourself}"
                raise FetchError(f"{what} (from {plan.url})") from exc
        elif kind == "html" and not looks_like_html(head) and b"<" not in head:
            raise FetchError(f"expected a web page at {plan.url}, got {content_type or 'no type'}")
        suffix = {"pdf": ".pdf", "html": ".html", "markdown": ".md"}[kind]
        folder = settings.pdf_dir if kind == "pdf" else settings.pages_dir
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / f"{doc_id}{suffix}"
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    log.info("downloaded %s (%s, %d bytes) from %s", doc_id, kind, final.stat().st_size, plan.url)
    return Fetched(final, kind, plan.url, sha256_file(final), final.stat().st_size)
