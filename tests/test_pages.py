"""Highlights go through the page's real transform: rotation, crop box origin and scale."""

from __future__ import annotations

import shutil

import pypdfium2 as pdfium
import pytest

from paperdojo.app.pages import find_spans, on_words, render_page, render_with_boxes

SENTENCE = ("Abstract. The ibex profiler samples hardware counters every millisecond and attributes stalls "
            "to individual fused kernels.")
TITLE = "Tilted: Highlights on Rotated Pages"
CROP = (50.0, 60.0, 562.0, 732.0)  # a crop box not at the origin (base.pdf is 612 x 792)


def _variant(base, tmp_path, rotation: int, crop: bool = False):
    path = tmp_path / f"r{rotation}{'-crop' if crop else ''}.pdf"
    pdf = pdfium.PdfDocument(str(base))
    page = pdf[0]
    page.set_rotation(rotation)
    if crop:
        page.set_cropbox(*CROP)
    pdf.save(str(path))
    pdf.close()
    return path


def _centre(image, boxes) -> tuple[float, float]:
    w, h = image.size
    xs = [(b[0] + b[2]) / 2 / w for b in boxes]
    ys = [(b[1] + b[3]) / 2 / h for b in boxes]
    return sum(xs) / len(xs), sum(ys) / len(ys)


@pytest.fixture
def base(shared, tmp_path):
    return shutil.copyfile(shared / "cases" / "rotated-page-highlight" / "base.pdf", tmp_path / "base.pdf")


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_highlight_lands_on_the_sentence_at_each_rotation(base, tmp_path, rotation):
    image0, (sent0, title0) = render_with_boxes(base, 1, [SENTENCE, TITLE])
    u, v = _centre(image0, sent0)
    path = _variant(base, tmp_path, rotation)
    image, (sent, title) = render_with_boxes(path, 1, [SENTENCE, TITLE])
    assert on_words(image, sent) and on_words(image, title)
    expected = {0: (u, v), 90: (1 - v, u), 180: (1 - u, 1 - v), 270: (v, 1 - u)}[rotation]  # clockwise
    assert _centre(image, sent) == pytest.approx(expected, abs=0.02)
    # the sentence's boxes never spill onto the title, which PDFium gives in another order
    top_of_title = {(round(b[0]), round(b[1])) for b in title}
    assert not top_of_title & {(round(b[0]), round(b[1])) for b in sent}
    assert render_page(path, 1, SENTENCE, sentences=[SENTENCE])[1]


def test_highlight_with_an_offset_crop_box(base, tmp_path):
    scale = 1.6
    image0, (sent0,) = render_with_boxes(base, 1, [SENTENCE], scale)
    path = _variant(base, tmp_path, 0, crop=True)
    image, (sent,) = render_with_boxes(path, 1, [SENTENCE], scale)
    left, bottom, right, top = CROP
    assert image.size[0] == pytest.approx((right - left) * scale, abs=1)
    assert image.size[1] == pytest.approx((top - bottom) * scale, abs=1)
    shift = (left * scale, (792 - top) * scale)  # the crop box's top-left corner in base.pdf's image
    moved = [(b[0] - shift[0], b[1] - shift[1], b[2] - shift[0], b[3] - shift[1]) for b in sent0]
    assert on_words(image, sent)
    assert _centre(image, sent) == pytest.approx(_centre(image, moved), abs=0.01)


def test_rotated90_case_and_not_found_off_the_words(shared):
    path = shared / "cases" / "rotated-page-highlight" / "rotated90.pdf"
    assert render_page(path, 1, SENTENCE, sentences=[SENTENCE])[1]
    image, (sent,) = render_with_boxes(path, 1, [SENTENCE])
    blank = [(5.0, 5.0, 20.0, 15.0)] * len(sent)  # a corner of blank paper
    off = [(b[0] + image.size[0], b[1], b[2] + image.size[0], b[3]) for b in sent]
    assert not on_words(image, blank) and not on_words(image, off)
    assert not render_page(path, 1, SENTENCE, sentences=["A sentence that is on no page at all here."])[1]


