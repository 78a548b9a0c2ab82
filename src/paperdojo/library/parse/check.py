"""Is a file a complete PDF? Refusals that say what the file is instead."""

from __future__ import annotations

from pathlib import Path

from paperdojo.records import DocumentError

_ARCHIVES = [(b"\x1f\x8b", "gzip"), (b"PK\x03\x04", "zip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"),
             (b"7z\xbc\xaf\x27\x1c", "7z"), (b"Rar!", "rar")]  # their files' magic numbers


class ParseError(DocumentError):
    """A file that cannot be turned into text; the message says why."""


def looks_like_html(head: bytes) -> bool:
    """Do the first bytes of a file look like an HTML page (a paywall or login page)?"""
    sample = head[:2048].lstrip().lower()
    return sample.startswith((b"<!doctype html", b"<html")) or b"<html" in sample[:512]


# the first bytes of files people upload by mistake, and what to call them
_KINDS = ((b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
          (b"{\\rtf", "an RTF document"), (b"\xd0\xcf\x11\xe0", "an old Office document (.doc/.ppt/.xls)"),
          (b"%!PS", "a PostScript file"))


def _what_it_is(head: bytes) -> str:
    """What a file that is no PDF holds, in words a person can act on: a known kind by its first bytes,
    plain text with its first words quoted, else its first bytes in hex."""
    kind = next((name for magic, name in _KINDS if head.startswith(magic)), None)
    if kind:
        return f"the file is {kind}"
    try:
        text = head[:200].decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    if text.strip() and all(c.isprintable() or c.isspace() for c in text):
        words = " ".join(text.split()[:8])
        return f"the file is plain text (it starts \u201c{words[:60]}\u201d)"
    return f"the file starts with the bytes {head[:8].hex(' ')}"


def check_pdf_file(path: Path, drop_hint: str = "") -> None:
    """Refuse what is not a complete PDF, saying what it is instead."""
    size = path.stat().st_size
    if size == 0:
        raise ParseError("the file is empty (0 bytes)")
    with open(path, "rb") as fh:
        head = fh.read(2048)
        fh.seek(max(0, size - 2048))
        tail = fh.read()
    if b"%PDF-" not in head[:1024]:
        if looks_like_html(head):
            hint = f"; download the PDF in a browser and {drop_hint}" if drop_hint else ""
            raise ParseError(
                "an HTML page where a PDF was expected (a paywall, login or captcha page?)" + hint
            )
        archive = next((name for magic, name in _ARCHIVES if head.startswith(magic)), None)
        if archive:
            raise ParseError(f"a {archive} archive, not a PDF: unpack it and add the PDF inside")
        raise ParseError(f"not a PDF: {_what_it_is(head)}, where a PDF begins with \"%PDF-\"")
    if b"%%EOF" not in tail:
        hint = f"; download it again or in a browser and {drop_hint}" if drop_hint else ""
        raise ParseError("the PDF is cut short (no %%EOF marker at its end)" + hint)
