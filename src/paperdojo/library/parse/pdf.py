"""A PDF -> ParsedDoc: cleaned lines, headings found line by line, assembled with page offsets."""

from __future__ import annotations

from pathlib import Path

from paperdojo.library.parse.assemble import assemble
from paperdojo.library.parse.check import check_pdf_file
from paperdojo.library.parse.clean import hyphen_vocab
from paperdojo.library.parse.headings import (
    ABSTRACT_INLINE,
    NUMBERED,
    ROMAN,
    HeadingDetector,
    dangles,
    split_run_in,
    title_ok,
)
from paperdojo.library.parse.pdftext import pdf_page_lines
from paperdojo.library.parse.titles import pdf_title
from paperdojo.records import ParsedDoc


def parse_pdf(path: Path, doc_id: str, title: str = "", ocr: bool = True) -> ParsedDoc:
    """A PDF -> ParsedDoc, pages without a text layer read by OCR when `ocr`; raises ParseError when
    the file is not a readable PDF or has no text."""
    check_pdf_file(path)
    pages, warnings, extracted = pdf_page_lines(path, ocr)
    title = title or pdf_title(extracted, pages[0]) or doc_id
    numbered = sum(
        1 for lines in pages for x in lines
        if (m := NUMBERED.match(x) or ROMAN.match(x)) and title_ok(m["title"])
    )
    detector = HeadingDetector(caps=numbered < 3)
    items: list[tuple[int, str, str]] = []
    for number, lines in enumerate(pages, 1):
        skip = False
        for i, line in enumerate(lines):
            if skip:
                skip = False
                continue
            if (m := ABSTRACT_INLINE.match(line)) and "abstract" not in detector.seen_named:
                detector.seen_named.add("abstract")
                items.append((number, "abstract", "Abstract"))
                items.append((number, "line", m["rest"]))
                continue
            if (run_in := split_run_in(line, detector.caps)) and (found := detector.heading(run_in[0])):
                items.append((number, found[1], found[0]))
                items.append((number, "line", run_in[1]))
                continue
            if dangles(line) and i + 1 < len(lines):
                # a heading ending on "and", "of", "both" goes on on the next line: the two lines are the
                # heading, or neither is (a list item or a sentence that goes on)
                if found := detector.heading(f"{line} {lines[i + 1].strip()}"):
                    items.append((number, found[1], found[0]))
                    skip = True
                else:
                    items.append((number, "line", line))
                continue
            found = detector.heading(line)
            items.append((number, found[1], found[0]) if found else (number, "line", line))
    return assemble(doc_id, title, items, len(pages), warnings, hyphen_vocab(pages),
                    frozenset(extracted.ocr_pages))
