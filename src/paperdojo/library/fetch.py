"""Downloads over HTTP with timeouts, bounded retries and content checks.

Nothing half-written is ever used: bodies stream into a temporary file beside the target and
are renamed into place only after they were checked (a PDF starts with %PDF, ends with %%EOF and
opens; an HTML page where a PDF was expected is refused with a reason a person can act on).
"""

from __future__ import annotations

import logging
import os
import tempfile
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


class FetchError(DocumentError):
    """A document could not be had; the message says why and what to do."""


class _Retryable(Exception):
    """A server answer worth trying again (5xx, 429)."""


@dataclass
class Fetched:
    path: Path
    kind: str  # pdf | html | markdown
    url: str
    sha256: str
    size: int


def make_client(settings: Settings) -> httpx.Client:
    timeout = httpx.Timeout(settings.http_timeout, connect=min(10.0, settings.http_timeout))
    return httpx.Client(
        timeout=timeout,
        follow_redirects=True,
        headers={"User-Agent": settings.user_agent, "Accept": "application/pdf, text/html;q=0.9, */*;q=0.5"},
    )


def _classify(head: bytes, content_type: str) -> str:
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if looks_like_html(head) or "html" in content_type:
        return "html"
    if content_type.startswith("text/"):
        return "markdown"
    raise FetchError(f"neither a PDF nor a web page (Content-Type {content_type or 'unknown'})")


def _stream_to_temp(client: httpx.Client, url: str, dest_dir: Path, limit: int) -> tuple[Path, str]:
    """One attempt: the body in a temporary file, and the response's Content-Type."""
    with client.stream("GET", url) as resp:
        if resp.status_code == 429 or resp.status_code >= 500:
            raise _Retryable(f"HTTP {resp.status_code} from {url}")
        if resp.status_code == 404 or resp.status_code == 410:
            raise FetchError(f"dead link: HTTP {resp.status_code} at {url}")
        if resp.status_code in (401, 403):
            raise FetchError(f"access denied (HTTP {resp.status_code}) at {url}: paywalled or blocked")
        if resp.status_code >= 400:
            raise FetchError(f"HTTP {resp.status_code} at {url}")
        fd, tmp = tempfile.mkstemp(dir=dest_dir, prefix=".download-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                received = 0
                for block in resp.iter_bytes(1 << 16):
                    received += len(block)
                    if received > limit:
                        raise FetchError(f"larger than the {limit >> 20} MiB download limit")
                    fh.write(block)
                fh.flush()
                os.fsync(fh.fileno())
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return Path(tmp), resp.headers.get("content-type", "").split(";")[0].strip().lower()


def _describe(exc: BaseException, settings: Settings) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out after {settings.http_timeout:g} s"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"the connection closed before the whole body arrived ({exc})"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect ({exc})"
    return str(exc) or type(exc).__name__


def download(plan: Plan, doc_id: str, settings: Settings, client: httpx.Client) -> Fetched:
    """Fetch `plan.url` into the cache as `<doc_id>.pdf` (pdfs/) or `.html`/`.md` (pages/).

    Raises FetchError with the reason a person can act on.
    """
    if plan.url is None:
        raise FetchError(plan.note or "no download link")
    dest_dir = settings.ingest_dir
    dest_dir.mkdir(parents=True, exist_ok=True)
    drop_hint = f"drop it at {settings.pdf_dir / (doc_id + '.pdf')}"
    retrying = Retrying(
        stop=stop_after_attempt(max(1, settings.http_retries)),
        wait=wait_exponential_jitter(multiplier=0.5, max=8.0),
        retry=retry_if_exception(lambda e: isinstance(e, httpx.TransportError | _Retryable)),
        reraise=False,
    )
    limit = settings.max_download_mb << 20
    try:
        tmp, content_type = retrying(_stream_to_temp, client, plan.url, dest_dir, limit)
    except RetryError as exc:
        last = exc.last_attempt.exception()
        attempts = exc.last_attempt.attempt_number
        raise FetchError(f"{_describe(last, settings)} at {plan.url} ({attempts} attempts)") from last
    try:
        with open(tmp, "rb") as fh:
            head = fh.read(2048)
        kind = _classify(head, content_type) if plan.kind == "auto" else plan.kind
        if kind == "pdf":
            try:
                check_pdf_file(tmp, drop_hint)
            except ParseError as exc:
                raise FetchError(f"{exc} (from {plan.url})") from exc
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
