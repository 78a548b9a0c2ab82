"""Text as a reader sees it: invisible duplicates dropped, columns read one after the other,
run-in headings cut at their first ". ". The field cases of ../shared/cases (duplicate-text-layer,
run-in-heading) are rebuilt here with fpdf2: same kind of page, written by the test."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from fpdf import FPDF
from fpdf.enums import TextMode
from helpers import LEFT, RIGHT

from paperdojo.answering.extract import candidates
from paperdojo.library.parse import parse_file


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


HEAD = ["Abstract. We describe an invented planner that reads pages the way people read them, and",
        "we measure how often it reads across the gutter on pages with a wide block above the columns,",
        "which is the usual shape of a first page in proceedings, and show the fix is general enough."]
THIRDS = [["The vole planner tiles every loop nest", "so that each tile fits in the cache of",
            "one core and keeps reuse in registers", "for the whole loop, which it checks by",
            "profiling the kernel on the first run."],
           ["The heron pass rewrites most tensors", "into blocked formats, which cut cache",
            "misses by seventeen percent on average", "over all kernels, and it leaves alone a",
            "tensor that no kernel reads in blocks."],
           ["The ibis scheduler assigns each stage", "of the pipeline to one accelerator and",
            "then balances the stages so that the", "bubbles stay small when the model and",
            "the number of accelerators both grow."]]


def _columns_page(path: Path, shape: str) -> tuple[Path, list[list[str]]]:
    """A letter page set in columns, of one `shape`, and its columns' lines in reading order:
    "header" (title, authors and a 3-line abstract across the page, then two columns written row by
    row), "band" (a full-width table between two halves of the columns), "unequal" (the header,
    then a left column of 10 lines and a right one of 4), "shuffled" (the header and columns written
    in a random order), "right-first" (the whole right column, then the left), "three" (three
    columns written row by row), "short" (the header, then four rows of each column, the right one
    opening with a heading line too short to count as running text, written row by row)."""
    pdf = FPDF(format="letter", unit="pt")
    pdf.add_page()
    pdf.set_font("Helvetica", size=9)
    ops = [(150, 60, "Reading Order of Invented Papers with Wide Blocks"),
           (230, 74, "Ada Heron, Bo Vole and Cy Ibis, Invented University")]
    ops += [(54, 92 + 11 * i, line) for i, line in enumerate(HEAD)]
    left, right = LEFT * 2, (RIGHT[:4] if shape == "unequal" else RIGHT * 2)
    if shape == "short":
        left, right = LEFT[:4], ["2 Blocked Layouts", *RIGHT[:4]]
    columns = [left, right]
    if shape == "three":
        pdf.set_font("Helvetica", size=7)
        columns = [col * 2 for col in THIRDS]
        ops += [(54 + 178 * c, 140 + 10 * i, col[i]) for i in range(10) for c, col in enumerate(columns)]
    else:
        for i in range(max(len(left), len(right))):
            y = 140 + 12 * i + (40 if shape == "band" and i >= 5 else 0)
            ops += [(54, y, left[i])] if i < len(left) else []
            ops += [(318, y, right[i])] if i < len(right) else []
        if shape == "band":
            ops += [(54, 212, "Table 1: Invented latencies of the planner for each model and batch size."),
                    (54, 224, "Model     Batch     Latency     Throughput     Memory     Energy     Speedup")]
            columns = [left[:5], right[:5], left[5:], right[5:]]
    if shape == "shuffled":
        random.Random(7).shuffle(ops)
    if shape == "right-first":
        ops = ops[:5] + [op for op in ops[5:] if op[0] > 300] + [op for op in ops[5:] if op[0] < 300]
    for x, y, text in ops:
        pdf.text(x, y, text)
    pdf.output(str(path))
    return path, columns


@pytest.mark.parametrize("shape", ["header", "band", "unequal", "shuffled", "right-first", "three", "short"])
def test_columns_read_one_after_the_other_whatever_the_page(tmp_path, shape):
    """A wide block above the columns (or between them), columns of unequal length, three columns,
    and lines written in any order: each column (of each band) is read whole, left to right."""
    path, columns = _columns_page(tmp_path / f"{shape}.pdf", shape)
    text = " ".join(parse_file(path, shape).text.split())
    at = text.find("we measure how often it reads across the gutter")
    assert at >= 0
    for column in columns:  # each after the one before it
        at = text.find(" ".join(column), at)
        assert at >= 0, text
        at += len(" ".join(column))


def test_figure_panels_written_row_by_row_keep_their_order(tmp_path):
    """A grid of figure panels (two per row, each with a title and a caption far below it) written
    row by row is not text in columns: the PDF's order (a, b, c, d) is kept."""
    pdf = FPDF(format="letter", unit="pt")
    pdf.add_page()
    pdf.set_font("Helvetica", size=8)
    for row in range(3):
        for col in range(2):
            tag = "abcdef"[2 * row + col]
            x, y = 90 + 250 * col, 80 + 220 * row
            pdf.text(x, y, f"Invented speed of the heron kernel, head size {32 << row} and batch {col + 1}")
            pdf.text(x + 20, y + 150, f"({tag}) Forward pass of the heron kernel without a causal mask")
            for k in range(4):
                pdf.text(x + 30 * k, y + 130, f"{128 << k}")
    pdf.output(str(tmp_path / "panels.pdf"))
    text = parse_file(tmp_path / "panels.pdf", "panels").text
    at = [text.find(f"({tag}) Forward pass") for tag in "abcdef"]
    assert -1 not in at and at == sorted(at)


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


