"""The Library tab says what to do: a summary, failures grouped by cause, an offline hint for this home."""

from __future__ import annotations

from pathlib import Path

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
    # the home's paths: a paragraph of their own, not glued to the last failure ("... <id>.pdf This home")
    assert text.split("\n\n")[-1].startswith("<sub>This home: "), text


def test_refusal_sections_render_as_emphasis_whatever_their_text():
    """Section names in a refusal are emphasized with HTML, so a name that starts with a number, ends
    in a space or holds `*` cannot leave a stray "*4.1" in the chat (Markdown emphasis did)."""
    from paperdojo.answering.answer import Answer
    from paperdojo.answering.retrieve import SectionHit
    from paperdojo.app.common import answer_markdown

    ans = Answer("q", "q", "The papers in your library do not cover this.", [], refused=True)
    ans.nearest = [SectionHit("d", "Doc", "4.1 Placement for *Cluster* ", 7, 7, 0.5, "", []),
                   SectionHit("e", "Doc <b>", "", 2, 2, 0.4, "", [])]
    md = answer_markdown(ans)
    assert "<em>4.1 Placement for &#42;Cluster&#42;</em>, p. 7" in md
    assert "- Doc &#60;b&#62;, p. 2" in md
    assert "*4.1" not in md and "<b>" not in md


def test_short_titles_cut_at_the_subtitle_not_at_any_colon():
    """Source labels shorten "Name: subtitle" to "Name", but a colon inside a link or a ratio is kept."""
    from paperdojo.app.common import choices

    def record(n: int, title: str) -> dict:
        return {"n": n, "title": title, "section": "2 Design", "page": 3, "page_last": 3, "ocr": False}

    labels = choices([record(1, "Sparrow: Fast Sparse Kernels"),
                      record(2, "Tiles at 16:9 for <a href='https://x.org'>GPUs</a>"),
                      record(3, "Ratio:Free Scheduling")])
    assert labels[0].startswith("[1] Sparrow — 2 Design")
    assert labels[1].startswith("[2] Tiles at 16:9 for <a href='https://x.org'>GPUs</a> — ")
    assert labels[2].startswith("[3] Ratio:Free Scheduling — ")


def test_failure_reasons_name_the_retry_button_not_the_cli(tmp_path):
    """A download's reason says `paperdojo ingest --retry`; beside a Retry button and an upload box
    the Library says "press Retry" and "upload it above" instead, and keeps the CLI's words only
    on a read-only server (no button there)."""
    import pytest
    from helpers import free_port

    from paperdojo.app.library import in_app_words
    from paperdojo.library.fetch import FetchError, download, make_client
    from paperdojo.library.sources import Plan

    settings = make_settings(tmp_path / "home")
    with make_client(settings) as client, pytest.raises(FetchError) as failed:  # nothing listens there
        download(Plan("pdf", f"http://127.0.0.1:{free_port()}/a.pdf"), "doc", settings, client)
    reason = str(failed.value)
    assert "`paperdojo ingest --retry`" in reason  # the CLI's words, where they are right
    shown = in_app_words(reason, False)
    assert "paperdojo ingest" not in shown and "press Retry" in shown
    assert in_app_words("a landing page; drop it at /h/doc.pdf", False) == \
        "a landing page; upload it above or drop it at /h/doc.pdf"
    assert in_app_words(reason, True) == reason
    papers = [DocStatus("doc", "Doc", "c", "link", "failed", reason)]
    assert "press Retry" in summary_text(papers, settings) and "--retry" not in summary_text(papers, settings)
    assert "--retry" in summary_text(papers, settings, read_only=True)
    moved = ("download failed: cannot connect ([Errno -2] Name or service not known) to "
             "http://gone.invalid/x, where http://127.0.0.1/a redirects: open the link in a browser")
    assert "no network" not in summary_text([DocStatus("m", "M", "c", "link", "failed", moved)], settings)


def test_an_upload_keeps_its_name_for_an_untitled_paper(tmp_path):
    """An untitled PDF uploaded twice under its own name: each staged copy keeps the name (in a folder
    of its own), so the paper's id and shown title come from it; the staged name had a random suffix
    that went into both ("smith-2020-notes-b6mkccp9")."""
    from helpers import make_pdf

    from paperdojo.app.library import stage_upload
    from paperdojo.library import ingest
    from paperdojo.workspace import Workspace

    settings = make_settings(tmp_path / "home")
    settings.home.mkdir()
    settings.reading_list.write_text("")
    (tmp_path / "gradio").mkdir()
    upload = make_pdf(tmp_path / "gradio" / "Smith 2020 notes.pdf",
                      [[("h", "Abstract"), "The kiwi sharder splits embedding tables across hosts."]],
                      header=None)
    ws = Workspace(settings)
    first, second = Path(stage_upload(upload, ws)), Path(stage_upload(upload, ws))
    assert first.name == second.name == "Smith 2020 notes.pdf" and first != second
    assert first.read_bytes() == upload.read_bytes() == second.read_bytes()
    paper = ingest.add_source(settings, str(first))
    assert paper.id == "smith-2020-notes"
    odd = tmp_path / "gradio" / "<img src=x> [evil](javascript:x).pdf"
    odd.write_bytes(upload.read_bytes())
    assert Path(stage_upload(odd, ws)).name == "<img src=x> [evil](javascript:x).pdf"


def test_reuploading_an_indexed_pdf_says_once_it_is_already_indexed(tmp_path):
    """The same PDF uploaded twice: the second time one plain line, "Already indexed as <title>", not
    "<title>: indexed (2 passages) · already in the library as ...: indexed"."""
    from helpers import make_pdf

    from paperdojo.app import library
    from paperdojo.workspace import Workspace

    settings = make_settings(tmp_path / "home")
    settings.home.mkdir(parents=True)
    settings.reading_list.write_text("")
    ws = Workspace(settings)
    upload = make_pdf(tmp_path / "My Paper.pdf", [[("h", "Abstract"), "Zanzibarquux tiling packs tensors.",
                                                   ("h", "1 Introduction"),
                                                   "The zanzibarquux layout avoids conflicts."]],
                      header=None, title_meta="Zanzibarquux: Swizzled Tensor Tiles")

    def progress(*_: object, **__: object) -> None:
        return None

    first = library.add(ws, "", None, str(upload), progress)[1]
    assert "indexed" in first and "already" not in first.lower()
    again = library.add(ws, "", None, str(upload), progress)[1]
    assert again.startswith("Already indexed as <strong>Zanzibarquux: Swizzled Tensor Tiles</strong>"), again
    assert again.lower().count("already") == 1 and again.count("indexed") == 1
    assert "nothing was added" in again
    assert len([d for d in ws.papers() if d.status == "indexed"]) == 1
