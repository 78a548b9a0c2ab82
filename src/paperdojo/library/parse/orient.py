"""A page's text the way it reads: upright, whatever the page's /Rotate, content matrix or crop box.

PDFium orders a page's text in display space, i.e. after the page's /Rotate. When the text then
runs top to bottom (/Rotate 90 over upright content, or upright /Rotate 0 over content drawn with a
quarter-turn matrix), PDFium takes it for vertical writing and reads the lines from right to left:
last line first. So the text page is built with the rotation that shows the text upright (from the
characters' own angle), and the page's /Rotate is put back at once; character boxes stay in PDF
page space either way, and a highlight goes to the image through the page's real transform.

`Frame` maps PDF page space to that upright frame, origin at the crop box's corner, so that the
layout rules (columns, gutters, "top of the page") see every page as an upright page from (0, 0).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

Rect = tuple[float, float, float, float]  # left, bottom, right, top in PDF points, y upwards

_SAMPLES = 200  # characters whose angle is read per page: enough for a majority, cheap on long pages


@dataclass(frozen=True)
class Frame:
    """The upright frame of a page's text: `rotation` (0, 90, 180 or 270, clockwise, the display
    rotation under which the text reads left to right) and the page's crop box (left, bottom,
    right, top in PDF points)."""

    rotation: int
    box: Rect

    @property
    def width(self) -> float:
        """The width of the upright page (points)."""
        left, bottom, right, top = self.box
        return right - left if self.rotation in (0, 180) else top - bottom

    @property
    def height(self) -> float:
        """The height of the upright page (points)."""
        left, bottom, right, top = self.box
        return top - bottom if self.rotation in (0, 180) else right - left

    def point(self, x: float, y: float) -> tuple[float, float]:
        """A point of PDF page space in the upright frame (x rightwards, y upwards, from 0)."""
        left, bottom, right, top = self.box
        if self.rotation == 90:
            return y - bottom, right - x
        if self.rotation == 180:
            return right - x, top - y
        if self.rotation == 270:
            return top - y, x - left
        return x - left, y - bottom

    def page_point(self, u: float, v: float) -> tuple[float, float]:
        """The inverse of `point`: an upright-frame point back in PDF page space."""
        left, bottom, right, top = self.box
        if self.rotation == 90:
            return right - v, u + bottom
        if self.rotation == 180:
            return right - u, top - v
        if self.rotation == 270:
            return v + left, top - u
        return u + left, v + bottom

    def rect(self, r: Rect) -> Rect:
        """A PDF-space rectangle (left, bottom, right, top) in the upright frame."""
        (x0, y0), (x1, y1) = self.point(r[0], r[1]), self.point(r[2], r[3])
        return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


def text_angle(textpage: pdfium.PdfTextPage, n_chars: int) -> int:
    """The angle of most of the page's letters in PDF page space, rounded to 0, 90, 180 or 270
    degrees clockwise (PDFium's `FPDFText_GetCharAngle`); 0 for a page without letters.

    Reads at most `_SAMPLES` characters spread over the page."""
    raw = textpage.raw
    votes: Counter[int] = Counter()
    step = max(1, n_chars // _SAMPLES)
    for i in range(0, n_chars, step):
        if not chr(pdfium_c.FPDFText_GetUnicode(raw, i)).isalnum():
            continue
        angle = pdfium_c.FPDFText_GetCharAngle(raw, i)
        if angle >= 0:
            votes[round(math.degrees(angle) / 90) % 4 * 90] += 1
    return votes.most_common(1)[0][0] if votes else 0


def upright_textpage(page: pdfium.PdfPage) -> tuple[pdfium.PdfTextPage, Frame]:
    """The page's text page built under the rotation that shows its text upright, and that frame.

    The page's own /Rotate is unchanged when this returns (it is set only while PDFium builds the
    text page), so rendering and `FPDF_PageToDevice` still use the page's real transform. The
    caller closes the text page."""
    textpage = page.get_textpage()
    angle = text_angle(textpage, textpage.count_chars())
    upright = (360 - angle) % 360  # a letter drawn at a degrees clockwise reads upright after -a
    own = page.get_rotation()
    if upright != own:
        textpage.close()
        page.set_rotation(upright)
        try:
            textpage = page.get_textpage()
        finally:
            page.set_rotation(own)
    left, bottom, right, top = page.get_cropbox()
    return textpage, Frame(upright, (left, bottom, right, top))
