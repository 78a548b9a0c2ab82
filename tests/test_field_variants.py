"""More inputs of the kinds of ../shared/cases (session 13, h13break), built by the tests: other
shapes of an invisible OCR layer, other page transforms, other run-in headings, a key sentence two
pages after its section starts, and paper text as markup in a file name. Each kind's correct
behaviour is the cases README's; these passed or were fixed when written."""

from __future__ import annotations

from pathlib import Path

import pypdf
import pytest
from conftest import make_settings
from fpdf import FPDF
from fpdf.enums import TextMode
from helpers import make_pdf
from markdown_it import MarkdownIt
from pypdf.generic import FloatObject, NameObject, NumberObject, RectangleObject
from test_reading_order import LAYERED, RUN_IN, _page

from paperdojo.answering.answer import Answerer
from paperdojo.answering.retrieve import Retriever
from paperdojo.app.pages import on_words, render_page, render_with_boxes
from paperdojo.library import store
from paperdojo.library.ingest import ingest
from paperdojo.library.parse import parse_file


# --------------------------------------------------------------------- duplicate-text-layer
def _ocr_layer(path: Path, shape: str) -> Path:
    """LAYERED drawn visibly, then again invisibly as an OCR tool of another kind writes it: "words"
    (each word at its own place), "bigger" (a larger font on the same baselines), "times" (another
    font), "block" (one paragraph reflowed at other line breaks), "clip" (render mode 7)."""
    pdf = FPDF(format="letter", unit="pt")
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    for i, line in enumerate(LAYERED):
        pdf.text(72, 100 + 14 * i, line)
    pdf.text_mode = TextMode.CLIP if shape == "clip" else TextMode.INVISIBLE
    if shape == "bigger":
        pdf.set_font("Helvetica", size=11)
    elif shape == "times":
        pdf.set_font("Times", size=10)
    if shape == "block":
        pdf.set_xy(72, 90)
        pdf.multi_cell(400, 14, " ".join(LAYERED))
    for i, line in enumerate(LAYERED if shape != "block" else []):
        if shape == "words":
            x = 72.0
            for word in line.split():
                pdf.text(x, 100 + 14 * i, word)
                x += pdf.get_string_width(word + " ")
        else:
            pdf.text(72, 100 + 14 * i, line)
    pdf.output(str(path))
    return path


@pytest.mark.parametrize("shape", ["words", "bigger", "times", "block", "clip"])
def test_an_ocr_layer_of_any_shape_is_read_once(tmp_path, shape):
    text = " ".join(parse_file(_ocr_layer(tmp_path / "layer.pdf", shape), "layer").text.split())
    assert text.count("pelican") == 1 and " ".join(LAYERED) in text


# --------------------------------------------------------------------- rotated-page-highlight
SENTENCE = "The ibex profiler samples hardware counters every millisecond and attributes stalls."
UPRIGHT = [[("h", "Tilted Again"), SENTENCE, "Operator fusion keeps intermediate tensors in registers."]]


def _page_with(path: Path, transform: str) -> Path:
    """A one-page PDF with SENTENCE, then changed by `transform`: "inherited" (/Rotate 90 on the page
    tree, not the page), "minus90" (/Rotate -90), "450" (/Rotate 450), "userunit" (/UserUnit 2),
    "media-offset" (a media box not at the origin, the content moved with it)."""
    plain = make_pdf(path.with_suffix(".plain.pdf"), UPRIGHT, header=None)
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(plain))
    page = writer.pages[0]
    if transform == "inherited":
        writer._root_object["/Pages"][NameObject("/Rotate")] = NumberObject(90)
    elif transform in ("minus90", "450"):
        page[NameObject("/Rotate")] = NumberObject(-90 if transform == "minus90" else 450)
    elif transform == "userunit":
        page[NameObject("/UserUnit")] = FloatObject(2.0)
    elif transform == "media-offset":
        w, h = float(page.mediabox.width), float(page.mediabox.height)
        page.mediabox = RectangleObject([100, 100, 100 + w, 100 + h])
        page.add_transformation([1, 0, 0, 1, 100, 100])
    writer.write(path)
    return path


def _centre(image, boxes) -> tuple[float, float]:  # noqa: ANN001 - a PIL image
    w, h = image.size
    return (sum((b[0] + b[2]) / 2 for b in boxes) / len(boxes) / w,
            sum((b[1] + b[3]) / 2 for b in boxes) / len(boxes) / h)


@pytest.mark.parametrize(("transform", "turn"), [("inherited", 90), ("minus90", 270), ("450", 90),
                                                 ("userunit", 0), ("media-offset", 0)])
def test_highlight_follows_every_way_of_writing_the_page_transform(tmp_path, transform, turn):
    upright = make_pdf(tmp_path / "upright.pdf", UPRIGHT, header=None)
    image0, (boxes0,) = render_with_boxes(upright, 1, [SENTENCE])
    u, v = _centre(image0, boxes0)
    path = _page_with(tmp_path / f"{transform}.pdf", transform)
    image, (boxes,) = render_with_boxes(path, 1, [SENTENCE])
    assert on_words(image, boxes)
    expected = {0: (u, v), 90: (1 - v, u), 270: (v, 1 - u)}[turn]  # clockwise
    assert _centre(image, boxes) == pytest.approx(expected, abs=0.02)
    assert render_page(path, 1, SENTENCE, sentences=[SENTENCE])[1]


