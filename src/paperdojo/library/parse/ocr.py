"""Pages without a text layer (scans, slides exported as images) read by OCR, offline.

The OCR is RapidOCR on ONNX Runtime (`rapidocr-onnxruntime`, PP-OCRv4 detection and recognition
models inside the wheel: nothing is downloaded). A page is rendered at `DPI`, its text lines are
found and read, then put in reading order with the same column logic as PDFium's text (a
two-column scan is read column by column). Measured here: the exact words of a clean synthetic
page; the time per page depends on the machine (issue 15 measured 0.75 s on 2 idle cores; under
a shared, loaded machine several seconds).
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Any

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from paperdojo.library.parse.layout import Line, Piece, column_of, column_order, find_gutters

log = logging.getLogger(__name__)

DPI = 200  # render resolution: body text of 9-10 pt becomes ~25-28 px high, what the models read well
MIN_SCORE = 0.5  # RapidOCR's own default confidence for a recognized line


_NUMBER_GLUED = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,3}\.?)(?=[A-Z][a-z])")  # OCR's "2Method"


class OcrUnavailable(RuntimeError):
    """The OCR package cannot be loaded; the message says how to install it."""


@functools.cache
def _engine() -> Any:  # noqa: ANN401 - rapidocr_onnxruntime.RapidOCR, imported lazily (slow import)
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError as exc:
        raise OcrUnavailable("OCR needs rapidocr-onnxruntime: pip install rapidocr-onnxruntime") from exc
    return RapidOCR(print_verbose=False)


def has_marks(page: pdfium.PdfPage) -> bool:
    """Does the page draw anything (an image, a path, a form) that OCR could read? A blank page
    is not worth rendering."""
    marks = (pdfium_c.FPDF_PAGEOBJ_IMAGE, pdfium_c.FPDF_PAGEOBJ_PATH, pdfium_c.FPDF_PAGEOBJ_FORM)
    return any(obj.type in marks for obj in page.get_objects(max_depth=1))


def read_lines(image: np.ndarray) -> list[tuple[str, tuple[float, float, float, float]]]:
    """(text, box) of each line OCR finds in `image` (H x W or H x W x 3 uint8), the box as (left,
    bottom, right, top) in pixels with y upwards (the PDF convention, for the column logic)."""
    result, _ = _engine()(image)
    height = image.shape[0]
    out = []
    for points, text, score in result or []:
        if float(score) < MIN_SCORE or not text.strip():
            continue
        xs = [float(p[0]) for p in points]
        ys = [float(p[1]) for p in points]
        out.append((text.strip(), (min(xs), height - max(ys), max(xs), height - min(ys))))
    return out


def reading_order(found: list[tuple[str, tuple[float, float, float, float]]], width: float) -> list[str]:
    """OCR lines in reading order: column by column on a page set in columns, else row by row (boxes
    whose heights overlap by half form a row, read left to right)."""
    if not found:
        return []
    lines = [Line(0, 0, [box]) for _, box in found]
    gutters = find_gutters(lines, width)
    if gutters:
        pieces = [Piece(text, box, column_of(box, gutters), i) for i, (text, box) in enumerate(found)]
        return [p.text for p in column_order(pieces)]
    ordered = sorted(found, key=lambda f: -f[1][3])
    rows: list[list[tuple[str, tuple[float, float, float, float]]]] = []
    for item in ordered:
        box = item[1]
        if rows:
            last = rows[-1][0][1]
            overlap = min(last[3], box[3]) - max(last[1], box[1])
            if overlap >= 0.5 * min(last[3] - last[1], box[3] - box[1]):
                rows[-1].append(item)
                continue
        rows.append([item])
    return [" ".join(text for text, _ in sorted(row, key=lambda f: f[1][0])) for row in rows]


def ocr_page(page: pdfium.PdfPage, dpi: int = DPI) -> str:
    """The text OCR reads on `page`, one line per line of text ("" when it finds none).

    Raises OcrUnavailable when the OCR package is missing."""
    bitmap = page.render(scale=dpi / 72, grayscale=True)
    try:
        image = np.ascontiguousarray(bitmap.to_numpy())
    finally:
        bitmap.close()
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    lines = reading_order(read_lines(image), float(image.shape[1]))
    return "\n".join(_NUMBER_GLUED.sub(r"\1 ", line) for line in lines)
