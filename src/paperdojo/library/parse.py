"""Documents -> cleaned text with pages and sections (PDF via PDFium or pypdf, HTML, Markdown).

PDF text is messy: ligatures, words hyphenated across lines, running headers and footers, the
arXiv side stamp, figure labels. We clean what can be cleaned without a layout model, and find
section headings from their numbering ("3.2 Intra-op pass", "II. BACKGROUND") or their names
("Abstract", "Related Work"), refusing numbers that do not follow the ones before them (table
rows and list items look like headings too).
"""

from __future__ import annotations

import html
import itertools
import logging
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pypdf
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from pypdf.errors import PdfReadError

from paperdojo.records import DocumentError, Page, ParsedDoc, Section

PARSER_VERSION = "6"  # part of the index fingerprint: bump when cleaning or headings change
logging.getLogger("pypdf").setLevel(logging.ERROR)
log = logging.getLogger(__name__)


class ParseError(DocumentError):
    """A file that cannot be turned into text; the message says why."""


# --------------------------------------------------------------------------- low-level checks
def looks_like_html(head: bytes) -> bool:
    sample = head[:2048].lstrip().lower()
    return sample.startswith((b"<!doctype html", b"<html")) or b"<html" in sample[:512]


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
        raise ParseError(f"not a PDF: the file starts with {head[:12]!r}")
    if b"%%EOF" not in tail:
        raise ParseError("the PDF is cut short (no %%EOF marker at its end)")


# --------------------------------------------------------------------------- line cleaning
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u00ad\ufffd]")
_STAMP = re.compile(r"^arXiv:\s?\d{4}\.\d{4,5}(v\d+)?\s*\[[\w.\- ]+\]\s*\d{1,2}\s*\w{3}\s*\d{4}$")
_PAGE_NO = re.compile(r"^(page\s+)?[\divxlc]{1,5}(\s+of\s+\d+)?$", re.I)


def clean_line(line: str) -> str:
    line = unicodedata.normalize("NFKC", line)  # ligatures (fi, fl, ffi), math letters
    line = _CONTROL.sub("", line)
    return re.sub(r"[ \t\u00a0]+", " ", line).strip()


def is_arxiv_stamp(line: str) -> bool:
    compact = line.strip()
    return bool(_STAMP.match(compact) or _STAMP.match(compact[::-1]))


def _margin_key(line: str) -> str:
    return re.sub(r"\d+", "#", line.lower()).strip()


def strip_running_lines(pages: list[list[str]], margin: int = 2) -> list[list[str]]:
    """Drop headers/footers: margin lines that repeat across pages, page numbers, the arXiv stamp."""
    n = len(pages)
    counts: Counter[str] = Counter()
    for lines in pages:
        edge = set(lines[:margin] + lines[-margin:])
        counts.update({_margin_key(x) for x in edge})
    threshold = max(2, round(0.3 * n))
    repeated = {k for k, c in counts.items() if c >= threshold and n >= 3}
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


# --------------------------------------------------------------------------- headings
NAMED = {
    "abstract", "introduction", "related work", "related works", "background", "motivation",
    "conclusion", "conclusions", "discussion", "evaluation", "future work", "summary",
    "conclusion and future work", "conclusions and future work", "acknowledgments",
    "acknowledgements", "acknowledgment", "acknowledgement", "references", "bibliography",
    "appendix", "appendices", "limitations", "experiments", "results",
}
REFERENCES = {"references", "bibliography"}
_NUMBERED = re.compile(r"^(?P<num>\d{1,2}(?:\.\d{1,2}){0,3})\.?\s+(?P<title>[A-Z].{1,100})$")
_ROMAN = re.compile(r"^(?P<num>[IVX]{1,6})\.\s+(?P<title>[A-Z].{1,100})$")
_LETTERED = re.compile(r"^(?P<num>[A-H](?:\.\d{1,2}){0,2})\.?\s+(?P<title>[A-Z].{1,100})$")
_APPENDIX = re.compile(r"^appendix(\s+[A-Z0-9]+)?([:.\-\s].{0,80})?$", re.I)
_ABSTRACT_INLINE = re.compile(r"^abstract\s*[\u2014\u2013:.\-]\s*(?P<rest>\S.*)$", re.I)
_CAPTION = re.compile(r"^(figure|fig\.|table|algorithm|listing|eq\.?|equation)\s*\d", re.I)
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10}
_SMALL_WORDS = {"a", "an", "the", "of", "and", "or", "for", "in", "on", "to", "with", "vs", "via", "by"}


