"""The Library tab says what to do: a summary, failures grouped by cause, an offline hint for this home."""

from __future__ import annotations

from conftest import make_settings

from paperdojo.app.library import summary_text
from paperdojo.library.ingest import DocStatus

DNS = "download failed: [Errno -2] Name or service not known"


def test_summary_groups_failures_and_names_this_home(tmp_path):
    settings = make_settings(tmp_path / "my-home")
    papers = [DocStatus(f"p{i}", f"Paper {i}", "c", "reading list", "failed", DNS) for i in range(15)]
    papers += [DocStatus("bad", "Bad", "c", "upload", "failed", "not a PDF: <b>x</b>"),
               DocStatus("ok", "Ok", "c", "upload", "indexed"), DocStatus("m", "M", "c", "list", "missing")]
    text = summary_text(papers, settings)
    assert "1 indexed · 16 failed · 1 missing" in text
    assert text.count("Name or service") == 0  # 15 identical rows become one plain line
    assert "15 failed" in text and "no network: upload the PDFs here, or drop them at" in text
    assert str(settings.pdf_dir).replace("_", "&#95;") in text  # this home's folder, escaped
    assert "1 failed (bad): not a PDF: &#60;b&#62;x" in text
