"""A page reads the same whatever its transform: /Rotate 0, 90, 180 or 270, content drawn with a
quarter-turn matrix, a media box or crop box whose origin is not (0, 0). The field case
rotated-page-highlight (/Rotate 90 read last line first) is one of these; the page is written here
with fpdf2 and turned with pypdf, and both the extracted text and the highlight are checked."""

from __future__ import annotations

from pathlib import Path

import pytest
from fpdf import FPDF
from helpers import LEFT, RIGHT
from pypdf import PageObject, PdfReader, PdfWriter, Transformation
from pypdf.generic import RectangleObject

from paperdojo.app.pages import on_words, render_page, render_with_boxes
from paperdojo.library.parse import parse_file, pdf_page_texts
from paperdojo.library.parse.orient import Frame

TITLE = "Turned Pages: A Study of Page Transforms"
FIRST = "The ibex profiler samples hardware counters every millisecond and blames fused kernels."
LINES = [FIRST,
         "Operator fusion merges adjacent kernels so that intermediate tensors stay in registers.",
         "The scheduler assigns each stage of the model to one accelerator in the pipeline.",
         "Memory traffic dominates the cost of elementwise operators on modern accelerators.",
         "The cost model predicts the latency of a candidate schedule from its loop structure."]
SHIFT = (100.0, 150.0)  # where the "origin" variants move the page (points)
CROP = (40.0, 50.0, 580.0, 760.0)  # a crop box not at the origin, holding all the text


def _upright(path: Path) -> Path:
    """Two letter pages: a title and five lines; then two columns written row by row (left line i,
    then right line i), which read correctly only when the gutter is found."""
    pdf = FPDF(format="letter", unit="pt")
    pdf.add_page()
    pdf.set_font("Helvetica", size=14)
    pdf.text(72, 72, TITLE)
    pdf.set_font("Helvetica", size=10)
    for i, line in enumerate(LINES):
        pdf.text(72, 110 + 16 * i, line)
    pdf.add_page()
    pdf.set_font("Helvetica", size=9)
    for i, (left, right) in enumerate(zip(LEFT * 2, RIGHT * 2, strict=True)):
        pdf.text(54, 100 + 12 * i, left)
        pdf.text(318, 100 + 12 * i, right)
    pdf.output(str(path))
    return path


def _variant(base: Path, out: Path, kind: str, rotation: int) -> Path:
    """base turned: "rotate" sets /Rotate; "content" draws the turned page with a matrix (/Rotate
    0, the same picture); "origin" moves the page's media box to SHIFT (then /Rotate); "crop" sets
    a crop box at CROP (then /Rotate)."""
    writer = PdfWriter(clone_from=PdfReader(base))
    for page in writer.pages:
        _turn(page, kind, rotation)
    writer.write(out)
    return out


def _turn(page: PageObject, kind: str, rotation: int) -> None:
    if kind == "origin":
        page.add_transformation(Transformation().translate(*SHIFT))
        w, h = float(page.mediabox.width), float(page.mediabox.height)
        page.mediabox = RectangleObject([SHIFT[0], SHIFT[1], SHIFT[0] + w, SHIFT[1] + h])
        page.cropbox = page.mediabox
    if kind == "crop":
        page.cropbox = RectangleObject(list(CROP))
    if rotation:
        page.rotate(rotation)
    if kind == "content":
        page.transfer_rotation_to_content()
        assert not page.get("/Rotate")


VARIANTS = [("rotate", r) for r in (0, 90, 180, 270)] + [("content", r) for r in (90, 180, 270)] + \
           [("origin", 0), ("origin", 90), ("crop", 0), ("crop", 270)]


@pytest.fixture(scope="module")
def upright(tmp_path_factory) -> Path:
    return _upright(tmp_path_factory.mktemp("orient") / "upright.pdf")


@pytest.mark.parametrize(("kind", "rotation"), VARIANTS)
def test_text_reads_in_order_under_every_transform(upright, tmp_path, kind, rotation):
    path = _variant(upright, tmp_path / f"{kind}{rotation}.pdf", kind, rotation)
    raw = pdf_page_texts(path, ocr=False)
    assert raw.largest == [TITLE]
    lines = [x.strip() for x in str(raw.pages[0]).splitlines() if x.strip()]
    assert lines == [TITLE, *LINES]  # top to bottom, not last line first
    doc = parse_file(path, "turned", ocr=False)
    text = " ".join(doc.text.split())
    whole_left, whole_right = " ".join(LEFT * 2), " ".join(RIGHT * 2)
    assert " ".join(LINES) in text and whole_left in text and whole_right in text
    assert text.index(" ".join(LINES)) < text.index(whole_left) < text.index(whole_right)
    assert doc.page_at(doc.text.index(LEFT[0])) == 2 and doc.page_at(doc.text.index(FIRST)) == 1


def _centre(size: tuple[int, int], boxes) -> tuple[float, float]:
    w, h = size
    return (sum((b[0] + b[2]) / 2 for b in boxes) / len(boxes) / w,
            sum((b[1] + b[3]) / 2 for b in boxes) / len(boxes) / h)


@pytest.mark.parametrize(("kind", "rotation"), VARIANTS)
def test_highlight_lands_on_the_sentence_under_every_transform(upright, tmp_path, kind, rotation):
    image0, (sent0, title0) = render_with_boxes(upright, 1, [FIRST, TITLE])
    u, v = _centre(image0.size, sent0)
    if kind == "crop":  # the same spot, seen through the crop box
        w0, h0 = image0.size
        left, bottom, right, top = CROP
        u = (u * 612 - left) / (right - left)
        v = (v * 792 - (792 - top)) / (top - bottom)
    path = _variant(upright, tmp_path / f"{kind}{rotation}.pdf", kind, rotation)
    image, (sent, title) = render_with_boxes(path, 1, [FIRST, TITLE])
    assert on_words(image, sent) and on_words(image, title)
    expected = {0: (u, v), 90: (1 - v, u), 180: (1 - u, 1 - v), 270: (v, 1 - u)}[rotation]  # clockwise
    assert _centre(image.size, sent) == pytest.approx(expected, abs=0.02)
    assert not {(round(b[0]), round(b[1])) for b in title} & {(round(b[0]), round(b[1])) for b in sent}
    assert render_page(path, 1, FIRST, sentences=[FIRST])[1]


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_frame_maps_points_both_ways(rotation):
    frame = Frame(rotation, (10.0, 20.0, 110.0, 220.0))  # 100 wide, 200 high
    assert (frame.width, frame.height) == ((100.0, 200.0) if rotation in (0, 180) else (200.0, 100.0))
    for x, y in [(10.0, 20.0), (110.0, 220.0), (35.0, 180.0)]:
        u, v = frame.point(x, y)
        assert 0 <= u <= frame.width and 0 <= v <= frame.height
        assert frame.page_point(u, v) == pytest.approx((x, y))
    # the page's top-left corner as displayed is the upright frame's top-left corner (0, height)
    shown_top_left = {0: (10.0, 220.0), 90: (10.0, 20.0), 180: (110.0, 20.0), 270: (110.0, 220.0)}[rotation]
    assert frame.point(*shown_top_left) == pytest.approx((0.0, frame.height))