def _roman(num: str) -> int:
    total = 0
    for a, b in zip(num, num[1:] + " ", strict=True):
        v = _ROMAN_VALUES[a]
        total += -v if b != " " and _ROMAN_VALUES.get(b, 0) > v else v
    return total


def title_ok(title: str) -> bool:
    """Could this be a section title rather than a sentence, a table row or a label?"""
    title = title.strip()
    words = title.split()
    if not 1 <= len(words) <= 12 or title[-1] in ".,;=-" or _CAPTION.match(title):
        return False  # a sentence, or a word hyphenated at the line's end ("3 There-" of a footnote)
    if re.search(r"[=@\[\]{}<>|#$%^*~]|https?:|\d{3,}|\s\d+\s|,\s*\d|\w\(", title) or title.count(",") > 1:
        return False  # affiliations ("2 AWS, 3 Shanghai"), numbers in running text, code "f(S,i)"
    letters = sum(c.isalpha() for c in title)
    if letters < 3 or letters / len(title.replace(" ", "")) < 0.75:
        return False
    capital = sum(w[0].isupper() for w in words if w[0].isalpha())
    lower = [w for w in words[1:] if w[0].islower() and w.lower() not in _SMALL_WORDS]
    return len(words) <= 6 or capital >= 0.6 * len(words) or not lower


class HeadingDetector:
    """Decides line by line whether a line is a heading, keeping the numbering consistent."""

    def __init__(self, caps: bool = False) -> None:
        self.caps = caps  # also take short ALL-CAPS lines (papers without numbered headings)
        self.numbers: tuple[int, ...] = ()
        self.roman = 0
        self.letters = ""
        self.seen_named: set[str] = set()
        self.after_references = False

    def _numbered_follows(self, num: tuple[int, ...]) -> bool:
        """Does "num" continue the numbering seen so far (allowing one missed heading)?"""
        last = self.numbers
        if not last:
            return num[0] in (1, 2) and all(n <= 2 for n in num[1:])
        top = last[0]
        if top < num[0] <= top + 2:  # the next section, perhaps through its first subsection
            return all(n <= 2 for n in num[1:])
        if num[0] != top or len(num) == 1:
            return False
        k = len(num) - 1
        parent = num[:-1]
        if last[:k] == parent:  # a sibling or a first child
            prev = last[k] if len(last) > k else 0
            return prev < num[-1] <= prev + 2
        # a new parent one level up, e.g. 3.2.4 -> 3.3.1
        shallower = len(last) >= k and last[: k - 1] == parent[: k - 1]
        return shallower and last[k - 1] < parent[-1] <= last[k - 1] + 1 and num[-1] <= 2

    def heading(self, line: str) -> tuple[str, str] | None:
        """(title, kind) when `line` is a heading, else None."""
        bare = line.strip().rstrip(":").strip()
        low = bare.lower()
        if low in NAMED and low not in self.seen_named and (bare.isupper() or bare.istitle()
                                                            or bare[0].isupper()):
            self.seen_named.add(low)
            kind = "references" if low in REFERENCES else "abstract" if low == "abstract" else "body"
            self.after_references = self.after_references or kind == "references"
            return bare, kind
        if (m := _NUMBERED.match(bare)) and title_ok(m["title"]):
            num = tuple(int(x) for x in m["num"].split("."))
            if self._numbered_follows(num) and not self.after_references:
                self.numbers = num
                kind = "references" if m["title"].lower() in REFERENCES else "body"
                self.after_references = kind == "references"
                return bare, kind
        if (m := _ROMAN.match(bare)) and title_ok(m["title"]) and not self.numbers:
            value = _roman(m["num"])
            if self.roman < value <= self.roman + 2:
                self.roman = value
                return bare, "body"
        if self.caps and bare.isupper() and 2 <= len(bare.split()) <= 8 and title_ok(bare) \
                and sum(c.isalpha() for c in bare) >= 8 and not self.after_references:
            return bare, "body"
        if self.after_references or "appendix" in self.seen_named:
            if _APPENDIX.match(bare) and len(bare.split()) <= 10:
                self.after_references = False
                self.letters = "A"
                return bare, "body"
            if (m := _LETTERED.match(bare)) and title_ok(m["title"]):
                letter = m["num"][0]
                if (not self.letters and letter == "A") or (
                    self.letters and ord(self.letters) <= ord(letter) <= ord(self.letters) + 1
                ):
                    self.letters = letter
                    self.after_references = False
                    return bare, "body"
        return None


