"""A long-lived Workspace follows the index: a paper ingested from a shell is found without a restart."""

from __future__ import annotations

import shutil

from conftest import make_settings
from helpers import PIPE, make_pdf

from paperdojo.library.ingest import ingest
from paperdojo.workspace import Workspace


def test_ingest_while_serving_switches_generation(shared, embedder, tmp_path):
    """ingest-while-serving/otter.pdf added by another process's ingest while the app serves."""
    settings = make_settings(tmp_path)
    settings.reading_list.write_text("")
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    make_pdf(first / "pipe.pdf", PIPE, title_meta="Pipe: Pipeline Stages")
    ingest(settings, [first], embedder=embedder)
    ws = Workspace(settings)
    ws.embedder = embedder
    old = ws.answerer()
    old_generation = ws.generation
    assert "1 papers" in ws.status()[1]
    question = "What does the otter compiler lower attention blocks into?"
    assert old.answer(question).refused  # nobody has heard of otter yet

    shutil.copyfile(shared / "cases" / "ingest-while-serving" / "otter.pdf", second / "otter.pdf")
    ingest(make_settings(tmp_path), [first, second], embedder=embedder)  # "a shell", not ws.run_ingest

    ans = ws.answerer().answer(question)
    assert ws.generation != old_generation
    assert not ans.refused and "otter" in {s.chunk.doc_id for s in ans.cited}, ans.text
    assert "2 papers" in ws.status()[1]  # the header counts the generation that answers
    assert {p.id: p.status for p in ws.papers()}.get("otter") == "indexed"  # so does the Library
    assert old.answer("How are pipeline stages placed?").sources  # the old one still works on its own


def test_read_only_workspace_refuses_every_index_write(tmp_path):
    """app.py --read-only: add, rebuild and watch are refused with how to update, and nothing is written."""
    import pytest

    from paperdojo.library import store

    settings = make_settings(tmp_path / "home", app_read_only=True)
    ws = Workspace(settings)
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    make_pdf(pdfs / "pipe.pdf", PIPE, title_meta="Pipe: Pipeline Stages")
    for write in (lambda: ws.add(str(pdfs / "pipe.pdf")), lambda: ws.run_ingest([pdfs]),
                  lambda: ws.start_watching([pdfs])):
        with pytest.raises(store.IndexBusy, match="read-only.*paperdojo ingest"):
            write()
    assert not settings.home.exists()  # no index, no catalog, no watched-folders file