# --------------------------------------------------------------------- run-in-heading
@pytest.mark.parametrize("heading", ["1 Design and Implementation", "1 Background and Motivation",
                                     "1 INTRODUCTION", "1. Introduction", "2.1 Memory Planning",
                                     "II. Background"])
def test_run_in_headings_of_other_words_and_numbering(tmp_path, heading):
    lines = [line.replace("1 Introduction.", heading + ".") for line in RUN_IN]
    doc = parse_file(_page(tmp_path / "runin.pdf", "Gutter: A Study of Kernel Fusion", lines), "runin")
    section = next(s for s in doc.sections if s.title == heading)
    assert doc.text[section.start : section.end].startswith("Graph compilers lower a model into kernels")


# --------------------------------------------------------------------- page-spanning-citation
def test_a_key_sentence_two_pages_after_its_section_starts_is_cited_on_its_page(tmp_path, embedder):
    """The section starts at the bottom of p. 1 and runs over p. 2 to p. 3, where the key sentence is:
    the citation, the source's page and its link all say p. 3."""
    filler = [f"Stage {i} of the schedule waits for the stage before it to hand over activations."
              for i in range(40)]
    pages = [[("h", "1 Introduction"), *filler[:30], ("h", "2 Rebalancing Micro-batches"),
              "Pipeline stages run at different speeds, so some accelerators idle."],
             filler[:44],
             ["The marten rebalancer cut the pipeline bubble from 27 percent to 6 percent per iteration.",
              "Rebalancing happens once, before steady-state training begins.", ("h", "3 Evaluation"),
              "Operator fusion merges adjacent kernels so that intermediate tensors stay in registers."]]
    settings = make_settings(tmp_path / "home")
    settings.home.mkdir()
    settings.reading_list.write_text("")
    (tmp_path / "pdfs").mkdir()
    make_pdf(tmp_path / "pdfs" / "marten.pdf", pages, title_meta="Marten: Rebalanced Pipelines")
    ingest(settings, [tmp_path / "pdfs"], embedder=embedder)
    retriever = Retriever.from_settings(store.load_index(settings.index_dir), embedder, settings)
    ans = Answerer.from_settings(retriever, settings).answer("By how much did the marten rebalancer cut the "
                                                             "pipeline bubble?")
    cite = next(c for c in ans.citations if "marten rebalancer" in c.sentence)
    assert cite.found and (cite.page_start, cite.page_end) == (3, 3)
    src = next(s for s in ans.sources if s.n == cite.n)
    assert src.page == 3 and src.url.endswith("#page=3") and src.pages_label.startswith("p. 3")


# --------------------------------------------------------------------- html-in-paper-text
def _only_our_elements(markdown: str) -> None:
    """Rendered as Gradio does (CommonMark, HTML allowed): no image, script or frame at all, and every
    link one of ours (the PDF cache, a citation anchor), never a target written in the file name."""
    from html.parser import HTMLParser

    found: list[tuple[str, dict]] = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag, attrs):  # noqa: ANN001, ANN202
            found.append((tag, dict(attrs)))

    Tags().feed(MarkdownIt("commonmark", {"html": True}).render(markdown))
    for tag, attrs in found:
        assert tag not in {"img", "script", "iframe", "object", "embed"}, (tag, markdown)
        if tag == "a":
            ours = ("/gradio_api/file=", "#", "file://")
            assert (attrs.get("href") or "").startswith(ours), (attrs, markdown)
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)


MARKUP_NAMES = ['<img src=x onerror=alert(1)>.pdf', "![pixel](http:__tracker.test_p.png).pdf",
                "[click me](javascript:alert(1)).pdf", "<script>alert(1)<_script>.pdf"]


@pytest.mark.parametrize("name", MARKUP_NAMES)
def test_markup_in_an_untitled_papers_file_name_is_text_in_every_view(tmp_path, embedder, name):
    """A PDF without a title is called by its file name; a name that is markup stays text in the
    answer, the search listing and the Library."""
    from paperdojo.app.common import answer_markdown, source_card, source_record
    from paperdojo.app.library import summary_text
    from paperdojo.workspace import Workspace

    settings = make_settings(tmp_path / "home")
    settings.home.mkdir()
    settings.reading_list.write_text("")
    (tmp_path / "pdfs").mkdir()
    grebe = [[("h", "Abstract"), "The grebe allocator pools pinned host buffers.",
              "It hands each transfer a buffer of the right size class."]]
    make_pdf(tmp_path / "pdfs" / name, grebe, header=None)
    ingest(settings, [tmp_path / "pdfs"], embedder=embedder)
    ws = Workspace(settings)
    ans = ws.ask("What does the grebe allocator pool?")
    assert not ans.refused and ans.sources[0].chunk.title == name[:-4]
    _only_our_elements(answer_markdown(ans))
    hits = ws.search_sections("grebe allocator")
    assert hits
    for hit in hits:
        _only_our_elements(source_card(source_record(ws, 1, hit.hits[0].chunk, hit.snippet, None)))
    _only_our_elements(summary_text(ws.papers(), settings))