# --------------------------------------------------------------------------- assembly
_WORD = re.compile(r"[A-Za-z][A-Za-z\-]*[A-Za-z]")


def _hyphen_vocab(pages: list[list[str]]) -> tuple[set[str], set[str]]:
    plain, hyphenated = set(), set()
    for lines in pages:
        for line in lines:
            for w in _WORD.findall(line.lower()):
                (hyphenated if "-" in w else plain).add(w)
    return plain, hyphenated


def _join(prev: str, line: str, vocab: tuple[set[str], set[str]]) -> tuple[str, bool]:
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


class _Builder:
    """Accumulates cleaned text, page offsets and sections."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.sections: list[Section] = [Section("Front matter", 0, 0, "front")]
        self.last_line = ""
        self.pending = ""  # separator owed by a page break

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.size += len(text)

    def line(self, text: str, vocab: tuple[set[str], set[str]]) -> None:
        if not self.last_line:
            self.add(text)
        else:
            sep, drop = _join(self.last_line, text, vocab)
            if sep == " " and self.pending:
                sep = self.pending
            if drop:
                self.parts[-1] = self.parts[-1][:-1]
                self.size -= 1
            self.add(sep + text)
        self.last_line = text
        self.pending = ""

    def heading(self, title: str, kind: str) -> None:
        self.add("\n\n" + title + "\n")
        self.sections[-1].end = self.size - len(title) - 3
        self.sections.append(Section(title, self.size, self.size, kind))
        self.last_line = ""

    def page_break(self) -> None:
        """A sentence may go on across pages: the next line joins with a newline (or a hyphen)."""
        self.pending = "\n"

    def finish(self) -> tuple[str, list[Section]]:
        text = "".join(self.parts)
        self.sections[-1].end = len(text)
        for s in self.sections:
            s.end = max(s.start, s.end)
        sections = [s for s in self.sections if text[s.start : s.end].strip()]
        return text, sections


def assemble(doc_id: str, title: str, items: list[tuple[int, str, str]], n_pages: int,
             warnings: list[str], vocab: tuple[set[str], set[str]] | None = None) -> ParsedDoc:
    """Build a ParsedDoc from (page, kind, text) items, kind being "line" or a section kind."""
    vocab = vocab or (set(), set())
    b = _Builder()
    starts: dict[int, int] = {}
    current = 0
    for page, kind, text in items:
        while current < page:
            current += 1
            if current > 1:
                b.page_break()
            starts[current] = b.size
        if kind == "line":
            b.line(text, vocab)
        else:
            b.heading(text, kind)
    while current < n_pages:
        current += 1
        starts[current] = b.size
    text, sections = b.finish()
    pages = []
    for number in range(1, n_pages + 1):
        end = starts.get(number + 1, len(text))
        pages.append(Page(number, starts[number], end))
    abstract = next((text[s.start : s.end].strip() for s in sections if s.kind == "abstract"), "")
    return ParsedDoc(doc_id, title, text, pages, sections, abstract[:3000], warnings)


# --------------------------------------------------------------------------- PDF
_PDFIUM_SOFT_HYPHEN = "\ufffe"  # PDFium's mark for a word hyphenated across lines (line break removed)


@dataclass
class PdfText:
    """What a PDF library gives: raw page texts (or a page's error), the metadata title and the
    lines of the first page set in the largest type (the title; empty when unknown)."""

    pages: list[str | Exception]
    meta_title: str = ""
    largest: list[str] = field(default_factory=list)


def _largest_lines(textpage: pdfium.PdfTextPage, text: str, head: int = 800) -> list[str]:
    """The first block of lines among the first `head` characters set in the largest type, the arXiv
    stamp aside.

    Heights come from the font's ascent and descent (PDFium's loose char boxes), which also works
    for USENIX cover pages whose font size PDFium reports as 1.
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
                heights.append(round(rect.top - rect.bottom, 1))
        if heights:
            lines.append((max(set(heights), key=heights.count), clean_line(m.group())))
    top = max((h for h, _ in lines), default=0.0)
    big = [h >= 0.9 * top for h, _ in lines]
    first = big.index(True) if True in big else 0
    run = itertools.takewhile(bool, big[first:])  # the first block only: headings are set large too
    return [line for (_, line), _ in zip(lines[first:], run, strict=False)]


