"""The cited page of a PDF as an image: the cited sentence marked strongly, its passage lightly.

Our cleaned text differs from PDFium's (joined hyphenations, ligatures, dropped headers), so text is
found on a normalized stream of letters and digits, then mapped back to PDFium's character boxes.
The text is read upright (`orient.upright_textpage`), in the same order as at ingest, so a
sentence that occurs twice on a page is matched in the order the index has it. Boxes are in PDF
page space; they reach the image through the page's own transform
(`FPDF_PageToDevice`: rotation, crop box origin and scale), and a highlight counts as found only
when its boxes lie on the image and over ink (the words), not on blank paper.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image, ImageDraw

from paperdojo.answering.cite import alnum_stream
from paperdojo.library.parse.orient import upright_textpage

log = logging.getLogger(__name__)
_LOCK = threading.Lock()  # PDFium is not thread-safe
STRONG = (255, 196, 0, 150)  # the cited sentence (dark text on it keeps > 4.5:1 contrast)
LIGHT = (255, 230, 120, 60)  # the rest of its passage
INK = 160  # a box is "on the words" when some pixel under it is darker than this (0-255 gray)

Box = tuple[float, float, float, float]  # left, top, right, bottom in image pixels


def find_spans(page_text: str, passage: str, least: int = 12) -> list[tuple[int, int]]:
    """Character ranges of PDFium's page text that hold `passage`, in the passage's order.

    PDFium gives text in the order the PDF draws it, which need not be reading order (a title drawn
    last, columns interleaved), and a passage may start or end on another page. So the passage is
    matched piece by piece: at each step the longest prefix of what is left that occurs on the
    page (at least `least` letters and digits); what is not on this page is skipped.
    """
    return [span for span, _ in _pieces(page_text, passage, least)]


def _pieces(page_text: str, passage: str, least: int = 12
            ) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """`find_spans`' ranges, each with the range of the passage's letters and digits it matches."""
    hay, where = alnum_stream(page_text)
    needle, _ = alnum_stream(passage)
    spans: list[tuple[tuple[int, int], tuple[int, int]]] = []
    least = min(least, len(needle))
    i = 0
    while needle and i + least <= len(needle) and hay:
        if hay.find(needle[i : i + least]) < 0:
            i += 1
            continue
        lo, hi = least, len(needle) - i  # the longest prefix found: binary search on its length
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if hay.find(needle[i : i + mid]) >= 0:
                lo = mid
            else:
                hi = mid - 1
        at = hay.find(needle[i : i + lo])
        spans.append(((where[at], where[at + lo - 1] + 1), (i, i + lo)))
        i += lo
    return spans


def sentence_spans(page_text: str, sentence: str, least: int = 12) -> list[tuple[int, int]]:
    """`find_spans` for one cited sentence, [] unless the page holds it: most of it (60% of its
    letters and digits), or its beginning or end in one piece (a sentence cut by a page break).
    Stray phrases it shares with other sentences ("the pipeline bubble") do not count."""
    pieces = _pieces(page_text, sentence, least)
    size = len(alnum_stream(sentence)[0])
    covered = sum(b - a for _, (a, b) in pieces)
    cut = any(a == 0 or b == size for _, (a, b) in pieces if b - a >= min(size, 2 * least))
    if not pieces or (covered < 0.6 * size and not (len(pieces) == 1 and cut)):
        return []
    return [span for span, _ in pieces]


def _device_box(page: pdfium.PdfPage, size: tuple[int, int], box: Box) -> Box:
    """A PDF-space char box (left, bottom, right, top) as image pixels, through PDFium's transform."""
    left, bottom, right, top = box
    xs, ys = [], []
    for x, y in ((left, bottom), (right, top), (left, top), (right, bottom)):
        dx, dy = ctypes.c_int(), ctypes.c_int()
        pdfium_c.FPDF_PageToDevice(page.raw, 0, 0, size[0], size[1], 0, x, y, dx, dy)
        xs.append(dx.value)
        ys.append(dy.value)
    return min(xs), min(ys), max(xs), max(ys)


def _boxes(page: pdfium.PdfPage, textpage: pdfium.PdfTextPage, text: str, span_of: str,
           size: tuple[int, int], sentence: bool = False) -> list[Box]:
    out = []
    for start, stop in (sentence_spans if sentence else find_spans)(text, span_of):
        for i in range(start, stop):
            left, bottom, right, top = textpage.get_charbox(i)
            if right > left and top > bottom:
                out.append(_device_box(page, size, (left, bottom, right, top)))
    return out


def on_words(image: Image.Image, boxes: Sequence[Box]) -> bool:
    """Do the boxes lie on the image and (nearly all) over ink, i.e. on the words themselves?"""
    if not boxes:
        return False
    gray = np.asarray(image.convert("L"))
    h, w = gray.shape
    inked = 0
    for left, top, right, bottom in boxes:
        if left < 0 or top < 0 or right > w or bottom > h:
            return False
        region = gray[int(top) : int(bottom) + 1, int(left) : int(right) + 1]
        inked += bool(region.size and region.min() < INK)
    return inked >= 0.8 * len(boxes)


def render_with_boxes(pdf_path: Path, page_number: int, texts: Sequence[str], scale: float = 1.6
                      ) -> tuple[Image.Image, list[list[Box]]]:
    """The page as an RGB image and, for each of `texts`, its character boxes in image pixels: the
    first is a passage (any piece of it on the page), the others are sentences (`sentence_spans`:
    only when the page holds the sentence).

    Raises ValueError for a page the PDF does not have.
    """
    with _LOCK:
        pdf = pdfium.PdfDocument(str(pdf_path))
        try:
            if not 1 <= page_number <= len(pdf):
                raise ValueError(f"{pdf_path.name} has no page {page_number}")
            page = pdf[page_number - 1]
            image = page.render(scale=scale).to_pil().convert("RGB")
            boxes: list[list[Box]] = [[] for _ in texts]
            if any(texts):
                textpage, _ = upright_textpage(page)
                text = textpage.get_text_range()
                boxes = [_boxes(page, textpage, text, t, image.size, sentence=k > 0) if t else []
                         for k, t in enumerate(texts)]
        finally:
            pdf.close()
    return image, boxes


def render_page(pdf_path: Path, page_number: int, passage: str = "", scale: float = 1.6,
                sentences: Sequence[str] = ()) -> tuple[Image.Image, bool]:
    """The page as an RGB image, and whether the cited text was found and highlighted on its words.

    sentences: the cited sentences, marked strongly; the passage is marked lightly. "Found" is about
    the sentences when given, else the passage. Raises ValueError for a page the PDF does not have.
    """
    image, boxes = render_with_boxes(pdf_path, page_number, [passage, *sentences], scale)
    light, strong = boxes[0], [b for group in boxes[1:] for b in group]
    found = on_words(image, strong if sentences else light)
    if light or strong:
        overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(overlay)
        for group, colour in ((light, LIGHT), (strong, STRONG)):
            for left, top, right, bottom in group:
                draw.rectangle([left - 1, top - 1, right + 1, bottom + 1], fill=colour)
        image = Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")
    return image, found