LAYERED = ["The pelican partitioner splits a model graph at the edges with the smallest",
           "activation tensors, which cuts pipeline communication by 41 percent. Operator fusion",
           "merges adjacent kernels so that intermediate tensors stay in registers. The scheduler",
           "assigns each stage of the model to one accelerator in the pipeline. Data layout",
           "transformations change the order of tensor dimensions in memory for the kernels."]
OCR_LAYER = [  # (x, y, text) of an OCR layer over LAYERED: hyphenated and misread in places
    (72, 100, "The pelican parti-"),
    (170, 100, "tioner splits a model graph at the edges with the srnallest"),
    (72, 114, "activation tensors, which cuts pipeline cornmunication by 41 percent. Operator fusion"),
    (72, 128, "merges adja-"),
    (150, 128, "cent kernels so that intermediate tensors stay in registers. The scheduler"),
    (72, 142, "assigns each stage of the model to one accelerator in the pipeline. Data layout"),
    (72, 156, "transformations change the order of tensor dimensions in mernory for the kernels.")]


def _doubled(path: Path, variant: str) -> Path:
    """LAYERED's lines drawn visibly, with an invisible copy (render mode 3) of one `variant`:
    "offset" (7 points right and down: more than half a line off), "some-lines" (every other
    line), "first" (the invisible layer written before the visible text), "alternating" (each line
    visible then invisible), "hyphenated" (an OCR layer that hyphenates and misreads letters)."""
    pdf = FPDF(format="letter", unit="pt")
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    visible = [(72, 100 + 14 * i, line) for i, line in enumerate(LAYERED)]
    invisible = {"offset": [(x + 7, y + 7, t) for x, y, t in visible],
                 "some-lines": visible[::2], "first": visible, "alternating": visible,
                 "hyphenated": OCR_LAYER}[variant]
    ops = [(TextMode.FILL, op) for op in visible]
    if variant == "first":
        ops = [(TextMode.INVISIBLE, op) for op in invisible] + ops
    elif variant == "alternating":
        ops = [pair for op in visible for pair in ((TextMode.FILL, op), (TextMode.INVISIBLE, op))]
    else:
        ops += [(TextMode.INVISIBLE, op) for op in invisible]
    for mode, (x, y, text) in ops:
        pdf.text_mode = mode
        pdf.text(x, y, text)
    pdf.output(str(path))
    return path


@pytest.mark.parametrize("variant", ["offset", "some-lines", "first", "alternating", "hyphenated"])
def test_invisible_duplicates_are_dropped_whatever_their_shape(tmp_path, variant):
    text = " ".join(parse_file(_doubled(tmp_path / "doubled.pdf", variant), "doubled").text.split())
    assert text.count("pelican") == 1, text
    assert " ".join(LAYERED) in text
    for ocr_only in ("srnallest", "cornmunication", "parti-", "adja-", "mernory"):
        assert ocr_only not in text


