"""Scanned pages are read: a PDF of images only (rendered text, no text layer) is OCR'd offline,
its passages marked as OCR in their provenance, and a question about it is answered from the
right page."""

from __future__ import annotations

import pypdfium2 as pdfium
import pytest
from helpers import make_scanned_pdf

from paperdojo.answering.answer import Answerer
from paperdojo.answering.retrieve import Retriever
from paperdojo.cli.output import print_answer
from paperdojo.library import store
from paperdojo.library.ingest import ingest
from paperdojo.library.parse import ParseError, parse_file
from paperdojo.settings import Settings

pytest.importorskip("rapidocr_onnxruntime")

KEY = "The marten allocator cuts peak memory by 29 percent on the benchmark."
PAGES = [
    ["Scanned Notes on Kernel Scheduling", "",
     "1 Introduction", "The okapi scheduler assigns each layer to the fastest device.",
     "It was designed for clusters of mixed accelerators."],
    ["2 Memory", "The marten allocator reuses freed buffers within one training step.", KEY,
     "Buffers are grouped by size so that reuse is found quickly."],
]


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    root = tmp_path_factory.mktemp("scan")
    pdfs = root / "pdfs"
    pdfs.mkdir()
    return make_scanned_pdf(pdfs / "scanned-notes.pdf", PAGES)


def test_image_only_pdf_has_no_text_layer(scanned):
    doc = pdfium.PdfDocument(scanned)
    assert all(not doc[i].get_textpage().get_text_range().strip() for i in range(len(doc)))


def test_scanned_pdf_is_answered_from_the_right_page(scanned, tmp_path, embedder, capsys):
    settings = Settings(home=tmp_path / "home", reading_list=tmp_path / "papers.toml", parse_workers=0)
    settings.reading_list.write_text("")
    seen = []
    report = ingest(settings, [scanned.parent], embedder=embedder,
                    progress=lambda stage, done, total, what: seen.append(what))
    assert report.count("indexed") == 1, report.docs
    status = report.docs[0]
    assert any("read by OCR" in w for w in status.warnings)
    assert any("2 page(s) read by OCR" in what for what in seen), seen
    index = store.load_index(settings.index_dir)
    assert index.chunks and all(c.ocr for c in index.chunks)
    answerer = Answerer(Retriever(index, embedder), k=4)
    answer = answerer.answer("By how much does the marten allocator cut peak memory?")
    assert not answer.refused
    assert "29 percent" in answer.text
    quoted = [s for s in answer.cited if "29 percent" in s.chunk.text]
    assert quoted and quoted[0].chunk.page_start == 2 and quoted[0].url.endswith("#page=2")
    print_answer(answer)
    assert "p. 2 (OCR)" in capsys.readouterr().out


def test_ocr_can_be_turned_off(scanned, monkeypatch):
    monkeypatch.setenv("PAPERDOJO_OCR", "0")
    assert Settings().ocr is False
    with pytest.raises(ParseError, match="OCR is off"):
        parse_file(scanned, "scan", ocr=False)