def _pdfium_texts(path: Path) -> PdfText:
    """Page texts, metadata title and the first page's largest lines, by PDFium.

    PDFium reads the shared corpus's 488 pages in about 1 s, pypdf in about 11 s.
    """
    doc = pdfium.PdfDocument(path)
    try:
        out = PdfText([], doc.get_metadata_dict(skip_empty=True).get("Title", ""))
        for i in range(len(doc)):
            try:
                page = doc[i]
                textpage = page.get_textpage()
                raw = textpage.get_text_range()
                if i == 0:
                    out.largest = _largest_lines(textpage, raw)
                textpage.close()
                page.close()
            except Exception as exc:  # noqa: BLE001 - a damaged page must not sink the paper
                out.pages.append(exc)
                continue
            out.pages.append(raw.replace(_PDFIUM_SOFT_HYPHEN, "-\n"))
        return out
    finally:
        doc.close()


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
        meta = str((reader.metadata or {}).get("/Title") or "")
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


def pdf_page_texts(path: Path) -> PdfText:
    """Raw page texts and title clues: PDFium, or pypdf when PDFium cannot open the file."""
    try:
        return _pdfium_texts(path)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise ParseError("an encrypted PDF that needs a password; save an unlocked copy") from exc
        log.info("PDFium cannot open %s (%s); trying pypdf", path.name, exc)
        return _pypdf_texts(path)


def pdf_page_lines(path: Path) -> tuple[list[list[str]], list[str], PdfText]:
    """Cleaned lines of every page, warnings for pages that gave no text, and the raw extraction."""
    extracted = pdf_page_texts(path)
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
    if len(empty) == n:
        raise ParseError("no extractable text: an image-only (scanned) PDF; OCR is not supported")
    if empty:
        shown = ", ".join(map(str, empty[:10])) + (" ..." if len(empty) > 10 else "")
        warnings.append(f"no text layer on page(s) {shown} (images only?): not searchable")
    return pages, warnings, extracted


def pdf_title(extracted: PdfText, first_lines: list[str]) -> str:
    """The title: the PDF metadata when plausible, else the first page's largest type, else the
    first lines of the first page."""
    meta = clean_line(extracted.meta_title)
    bad = ("untitled", "microsoft word", ".dvi", ".pdf", ".doc", ".tex")
    if len(meta.split()) >= 3 and not any(b in meta.lower() for b in bad):
        return meta
    largest = re.sub(r"(?<=\w-) ", "", " ".join(extracted.largest))  # "Memory- Efficient"
    letters = sum(c.isalpha() for c in largest)
    if 2 <= len(largest.split()) <= 30 and letters >= 0.7 * len(largest.replace(" ", "")):
        return largest[:200]
    lines = [x for x in first_lines[:40] if not is_arxiv_stamp(x)]
    # USENIX cover pages: the title follows "... is sponsored by"
    cover = next((i for i, x in enumerate(lines[:15]) if "sponsored by" in x), None)
    if cover is not None:
        lines = lines[cover + 1 :]
    lines = [x for x in lines if not re.match(r"^(appears in|this paper is|proceedings)", x, re.I)]
    if not lines:
        return ""
    title = lines[0]
    for nxt in lines[1:4]:
        short = len(nxt.split()) <= (14 if title.endswith(":") else 6)
        words = nxt.split()
        dangling = title.split()[-1].lower() in _SMALL_WORDS
        a_name = (len(title.split()) >= 5 and len(words) in (2, 3) and not dangling
                  and all(w[0].isupper() and "-" not in w for w in words))
        if short and not a_name and "@" not in nxt and not re.search(r"\d|,", nxt) and title_ok(nxt):
            title += " " + nxt
        else:
            break
    return title[:200]


