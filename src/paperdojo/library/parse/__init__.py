"""Documents -> cleaned text with pages and sections (PDF via PDFium or pypdf, HTML, Markdown).

PDF text is messy: ligatures, words hyphenated across lines, running headers and footers, the
arXiv side stamp, figure labels. We clean what can be cleaned without a layout model, and find
section headings from their numbering ("3.2 Intra-op pass", "II. BACKGROUND") or their names
("Abstract", "Related Work"), refusing numbers that do not follow the ones before them (table
rows and list items look like headings too).

The rooms, in the order the data goes through them:
- `check`: is the file a complete PDF (`ParseError`, `check_pdf_file`);
- `pdftext`: PDF -> raw page texts (PDFium, pypdf as a fallback) -> cleaned lines per page;
- `clean`: line cleaning, running headers and footers, hyphenated words;
- `headings`: which lines are section headings; `titles`: the paper's title;
- `assemble`: (page, kind, text) items -> one text with page offsets and sections;
- `pdf`: the PDF pipeline; `markup`: HTML and Markdown.
"""

from __future__ import annotations

from pathlib import Path

from paperdojo.library.parse.assemble import assemble
from paperdojo.library.parse.check import ParseError, check_pdf_file, looks_like_html
from paperdojo.library.parse.clean import clean_line, is_arxiv_stamp, strip_running_lines
from paperdojo.library.parse.headings import HeadingDetector, title_ok
from paperdojo.library.parse.markup import parse_html, parse_markdown
from paperdojo.library.parse.pdf import parse_pdf
from paperdojo.library.parse.pdftext import PdfText, pdf_page_lines, pdf_page_texts
from paperdojo.library.parse.titles import pdf_title
from paperdojo.records import ParsedDoc


def pdf_file_title(path: Path, ocr: bool = True) -> str:
    """A PDF's title from its metadata or first page (read by OCR when it has no text and `ocr`);
    "" when nothing is found. Reads only the first page."""
    try:
        lines, _, extracted = pdf_page_lines(path, ocr, max_pages=1)
    except ParseError:
        return ""
    return pdf_title(extracted, lines[0])

PARSER_VERSION = "12"  # part of the index fingerprint: bump when cleaning or headings change

__all__ = [
    "PARSER_VERSION", "HeadingDetector", "ParseError", "PdfText", "assemble", "check_pdf_file",
    "clean_line", "is_arxiv_stamp", "looks_like_html", "parse_file", "parse_html", "parse_markdown",
    "parse_pdf", "pdf_file_title", "pdf_page_lines", "pdf_page_texts", "pdf_title", "strip_running_lines",
    "title_ok",
]


def parse_file(path: Path, doc_id: str, title: str = "", ocr: bool = True) -> ParsedDoc:
    """Dispatch on the file's kind (by its suffix; PDFs are checked by content too); `ocr`: read a
    PDF's pages without a text layer by OCR. Raises ParseError saying why a file has no text."""
    suffix = path.suffix.lower()
    if suffix in {".html", ".htm"}:
        return parse_html(path, doc_id, title)
    if suffix in {".md", ".markdown", ".txt"}:
        return parse_markdown(path, doc_id, title)
    return parse_pdf(path, doc_id, title, ocr)
