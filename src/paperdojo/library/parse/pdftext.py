"""PDF -> raw page texts and title clues, by PDFium (pypdf when PDFium cannot open the file), then
cleaned lines per page."""

from __future__ import annotations

import itertools
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import pypdf
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from pypdf.errors import PdfReadError

from paperdojo.library.parse import ocr as ocr_reader
from paperdojo.library.parse.check import ParseError
from paperdojo.library.parse.clean import clean_line, is_arxiv_stamp, strip_running_lines
from paperdojo.library.parse.layout import reading_text
from paperdojo.library.parse.orient import Frame, upright_textpage

logging.getLogger("pypdf").setLevel(logging.ERROR)
log = logging.getLogger(__name__)

_PDFIUM_SOFT_HYPHEN = "\ufffe"  # PDFium's mark for a word hyphenated across lines (line break removed)


@dataclass
class PdfText:
    """What a PDF library gives: raw page texts (or a page's error), the metadata title, the
    lines of the first page set in the largest type (the title; empty when unknown), and the
    pages (from 1) whose text was read by OCR."""

    pages: list[str | Exception]
    meta_title: str = ""
    largest: list[str] = field(default_factory=list)
    ocr_pages: list[int] = field(default_factory=list)
    ocr_errors: list[str] = field(default_factory=list)


def _largest_lines(textpage: pdfium.PdfTextPage, text: str, frame: Frame, head: int = 800) -> list[str]:
    """The first block of lines among the first `head` characters set in the largest type, the arXiv
    stamp aside.

    Heights come from the font's ascent and descent (PDFium's loose char boxes, measured upright in
    `frame`), which also works for USENIX cover pages whose font size PDFium reports as 1.
    """
    rect = pdfium_c.FS_RECTF()
    lines = []
    for m in re.finditer(r"[^\r\n]+", text[: min(len(text), 2 * head)]):
        start, end = m.span()
        if start >= head or is_arxiv_stamp(m.group()):
            continue
        heights = []
        for i in range(start, end):
            if text[i].isalnum() and pdfium_c.FPDFText_GetLooseCharBox(textpage.raw, i, rect):
                upright = frame.rect((rect.left, rect.bottom, rect.right, rect.top))
                heights.append(round(upright[3] - upright[1], 1))
        if heights:
            lines.append((max(set(heights), key=heights.count), clean_line(m.group())))
    top = max((h for h, _ in lines), default=0.0)
    big = [h >= 0.9 * top for h, _ in lines]
    first = big.index(True) if True in big else 0
    run = itertools.takewhile(bool, big[first:])  # the first block only: headings are set large too
    return [line for (_, line), _ in zip(lines[first:], run, strict=False)]


def _pdfium_texts(path: Path, ocr: bool = True, max_pages: int | None = None) -> PdfText:
    """Page texts, metadata title and the first page's largest lines, by PDFium; with `ocr`, a page
    with less than 20 characters of text that draws something is read by OCR (see `ocr.py`).

    PDFium reads the shared corpus's 488 pages in about 1 s, pypdf in about 11 s.
    """
    doc = pdfium.PdfDocument(path)
    try:
        out = PdfText([], doc.get_metadata_dict(skip_empty=True).get("Title", ""))
        n = len(doc) if max_pages is None else min(len(doc), max_pages)
        for i in range(n):
            try:
                page = doc[i]
                textpage, frame = upright_textpage(page)
                raw = textpage.get_text_range()
                if i == 0:
                    out.largest = _largest_lines(textpage, raw, frame)
                raw = reading_text(textpage, raw, frame)
                textpage.close()
                if ocr and len("".join(raw.split())) < 20 and ocr_reader.has_marks(page):
                    raw = _ocr(page, i + 1, n, path, out) or raw
                page.close()
            except Exception as exc:  # noqa: BLE001 - a damaged page must not sink the paper
                out.pages.append(exc)
                continue
            out.pages.append(raw.replace(_PDFIUM_SOFT_HYPHEN, "-\n"))
        return out
    finally:
        doc.close()


