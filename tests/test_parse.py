"""Parsing our own small PDFs, where we know every page, heading and line."""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium
import pytest
from helpers import make_pdf

from paperdojo.library.parse import (
    HeadingDetector,
    ParseError,
    clean_line,
    is_arxiv_stamp,
    parse_file,
    strip_running_lines,
)

PAGES = [
    [("h", "Pipelines for Testing Compilers"), "Grace Hopper, Test University",
     "arXiv:2201.12023v3 [cs.LG] 28 Jun 2022",
     ("h", "Abstract"), "We present a compiler that partitions graphs across devices.",
     "It is evaluated on three workloads.",
     ("h", "1 Introduction"), "Large models need many devices. The compu-",
     "tation is split into stages. We call this a pipeline-",
     "parallel schedule, and pipeline-parallel training is common."],
    [("h", "2 Method"), "Our method has two passes.",
     ("h", "2.1 Intra-op pass"), "The intra-op pass shards each operator across a mesh.",
     "Table 1 Skip rows that look like headings",
     ("h", "2.2 Inter-op pass"), "The inter-op pass slices the graph into stages."],
    [("h", "3 Evaluation"), "The evaluation shows a speedup of 3.5x on eight GPUs.",
     ("h", "References"), "[1] A. Author. Pipelines. 2019.", "[2] B. Author. Meshes. 2020."],
]


@pytest.fixture
def doc(tmp_path: Path):
    return parse_file(make_pdf(tmp_path / "p.pdf", PAGES), "p", "")


def test_sections_pages_and_kinds(doc):
    got = [(s.title, s.kind, doc.page_at(s.start)) for s in doc.sections]
    assert got == [
        ("Front matter", "front", 1),
        ("Abstract", "abstract", 1),
        ("1 Introduction", "body", 1),
        ("2 Method", "body", 2),
        ("2.1 Intra-op pass", "body", 2),
        ("2.2 Inter-op pass", "body", 2),
        ("3 Evaluation", "body", 3),
        ("References", "references", 3),
    ]


def test_cleaning(doc):
    assert "Proc. of the Test Conf" not in doc.text  # running header, on every page
    assert "arXiv:2201" not in doc.text  # the side stamp
    assert "computation is split" in doc.text  # hyphenated across lines, joined
    assert "pipeline-parallel schedule" in doc.text  # a real hyphen (seen elsewhere) kept
    assert "Table 1 Skip rows" in doc.text  # not taken for a heading ("1" does not follow "2.1")
    assert doc.abstract.startswith("We present a compiler")
    assert doc.title == "Pipelines for Testing Compilers"


def test_page_offsets_cover_the_text(doc):
    assert [p.number for p in doc.pages] == [1, 2, 3]
    assert doc.pages[0].start == 0 and doc.pages[-1].end == len(doc.text)
    assert "intra-op pass shards" in doc.page_text(2)
    assert "speedup of 3.5x" in doc.page_text(3)
    assert doc.page_at(doc.text.index("inter-op pass slices")) == 2


def test_title_from_metadata(tmp_path):
    path = make_pdf(tmp_path / "m.pdf", PAGES, title_meta="Metadata Title of the Paper")
    assert parse_file(path, "m").title == "Metadata Title of the Paper"
    assert parse_file(path, "m", "Given Title").title == "Given Title"


@pytest.mark.parametrize("first", [("h", "Abstract"), ("h", "1 Introduction"), "ABSTRACT."])
def test_a_page_that_starts_with_a_section_has_no_title(tmp_path, first):
    """No metadata and no title line: "Abstract" is no title (it became the paper's title and id)."""
    from paperdojo.library.parse import pdf_file_title

    body = "The pelican partitioner splits a model graph at the edges with the smallest tensors."
    path = make_pdf(tmp_path / "untitled-notes.pdf", [[first, body]], header=None)
    assert pdf_file_title(path) == ""