def test_invisible_text_that_differs_is_kept(tmp_path):
    """Invisible text over visible text that says something else (a hidden note) is not a copy."""
    pdf = FPDF(format="letter", unit="pt")
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    for i, line in enumerate(DOUBLED):
        pdf.text(72, 86 + 14 * i, line)
    pdf.text_mode = TextMode.INVISIBLE
    pdf.text(72, 86, "Hidden note: the gannet benchmark was rerun on four spare nodes in June.")
    pdf.output(str(tmp_path / "note.pdf"))
    text = " ".join(parse_file(tmp_path / "note.pdf", "note").text.split())
    assert "the gannet benchmark was rerun on four spare nodes" in text
    assert text.count("pelican") == 1


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


@pytest.mark.parametrize(("dx", "dy"), [(0.0, 0.0), (3.0, 2.0)])
def test_a_scan_ocrd_twice_is_read_once(tmp_path, dx, dy):
    """Two invisible OCR layers over a scan (OCR run again on an OCR'd file), at the same place or a
    few points off, and no visible text: the second layer repeats the first and is dropped."""
    pdf = FPDF(format="letter", unit="pt")
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    pdf.text_mode = TextMode.INVISIBLE
    for layer in range(2):
        for i, line in enumerate(["Twice: A Scan Read Again", *DOUBLED]):
            pdf.text(72 + layer * dx, 100 + 14 * i + layer * dy, line)
    pdf.output(str(tmp_path / "twice.pdf"))
    text = " ".join(parse_file(tmp_path / "twice.pdf", "twice").text.split())
    assert text.count("The pelican partitioner splits a model graph") == 1
    assert "Data layout transformations change the order of tensor dimensions in memory." in text


@pytest.mark.parametrize("mark", [".", " -", ":"])  # Helvetica has no en dash: split_run_in's test
def test_run_in_heading_ends_at_its_first_period(tmp_path, mark):
    """The field case: "1 Introduction. Graph compilers lower a ..." is a heading and a sentence;
    so it is after a dash or a colon ("1 Introduction \u2013 Graph compilers lower a" was no heading)."""
    lines = [line.replace("1 Introduction.", "1 Introduction" + mark) for line in RUN_IN]
    doc = parse_file(_page(tmp_path / "gutter.pdf", "Gutter: A Study of Kernel Fusion", lines), "gutter")
    titles = [s.title for s in doc.sections]
    assert "1 Introduction" in titles
    intro = next(s for s in doc.sections if s.title == "1 Introduction")
    assert doc.text[intro.start : intro.end].startswith("Graph compilers lower a model into kernels")


# the heading's line of a narrow column, its sentence starting in ways a title never goes on
RUN_IN_STARTS = ["Deep Neural Networks (DNNs)", "Large Language Models (LLMs) are",
                 "3D convolutions dominate the", "cuDNN provides tuned kernels",
                 "\"Graph compilers\" lower a model"]


@pytest.mark.parametrize("start", RUN_IN_STARTS)
def test_run_in_heading_whatever_its_sentence_starts_with(tmp_path, start):
    """A run-in heading's sentence that starts with a term and its initials, a number, a name in
    mixed case or a quote is body text, not part of the title (nor is the heading lost)."""
    lines = [line.replace("Graph compilers lower a", start) for line in RUN_IN]
    doc = parse_file(_page(tmp_path / "start.pdf", "Gutter: A Study of Kernel Fusion", lines), "start")
    assert [s.title for s in doc.sections if s.title.startswith("1")] == ["1 Introduction"]
    intro = next(s for s in doc.sections if s.title == "1 Introduction")
    assert doc.text[intro.start : intro.end].startswith(start)


@pytest.mark.parametrize("gap", [0.0, 2.5])
def test_bold_run_in_heading_set_close_to_its_sentence(tmp_path, gap):
    """A bold "1 Introduction." and its regular sentence drawn as two pieces of one line, so close
    that PDFium puts no space between them ("1 Introduction.Graph compilers ...")."""
    pdf = FPDF(format="letter", unit="pt")
    pdf.add_page()
    pdf.set_font("Helvetica", size=14)
    pdf.text(72, 60, "Gutter: A Study of Kernel Fusion")
    for i, line in enumerate(RUN_IN):
        y = 100 + 14 * i
        if line.startswith("1 Introduction."):
            pdf.set_font("Helvetica", "B", 10)
            pdf.text(72, y, "1 Introduction.")
            width = pdf.get_string_width("1 Introduction.")
            pdf.set_font("Helvetica", size=10)
            pdf.text(72 + width + gap, y, line.removeprefix("1 Introduction. "))
        else:
            pdf.set_font("Helvetica", size=10)
            pdf.text(72, y, line)
    pdf.output(str(tmp_path / "bold.pdf"))
    doc = parse_file(tmp_path / "bold.pdf", "bold")
    intro = next(s for s in doc.sections if s.title == "1 Introduction")
    assert doc.text[intro.start : intro.end].startswith("Graph compilers lower a model")


