"""The cited page of a PDF as an image, with the cited passage highlighted (pypdfium2).

Our cleaned text differs from PDFium's (joined hyphenations, ligatures, dropped headers), so the
passage is found on a normalized stream of letters and digits, then mapped back to PDFium's
character boxes, which are painted over the rendered page.
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image, ImageDraw

log = logging.getLogger(__name__)
_LOCK = threading.Lock()  # PDFium is not thread-safe
ANCHOR = 48  # normalized characters matched at each end of the passage


def _normalized(text: str) -> tuple[str, list[int]]:
    """Lowercased letters and digits of `text`, and the index in `text` of each of them."""
    chars, index = [], []
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKC", ch).lower():
            if c.isalnum():
                chars.append(c)
                index.append(i)
    return "".join(chars), index


def find_span(page_text: str, passage: str) -> tuple[int, int] | None:
    """Character range of `passage` in PDFium's page text, matched by its two ends."""
    hay, where = _normalized(page_text)
    needle, _ = _normalized(passage)
    if not needle or not hay:
        return None
    head = needle[:ANCHOR]
    start = hay.find(head)
    if start < 0:  # the passage may begin on the previous page: match its end alone
        tail = needle[-ANCHOR:]
        end = hay.find(tail)
        return (0, where[end + len(tail) - 1] + 1) if end >= 0 else None
    tail = needle[-ANCHOR:]
    end = hay.find(tail, start)
    stop = where[end + len(tail) - 1] + 1 if end >= 0 else len(page_text)  # runs onto the next page
    return where[start], stop


def render_page(pdf_path: Path, page_number: int, passage: str = "", scale: float = 1.6
                ) -> tuple[Image.Image, bool]:
    """The page as an RGB image, and whether the passage was found and highlighted."""
    with _LOCK:
        pdf = pdfium.PdfDocument(str(pdf_path))
        try:
            if not 1 <= page_number <= len(pdf):
                raise ValueError(f"{pdf_path.name} has no page {page_number}")
            page = pdf[page_number - 1]
            height = page.get_height()
            image = page.render(scale=scale).to_pil().convert("RGB")
            boxes = []
            if passage:
                textpage = page.get_textpage()
                span = find_span(textpage.get_text_range(), passage)
                if span:
                    for i in range(span[0], span[1]):
                        left, bottom, right, top = textpage.get_charbox(i)
                        if right > left and top > bottom:
                            boxes.append((left, bottom, right, top))
        finally:
            pdf.close()
    if boxes:
        overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(overlay)
        for left, bottom, right, top in boxes:
            draw.rectangle([left * scale - 1, (height - top) * scale - 1,
                            right * scale + 1, (height - bottom) * scale + 1], fill=(255, 214, 0, 90))
        image = Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")
    return image, bool(boxes)
