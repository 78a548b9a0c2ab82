"""Text as a reader sees it: invisible duplicates dropped, columns read one after the other,
run-in headings cut at their first ". ". The field cases are in tests/data/ (from ../shared/cases)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fpdf import FPDF
from fpdf.enums import TextMode

from paperdojo.answering.extract import candidates
from paperdojo.library.parse import parse_file

DATA = Path(__file__).parent / "data"

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


def test_invisible_duplicate_layer_is_dropped():
    """The field case: each line drawn visibly and again invisibly (render mode 3) at its place."""
    doc = parse_file(DATA / "doubled_text.pdf", "doubled")
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


def test_run_in_heading_ends_at_its_first_period():
    """The field case: "1 Introduction. Graph compilers lower a ..." is a heading and a sentence."""
    doc = parse_file(DATA / "two_column.pdf", "gutter")
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