def _ocr(page: pdfium.PdfPage, number: int, n: int, path: Path, out: PdfText) -> str:
    """OCR of one page, noted in `out`; "" (and the reason in `out.ocr_errors`) when it fails."""
    log.info("OCR of %s page %d of %d (no text layer)", path.name, number, n)
    try:
        text = ocr_reader.ocr_page(page)
    except Exception as exc:  # noqa: BLE001 - OCR failing on one page must not sink the paper
        out.ocr_errors.append(f"page {number}: OCR failed ({exc})")
        return ""
    if text.strip():
        out.ocr_pages.append(number)
    return text


def _pypdf_texts(path: Path) -> PdfText:
    """The same from pypdf (no type sizes), which recovers some damaged files that PDFium refuses."""
    try:
        reader = pypdf.PdfReader(path, strict=False)
    except (PdfReadError, ValueError, OSError, KeyError, TypeError) as exc:
        raise ParseError(f"a broken PDF that neither PDFium nor pypdf can read ({exc})") from exc
    if reader.is_encrypted:
        try:
            ok = reader.decrypt("")
        except Exception as exc:  # noqa: BLE001 - pypdf raises several kinds here
            raise ParseError(f"an encrypted PDF that cannot be opened ({exc})") from exc
        if not ok:
            raise ParseError("an encrypted PDF that needs a password; save an unlocked copy")
    try:
        info = reader.metadata
        meta = str(info.get("/Title") or "") if info else ""
    except Exception:  # noqa: BLE001
        meta = ""
    try:
        n = len(reader.pages)
    except Exception as exc:  # noqa: BLE001
        raise ParseError(f"a broken PDF: its page tree cannot be read ({exc})") from exc
    texts: list[str | Exception] = []
    for i in range(n):
        try:
            texts.append(reader.pages[i].extract_text() or "")
        except Exception as exc:  # noqa: BLE001 - a damaged page must not sink the paper
            texts.append(exc)
    return PdfText(texts, meta)


def pdf_page_texts(path: Path, ocr: bool = True, max_pages: int | None = None) -> PdfText:
    """Raw page texts and title clues: PDFium (with OCR of pages without text when `ocr`), or pypdf
    (no OCR) when PDFium cannot open the file."""
    try:
        return _pdfium_texts(path, ocr, max_pages)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise ParseError("an encrypted PDF that needs a password; save an unlocked copy") from exc
        log.info("PDFium cannot open %s (%s); trying pypdf", path.name, exc)
        return _pypdf_texts(path)


def pdf_page_lines(path: Path, ocr: bool = True, max_pages: int | None = None
                   ) -> tuple[list[list[str]], list[str], PdfText]:
    """Cleaned lines of every page (of the first `max_pages`), warnings for pages that gave no text
    or were read by OCR, and the raw extraction. Raises ParseError when no page has text."""
    extracted = pdf_page_texts(path, ocr, max_pages)
    texts = extracted.pages
    if not texts:
        raise ParseError("the PDF has no pages")
    pages, warnings = [], []
    for i, raw in enumerate(texts):
        if isinstance(raw, Exception):
            warnings.append(f"page {i + 1}: text extraction failed ({raw})")
            raw = ""
        pages.append([c for c in (clean_line(x) for x in raw.splitlines()) if c])
    n = len(pages)
    pages = strip_running_lines(pages)  # a scanned page keeps its running header: not text
    empty = [i + 1 for i, lines in enumerate(pages) if sum(len(x) for x in lines) < 20]
    warnings.extend(extracted.ocr_errors)
    if len(empty) == n:
        why = ("OCR found no text either" if ocr else "OCR is off (settings.ocr, PAPERDOJO_OCR=0)")
        errors = f" ({extracted.ocr_errors[0]})" if extracted.ocr_errors else ""
        raise ParseError(f"no extractable text: an image-only (scanned) PDF; {why}{errors}")
    if extracted.ocr_pages:
        warnings.append(f"page(s) {_shown(extracted.ocr_pages)} read by OCR (no text layer): "
                        "check quotes against the page image")
    if empty:
        warnings.append(f"no text layer on page(s) {_shown(empty)} (images only?): not searchable")
    return pages, warnings, extracted


def _shown(numbers: list[int]) -> str:
    return ", ".join(map(str, numbers[:10])) + (" ..." if len(numbers) > 10 else "")
