"""Text as a reader sees it: invisible duplicates dropped, columns read one after the other,
run-in headings cut at their first ". ". The field cases of ../shared/cases (duplicate-text-layer,
run-in-heading) are rebuilt here with fpdf2: same kind of page, written by the test."""

from __future__ import annotations

from pathlib import Path

import pytest
from fpdf import FPDF
from fpdf.enums import TextMode

from paperdojo.answering.extract import candidates
from paperdojo.library.parse import parse_file

LEFT = ["The left column opens with a sentence about loop tiling and",
        "goes on to say that tiles are chosen to fit the cache of",
        "each core, which the vole planner measures by profiling.",
        "A second paragraph of the left column explains how the",
        "planner orders the tiles so that reuse stays in registers."]
RIGHT = ["The right column opens with a sentence about data layout",
         "and says that the heron pass rewrites tensors into blocked",
         "formats, which cut cache misses by 17 percent on average.",
         "A second paragraph of the right column explains when the",
         "pass leaves a tensor alone because no kernel benefits."]


def _two_columns(path: Path, order: str) -> Path:
    """A letter page with two columns of 10 lines each, written in `order`: "rows" (left line i,
    then right line i), "rows-right-first" or "columns" (the whole left column, then the right)."""
    left, right = LEFT * 2, RIGHT * 2
    pdf = FPDF(format="letter", unit="pt")
    pdf.add_page()
    pdf.set_font("Helvetica", size=9)
    pdf.text(200, 60, "A Study of Two Column Pages")
    ops = []
    for i in range(len(left)):
        y = 100 + 12 * i
        ops += [(318, y, right[i]), (54, y, left[i])] if order == "rows-right-first" else \
               [(54, y, left[i]), (318, y, right[i])]
    if order == "columns":
        ops.sort(key=lambda op: op[0])
    for x, y, text in ops:
        pdf.text(x, y, text)
    pdf.output(str(path))
    return path


@pytest.mark.parametrize("order", ["rows", "rows-right-first", "columns"])
def test_two_columns_read_column_by_column(tmp_path, order):
    doc = parse_file(_two_columns(tmp_path / "cols.pdf", order), "cols")
    text = " ".join(doc.text.split())
    whole_left = " ".join(LEFT * 2)
    whole_right = " ".join(RIGHT * 2)
    assert whole_left in text and whole_right in text
    assert text.index(whole_left) < text.index(whole_right)


DOUBLED = ["Abstract. The pelican partitioner splits a model graph at the edges with the smallest",
           "activation tensors, which cuts pipeline communication by 41 percent. Operator fusion",
           "merges adjacent kernels so that intermediate tensors stay in registers. The scheduler",
           "assigns each stage of the model to one accelerator in the pipeline. Data layout",
           "transformations change the order of tensor dimensions in memory."]
RUN_IN = ["Abstract. Our compiler fuses producer and", "consumer loops when the consumer reads each",
          "element once. We call this rule single-read", "fusion and it removes most round trips to",
          "device memory.", "1 Introduction. Graph compilers lower a", "model into kernels and decide which",
          "operators share a kernel. Vendor libraries", "fix this choice by hand, which leaves speed",
          "on the table for new operators."]


def _page(path: Path, title: str, lines: list[str], invisible_copy: bool = False) -> Path:
    """A letter page titled `title` holding `lines`; with `invisible_copy` the whole text is drawn
    again as invisible text (render mode 3) at the same places, as OCR tools leave behind (PDFium's
    raw text then holds every line twice)."""
    pdf = FPDF(format="letter", unit="pt")
    pdf.set_title(title)
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    for mode in [TextMode.FILL] + ([TextMode.INVISIBLE] if invisible_copy else []):
        pdf.text_mode = mode
        for i, line in enumerate([title, *lines]):
            pdf.text(72, 72 + 14 * i, line)
    pdf.output(str(path))
    return path


def test_invisible_duplicate_layer_is_dropped(tmp_path):
    """The field case: each line drawn visibly and again invisibly (render mode 3) at its place."""
    pdf = _page(tmp_path / "doubled.pdf", "Doubled: Scanned Paper with an OCR Layer", DOUBLED, True)
    doc = parse_file(pdf, "doubled")
    assert doc.text.count("The pelican partitioner splits a model graph") == 1
    assert doc.text.count("Data layout transformations change the order") == 1
    assert doc.title.startswith("Doubled")


def test_invisible_text_alone_is_kept(tmp_path):
    """An OCR layer over a scan is the page's only text: nothing visible duplicates it."""
    pdf = FPDF(format="letter", unit="pt")
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    pdf.text_mode = TextMode.INVISIBLE
    lines = ["The ibis allocator keeps freed blocks in size classes and",
             "reuses them for the next tensor of the same size class."]
    for i, line in enumerate(lines * 3):
        pdf.text(72, 100 + 14 * i, line)
    pdf.output(str(tmp_path / "ocr_layer.pdf"))
    doc = parse_file(tmp_path / "ocr_layer.pdf", "ocr")
    assert doc.text.count("The ibis allocator keeps freed blocks") == 3


def test_run_in_heading_ends_at_its_first_period(tmp_path):
    """The field case: "1 Introduction. Graph compilers lower a ..." is a heading and a sentence."""
    doc = parse_file(_page(tmp_path / "gutter.pdf", "Gutter: A Study of Kernel Fusion", RUN_IN), "gutter")
    titles = [s.title for s in doc.sections]
    assert "1 Introduction" in titles
    intro = next(s for s in doc.sections if s.title == "1 Introduction")
    assert doc.text[intro.start : intro.end].startswith("Graph compilers lower a model into kernels")


@pytest.mark.parametrize("line, expected", [
    ("1 Introduction. Graph compilers lower a", ("1 Introduction", "Graph compilers lower a")),
    ("3.2 Weak Scaling. We evaluate the scaling of", ("3.2 Weak Scaling", "We evaluate the scaling of")),
    ("II. Background. Tensor programs are written", ("II. Background", "Tensor programs are written")),
    ("Acknowledgments. We thank the reviewers", ("Acknowledgments", "We thank the reviewers")),
    ("5.3.1 Weak Scaling. We evaluate the scaling of", None),  # deeper run-ins stay body text
    ("1 Introduction", None),  # no run-in
    ("2 Results. See Table 3", None),  # the rest is too short to be a sentence
    ("4 Comparison with J. Smith and others", None),  # an initial, not the heading's end
    ("Operator fusion. We merge adjacent kernels", None),  # a paragraph heading, not a section
])
def test_split_run_in(line, expected):
    from paperdojo.library.parse.headings import split_run_in

    assert split_run_in(line) == expected


def test_answer_never_quotes_a_sentence_twice():
    sentence = "The pelican partitioner splits a model graph at the edges with the smallest tensors."
    passages = [sentence + " It cuts pipeline communication by 41 percent overall.", sentence]
    sents = [c.text for c in candidates(passages)]
    assert sents.count(sentence) == 1