def parse_pdf(path: Path, doc_id: str, title: str = "") -> ParsedDoc:
    check_pdf_file(path)
    pages, warnings, extracted = pdf_page_lines(path)
    title = title or pdf_title(extracted, pages[0]) or doc_id
    numbered = sum(
        1 for lines in pages for x in lines
        if (m := _NUMBERED.match(x) or _ROMAN.match(x)) and title_ok(m["title"])
    )
    detector = HeadingDetector(caps=numbered < 3)
    items: list[tuple[int, str, str]] = []
    for number, lines in enumerate(pages, 1):
        for line in lines:
            if (m := _ABSTRACT_INLINE.match(line)) and "abstract" not in detector.seen_named:
                detector.seen_named.add("abstract")
                items.append((number, "abstract", "Abstract"))
                items.append((number, "line", m["rest"]))
                continue
            found = detector.heading(line)
            items.append((number, found[1], found[0]) if found else (number, "line", line))
    return assemble(doc_id, title, items, len(pages), warnings, _hyphen_vocab(pages))


# --------------------------------------------------------------------------- HTML and Markdown
class _HTMLText(HTMLParser):
    SKIP = {"script", "style", "nav", "header", "footer", "aside", "noscript", "svg", "form", "button"}
    BLOCK = {"p", "div", "li", "br", "pre", "tr", "section", "article", "blockquote", "table", "ul",
             "ol", "dd", "dt", "figcaption"}
    HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.items: list[tuple[str, str]] = []
        self.buf: list[str] = []
        self.skip = 0
        self.in_heading = False
        self.title = ""
        self.in_title = False

    def flush(self, kind: str = "line") -> None:
        text = clean_line("".join(self.buf))
        self.buf = []
        if text:
            self.items.append((kind, text))

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in self.SKIP:
            self.skip += 1
        elif tag == "title":
            self.in_title = True
        elif tag in self.HEADINGS or tag in self.BLOCK:
            self.flush()
            self.in_heading = tag in self.HEADINGS

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag == "title":
            self.in_title = False
        elif tag in self.HEADINGS:
            self.flush("heading")
            self.in_heading = False
        elif tag in self.BLOCK:
            self.flush()

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title += data
        elif not self.skip:
            self.buf.append(data)


def _structured(doc_id: str, title: str, items: list[tuple[str, str]]) -> ParsedDoc:
    if sum(len(t) for _, t in items) < 20:
        raise ParseError("the page has no readable text")
    out: list[tuple[int, str, str]] = []
    for kind, text in items:
        if kind == "heading":
            low = text.lower().rstrip(":")
            out.append((1, "references" if low in REFERENCES else "body", text))
        else:
            out.append((1, "line", text + ("" if text.endswith((".", ":", "!", "?")) else ".")))
    return assemble(doc_id, title, out, 1, [])


def parse_html(path: Path, doc_id: str, title: str = "") -> ParsedDoc:
    raw = path.read_bytes()
    parser = _HTMLText()
    parser.feed(raw.decode("utf-8", errors="replace"))
    parser.flush()
    title = title or clean_line(html.unescape(parser.title)) or doc_id
    return _structured(doc_id, title, parser.items)


def parse_markdown(path: Path, doc_id: str, title: str = "") -> ParsedDoc:
    items: list[tuple[str, str]] = []
    in_code = False
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if raw.strip().startswith("```"):
            in_code = not in_code
            continue
        if in_code:  # shell snippets and code are not prose to answer from
            continue
        line = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", raw)  # images
        line = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line)  # links -> their text
        line = re.sub(r"<[^>]+>", "", line)
        if m := re.match(r"^(#{1,6})\s+(.*)$", line):
            heading = clean_line(m[2].strip("# "))
            if heading:
                items.append(("heading", heading))
                title = title or heading
            continue
        text = clean_line(line.strip("*_>|-` "))
        if text:
            items.append(("line", text))
    return _structured(doc_id, title or doc_id, items)


def parse_file(path: Path, doc_id: str, title: str = "") -> ParsedDoc:
    """Dispatch on the file's kind (by its suffix; PDFs are checked by content too)."""
    suffix = path.suffix.lower()
    if suffix in {".html", ".htm"}:
        return parse_html(path, doc_id, title)
    if suffix in {".md", ".markdown", ".txt"}:
        return parse_markdown(path, doc_id, title)
    return parse_pdf(path, doc_id, title)