def test_find_spans_follows_out_of_order_text():
    text = "stalls to individual fused kernels.\nAbstract. The ibex profiler attributes\nTitle Words"
    spans = find_spans(text, "Abstract. The ibex profiler attributes stalls to individual fused kernels.")
    covered = "".join(text[s:e] for s, e in spans)
    assert "Title" not in covered and "ibex" in covered and "fused" in covered


def test_sentence_spans_need_the_sentence_not_a_shared_phrase():
    """A cited sentence is found on a page that holds it, or its beginning or end cut by a page
    break; a phrase it shares with other text ("the pipeline bubble") is not it."""
    from paperdojo.app.pages import sentence_spans

    sentence = "The jackal rebalancer cut the pipeline bubble from 31 percent to 9 percent of each iteration."
    whole = ("Intro text.\nThe jackal rebalancer cut the pipeline bubble from 31 percent\n"
             "to 9 percent of each iteration.")
    assert sentence_spans(whole, sentence)
    stray = "Stages idle, which is called the pipeline bubble in the literature on schedules."
    assert find_spans(stray, sentence) and not sentence_spans(stray, sentence)
    cut = "Earlier lines of the page.\nThe jackal rebalancer cut the pipeline"  # the page ends here
    assert sentence_spans(cut, sentence)


SPANNING = ("Our pipeline rebalancer moved the stalled stages to idle accelerators, which cut the bubble of "
            "the pipeline from 31 percent to 9 percent of each step in our runs.")


def _three_pages(path, rotation: int, crop: bool):  # noqa: ANN001, ANN202
    """Three pages; SPANNING starts at the bottom of page 2 and ends at the top of page 3; page 2
    alone is turned by `rotation` and, with `crop`, seen through a crop box not at the origin."""
    from fpdf import FPDF

    pdf = FPDF(format="letter", unit="pt")
    pdf.set_font("Helvetica", size=11)
    for p in range(3):
        pdf.add_page()
        lines = [f"Page {p + 1} line {k}: the kestrel compiler lowers operator graphs to fused kernels."
                 for k in range(20)]
        if p == 1:
            lines[-2:] = ["3.2 Results. Our pipeline rebalancer moved the stalled stages to idle",
                          "accelerators, which cut the bubble of the"]
        if p == 2:
            lines[0] = "pipeline from 31 percent to 9 percent of each step in our runs."
        for i, line in enumerate(lines):
            pdf.text(72, 90 + 30 * i, line)
    pdf.output(str(path.with_suffix(".plain.pdf")))
    doc = pdfium.PdfDocument(str(path.with_suffix(".plain.pdf")))
    doc[1].set_rotation(rotation)
    if crop:
        doc[1].set_cropbox(40, 30, 560, 760)
    doc.save(str(path))
    doc.close()
    return path


@pytest.mark.parametrize(("rotation", "crop"), [(0, False), (180, False), (180, True), (90, True)])
def test_a_sentence_across_a_page_break_is_found_on_both_pages(tmp_path, rotation, crop):
    """The sentence's two halves are highlighted on their words on page 2 (turned, cropped) and page
    3, and the parsed text holds it whole (pages 1 and 3 untouched by page 2's transform)."""
    from paperdojo.library.parse import parse_file

    path = _three_pages(tmp_path / "spanning.pdf", rotation, crop)
    assert SPANNING in " ".join(parse_file(path, "spanning").text.split())
    for page in (2, 3):
        image, (_, boxes) = render_with_boxes(path, page, ["", SPANNING])
        assert on_words(image, boxes)
        assert render_page(path, page, "", sentences=[SPANNING])[1]
    assert not render_page(path, 1, "", sentences=[SPANNING])[1]