@pytest.mark.parametrize("line, expected", [
    ("1 Introduction. Graph compilers lower a", ("1 Introduction", "Graph compilers lower a")),
    ("3.2 Weak Scaling. We evaluate the scaling of", ("3.2 Weak Scaling", "We evaluate the scaling of")),
    ("2.1 Motivation. We", None),  # one word: no sentence to tell
    ("1 Introduction. Graph compilers", ("1 Introduction", "Graph compilers")),  # a narrow column
    ("3 METHOD. We describe the planner and", ("3 METHOD", "We describe the planner and")),
    ("2 Background: Tensor compilers lower a model", ("2 Background", "Tensor compilers lower a model")),
    ("2.1 Motivation \u2014 We study the cost of moving", ("2.1 Motivation", "We study the cost of moving")),
    ("4.1 Setup: Models and datasets", None),  # a subtitle
    ("4.1 Setup - Models and datasets", None),
    # a narrow column's line that runs on (it ends on "a", "are"): a sentence, however short
    ("1 Introduction \u2013 Graph compilers lower a", ("1 Introduction", "Graph compilers lower a")),
    ("1 Introduction - Graph compilers lower a", ("1 Introduction", "Graph compilers lower a")),
    ("2 Background: Tensor programs are", ("2 Background", "Tensor programs are")),
    ("4 Case Study: Transformer Models", None),
    ("3.6 Summary: The Lifetime of a Glow", None),  # a title, small words in lower case
    ("2. Hiding softmax under asynchronous block-wise GEMMs: We overlap the", None),  # a list item
    ("II. Background. Tensor programs are written", ("II. Background", "Tensor programs are written")),
    ("Acknowledgments. We thank the reviewers", ("Acknowledgments", "We thank the reviewers")),
    ("5.3.1 Weak Scaling. We evaluate the scaling of", None),  # deeper run-ins stay body text
    ("1 Introduction", None),  # no run-in
    ("2 Results. See Table 3", None),  # the rest is too short to be a sentence
    ("4 Comparison with J. Smith and others", None),  # an initial, not the heading's end
    ("Operator fusion. We merge adjacent kernels", None),  # a paragraph heading, not a section
    # sentences that start with a term and its initials, a number, a mixed-case name, a quote
    ("1 Introduction. Deep Neural Networks (DNNs)", ("1 Introduction", "Deep Neural Networks (DNNs)")),
    ("1 Introduction. 3D convolutions dominate the", ("1 Introduction", "3D convolutions dominate the")),
    ("2 Background. cuDNN provides tuned kernels", ("2 Background", "cuDNN provides tuned kernels")),
    ("1 Introduction. \u201cGraph compilers\u201d lower a",
     ("1 Introduction", "\u201cGraph compilers\u201d lower a")),
    ("1 Introduction.Graph compilers lower a", ("1 Introduction", "Graph compilers lower a")),  # no space
    ("2 Background. GPUs and TPUs", None),  # acronyms alone: no sign of a sentence
    ("2.1 Ops vs. Kernels. We compare the two", ("2.1 Ops vs. Kernels", "We compare the two")),
    ("3.2 Node.js Runtime", None),
])
def test_split_run_in(line, expected):
    from paperdojo.library.parse.headings import split_run_in

    assert split_run_in(line) == expected


def test_answer_never_quotes_a_sentence_twice():
    sentence = "The pelican partitioner splits a model graph at the edges with the smallest tensors."
    passages = [sentence + " It cuts pipeline communication by 41 percent overall.", sentence]
    sents = [c.text for c in candidates(passages)]
    assert sents.count(sentence) == 1