def test_title_from_the_largest_type(tmp_path):
    """No metadata: the first block of the first page's largest type, the arXiv stamp aside; a short
    capitalized second line ("Parameter Models") is part of it, the author line after it is not."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.add_page()
    for size, text in [(20, "arXiv:1910.02054v3 [cs.LG] 13 May 2020"),
                       (17, "ZeRO: Memory Optimizations Toward Training Trillion"), (17, "Parameter Models"),
                       (11, "Samyam Rajbhandari, Example University"), (12, "Abstract"),
                       (10, "We shard optimizer states, gradients and parameters across ranks.")]:
        pdf.set_font("Helvetica", size=size)
        pdf.cell(0, size * 0.6, text, new_x="LMARGIN", new_y="NEXT")
    path = tmp_path / "zero.pdf"
    pdf.output(str(path))
    title = "ZeRO: Memory Optimizations Toward Training Trillion Parameter Models"
    assert parse_file(path, "zero").title == title


def test_clean_line_ligatures_and_controls():
    assert clean_line("e\ufb03cient \ufb01rst  \ufb02ow\x00") == "efficient first flow"
    assert clean_line("\U0001d465 = 1") == "x = 1"  # math italic x


def test_arxiv_stamp_both_directions():
    stamp = "arXiv:2309.06180v1 [cs.LG] 12 Sep 2023"
    assert is_arxiv_stamp(stamp) and is_arxiv_stamp(stamp[::-1])
    assert not is_arxiv_stamp("see arXiv:2309.06180 for details")


def test_running_lines_need_repetition():
    pages = [["Header X", f"body {i}", "more", str(i)] for i in range(1, 6)]
    pages[2].insert(1, "Header Y once")
    out = strip_running_lines(pages)
    assert all("Header X" not in p for p in out)
    assert all(str(i) not in p for i, p in enumerate(out, 1))
    assert "Header Y once" in out[2]
    # a two-page paper (an extended abstract, the page-spanning case) has running lines too
    two = strip_running_lines([["Proc. of the Test Conf. 2024", "The planner orders", "1"],
                               ["Proc. of the Test Conf. 2024", "allocations by size.", "2"]])
    assert two == [["The planner orders"], ["allocations by size."]]
    assert strip_running_lines([["Only page", "text"]]) == [["Only page", "text"]]


def test_heading_numbering_must_follow():
    d = HeadingDetector()
    assert d.heading("1 Introduction")
    assert d.heading("3 Skip one is allowed")
    assert d.heading("3.1 Design")
    assert d.heading("1 Skip ¬IsStrictInlinable(S, i)") is None
    assert d.heading("2 AWS, 3 Shanghai Jiao Tong University, 4 Cornell") is None
    assert d.heading("8 GPUs, the model is large") is None
    assert d.heading("3.2 There-") is None  # a footnote "3" whose word runs on to the next line
    assert d.heading("3.2 Reduction Factorization HasMoreReductionParallel(S,i) S") is None  # a table row
    assert d.heading("3.2 Intra-op pass") == ("3.2 Intra-op pass", "body")
    assert d.heading("REFERENCES") == ("REFERENCES", "references")


def test_section_numbers_keep_the_papers_style():
    """A numbered list item of the introduction written "3. ..." is no section of a paper whose
    sections are numbered "1 Introduction" (SARATHI's contribution list took the place of its
    "2 Background" and "3 Motivation"); a paper numbering "1. Introduction" keeps that style."""
    d = HeadingDetector()
    assert d.heading("1 Introduction")
    assert d.heading("3. Application of Chunked Prefills") is None
    assert d.heading("2 Background") == ("2 Background", "body")
    assert d.heading("2.1 Transformer Architecture")
    assert d.heading("3 Motivation") == ("3 Motivation", "body")
    dotted = HeadingDetector()
    assert dotted.heading("1. Introduction")
    assert dotted.heading("2 Skipped Numbers Written Otherwise") is None
    assert dotted.heading("1.1 Contributions")
    assert dotted.heading("2. Method") == ("2. Method", "body")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"<!DOCTYPE html><html><body>Please log in</body></html>", "HTML page where a PDF"),
        (b"%PDF-1.7\n1 0 obj garbage", "cut short"),
        (b"%PDF-1.4\ngarbage garbage garbage\n%%EOF\n", "broken PDF"),
        (b"PK\x03\x04 a zip file", "not a PDF"),
        # what a file uploaded by mistake is, in words (it once said "starts with b'hello\\n'")
        (b"hello\nthis is my notes file\n", "not a PDF: the file is plain text \\(it starts .hello this is"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a PDF: the file is a PNG image"),
        (b"\x00\x01\x02\xfe\xff\x10\x20\x30", "not a PDF: the file starts with the bytes 00 01 02 fe"),
    ],
)
def test_bad_files_say_why(tmp_path, content, reason):
    path = tmp_path / "bad.pdf"
    path.write_bytes(content)
    with pytest.raises(ParseError, match=reason):
        parse_file(path, "bad")


def test_pypdf_reads_what_pdfium_refuses(tmp_path, monkeypatch):
    """PDFium does the extraction; a file it cannot open goes to pypdf, with the same result."""
    path = make_pdf(tmp_path / "p.pdf", PAGES)
    by_pdfium = parse_file(path, "p")

    def refuse(*args, **kwargs):
        raise pdfium.PdfiumError("Failed to load document (PDFium: Data format error).")

    monkeypatch.setattr(pdfium, "PdfDocument", refuse)
    by_pypdf = parse_file(path, "p")
    assert [s.title for s in by_pypdf.sections] == [s.title for s in by_pdfium.sections]
    assert by_pypdf.text.split() == by_pdfium.text.split()
    assert [p.start for p in by_pypdf.pages] == [p.start for p in by_pdfium.pages]


def test_encrypted_pdf(tmp_path):
    path = make_pdf(tmp_path / "enc.pdf", PAGES, encrypt="secret")
    with pytest.raises(ParseError, match="encrypted PDF"):
        parse_file(path, "enc")


def test_image_only(tmp_path):
    only_images = make_pdf(tmp_path / "img.pdf", [[("rect", "")], [("rect", "")]], header=None)
    with pytest.raises(ParseError, match="image-only"):
        parse_file(only_images, "img")
    mixed = make_pdf(tmp_path / "mixed.pdf", [PAGES[0], [("rect", "")], PAGES[2]], header=None)
    doc = parse_file(mixed, "mixed")
    assert any("page(s) 2" in w for w in doc.warnings)
    assert doc.page_text(3).count("speedup") == 1


def test_html_and_markdown(tmp_path):
    page = tmp_path / "post.html"
    page.write_text("<html><head><title>Triton MLIR</title><script>var x=1;</script></head><body>"
                    "<nav>Home | About</nav><h1>Triton intro</h1><p>Triton lowers blocks to MLIR.</p>"
                    "<h2>Layouts</h2><p>Blocked layouts map threads to elements.</p></body></html>")
    doc = parse_file(page, "post")
    assert doc.title == "Triton MLIR"
    assert [s.title for s in doc.sections] == ["Triton intro", "Layouts"]
    assert "var x" not in doc.text and "Home | About" not in doc.text
    readme = tmp_path / "README.md"
    readme.write_text("# TPU-MLIR\n\nA compiler for TPUs.\n\n```\ncode here\n```\n## Build\n"
                      "Run [the script](build.sh) to build.\n")
    doc = parse_file(readme, "readme")
    assert [s.title for s in doc.sections] == ["TPU-MLIR", "Build"]
    assert "Run the script to build." in doc.text and "code here" not in doc.text


def test_a_line_ending_on_and_or_both_goes_on(tmp_path):
    """A numbered list item that breaks after "both" is body text, not section 3; a heading that
    wraps after "of" is one heading with both its lines."""
    pages = [[("h", "1 Introduction"), "We lower a graph in four steps:",
              "1. The graph is loaded from its file format.", "2. The graph is differentiated.",
              "3. Extra rounds of rewriting run, both",
              "target independent and target specific.",
              ("h", "2 Scheduling of Kernels and"), ("h", "Memory Transfers"),
              "The scheduler overlaps each copy with the kernel before it."]]
    doc = parse_file(make_pdf(tmp_path / "lists.pdf", pages), "lists", "")
    titles = [s.title for s in doc.sections]
    assert titles == ["Front matter", "1 Introduction",
                      "2 Scheduling of Kernels and Memory Transfers"], titles
    assert "run, both target independent and target specific." in " ".join(doc.text.split())
