"""A long-lived Workspace follows the index: a paper ingested from a shell is found without a restart."""

from __future__ import annotations

import shutil
import threading
import time

from conftest import make_settings
from helpers import PIPE, make_pdf

from paperdojo.library.ingest import ingest
from paperdojo.workspace import Workspace


def _serving_pipe(tmp_path, embedder):  # noqa: ANN001, ANN202
    """A home with PIPE ingested from tmp_path/first, and a Workspace serving it: (settings, ws)."""
    settings = make_settings(tmp_path)
    settings.reading_list.write_text("")
    first = tmp_path / "first"
    first.mkdir()
    make_pdf(first / "pipe.pdf", PIPE, title_meta="Pipe: Pipeline Stages")
    ingest(settings, [first], embedder=embedder)
    ws = Workspace(settings)
    ws.embedder = embedder
    return settings, ws


def test_ingest_while_serving_switches_generation(shared, embedder, tmp_path):
    """ingest-while-serving/otter.pdf added by another process's ingest while the app serves."""
    settings, ws = _serving_pipe(tmp_path, embedder)
    second = tmp_path / "second"
    second.mkdir()
    old = ws.answerer()
    old_generation = ws.generation
    assert "1 paper," in ws.status()[1]
    question = "What does the otter compiler lower attention blocks into?"
    assert old.answer(question).refused  # nobody has heard of otter yet

    shutil.copyfile(shared / "cases" / "ingest-while-serving" / "otter.pdf", second / "otter.pdf")
    # "a shell", not ws.run_ingest
    ingest(make_settings(tmp_path), [tmp_path / "first", second], embedder=embedder)

    ans = ws.answerer().answer(question)
    assert ws.generation != old_generation
    assert not ans.refused and "otter" in {s.chunk.doc_id for s in ans.cited}, ans.text
    assert "2 papers" in ws.status()[1]  # the header counts the generation that answers
    assert {p.id: p.status for p in ws.papers()}.get("otter") == "indexed"  # so does the Library
    assert old.answer("How are pipeline stages placed?").sources  # the old one still works on its own


def test_a_reader_arriving_during_a_switch_gets_the_new_generation(shared, embedder, tmp_path):
    """After a shell's ingest, a browser's page load asks for the header, filters and Library while
    its first question comes: whoever comes while another thread loads the newer generation waits
    for it rather than getting the old one (answer and counts from two generations otherwise)."""
    settings, ws = _serving_pipe(tmp_path, embedder)
    before = ws.view()
    second = tmp_path / "second"
    second.mkdir()
    shutil.copyfile(shared / "cases" / "ingest-while-serving" / "otter.pdf", second / "otter.pdf")
    ingest(make_settings(tmp_path), [tmp_path / "first", second], embedder=embedder)
    loading = threading.Event()

    def another_reader_loading() -> None:  # holds the loader as a reader loading the switch does
        with ws._loading:
            loading.set()
            time.sleep(0.5)

    other = threading.Thread(target=another_reader_loading)
    other.start()
    loading.wait()
    view = ws.view()
    answer = ws.answerer().answer("What does the otter compiler lower attention blocks into?")
    other.join()
    assert view.generation == ws.live_generation() != before.generation
    assert "otter" in {d.id for d in view.indexed} and "2 papers" in view.message
    assert not answer.refused and "otter" in {s.chunk.doc_id for s in answer.cited}


def test_shell_add_reaches_every_reader_view_from_one_generation(shared, embedder, tmp_path):
    """ingest-while-serving with `paperdojo add` (ingest.add) from another process: the header,
    filters, Library rows and counts, interview topics, texts and manifest all come from the newest
    generation, read from one answerer; a view taken before keeps showing its own generation."""
    from paperdojo.app.common import filter_choices, status_line
    from paperdojo.app.interview import topic_choices
    from paperdojo.app.library import library_rows, summary
    from paperdojo.library.ingest import add

    _, ws = _serving_pipe(tmp_path, embedder)
    before = ws.view()
    assert before.ok and "1 paper," in before.message and before.answerer is ws.answerer()
    assert "1 indexed" in summary(ws)

    otter = shutil.copyfile(shared / "cases" / "ingest-while-serving" / "otter.pdf", tmp_path / "otter.pdf")
    added = add(make_settings(tmp_path), str(otter), embedder=embedder)  # "a shell's" paperdojo add
    assert added.status.status == "indexed", added.message
    oid = added.paper.id

    view = ws.view()
    assert view.generation != before.generation and view.generation == ws.live_generation()
    assert view.answerer is not None and view.answerer is not before.answerer
    assert view.answerer.retriever.index.path.name == view.generation
    assert {d.id: d.status for d in view.papers}[oid] == "indexed"
    assert "2 papers" in view.message and "2 papers" in status_line(ws, view)
    assert "2 indexed" in summary(ws, view) and "2 indexed" in summary(ws)  # the Library's counts
    assert oid in [row[0] for row in library_rows(ws, view) if row[3] == "indexed"]
    assert oid in [value for _, value in filter_choices(ws, view)[0]["choices"]]
    assert topic_choices(ws, view)["choices"]  # the interview draws from the new generation
    assert oid in ws.manifest()["docs"] and "otter" in ws.parsed(oid).text.lower()
    # the view taken before is a snapshot of its own generation: it never half-switches
    assert oid not in {d.id for d in before.indexed} and "1 paper," in before.message
    assert "1 indexed" in summary(ws, before)


def test_read_only_workspace_refuses_every_index_write(tmp_path):
    """app.py --read-only: add, rebuild, watch and remove are refused with how to update, and nothing
    is written."""
    import pytest

    from paperdojo.library import store

    settings = make_settings(tmp_path / "home", app_read_only=True)
    ws = Workspace(settings)
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    make_pdf(pdfs / "pipe.pdf", PIPE, title_meta="Pipe: Pipeline Stages")
    for write in (lambda: ws.add(str(pdfs / "pipe.pdf")), lambda: ws.run_ingest([pdfs]),
                  lambda: ws.start_watching([pdfs]), lambda: ws.remove("pipe")):
        with pytest.raises(store.IndexBusy, match="read-only.*paperdojo ingest"):
            write()
    assert not settings.home.exists()  # no index, no catalog, no watched-folders file


def test_shell_rebuild_category_remove_and_retry_reach_the_serving_workspace(shared, embedder, tmp_path,
                                                                              monkeypatch):
    """ingest-while-serving with the other writers a shell runs beside the app: `ingest --rebuild`
    twice (the served generation's directory is removed), `papers --set-category`, `remove`, and
    `ingest --retry --only`: each is served by the next view, and a view taken before keeps working
    on its own generation (its answerer, interview topics and Library rows)."""
    from paperdojo.app.common import filter_choices
    from paperdojo.app.interview import topic_choices
    from paperdojo.app.library import library_rows
    from paperdojo.cli import main

    settings = make_settings(tmp_path)
    settings.reading_list.write_text("")
    monkeypatch.setenv("PAPERDOJO_READING_LIST", str(settings.reading_list))
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    make_pdf(pdfs / "pipe.pdf", PIPE, title_meta="Pipe: Pipeline Stages")
    shutil.copyfile(shared / "cases" / "ingest-while-serving" / "otter.pdf", pdfs / "otter.pdf")
    ingest(settings, [pdfs], embedder=embedder)
    ws = Workspace(settings)
    ws.embedder = embedder
    before = ws.view()
    home = ["--home", str(tmp_path)]
    question = "What does the otter compiler lower attention blocks into?"

    assert main([*home, "ingest", "--rebuild", "--pdf-dir", str(pdfs)]) == 0
    assert main([*home, "ingest", "--rebuild", "--pdf-dir", str(pdfs)]) == 0
    assert not (settings.index_dir / before.generation).exists()
    assert not before.answerer.answer(question).refused  # in flight on the removed generation
    assert topic_choices(ws, before)["choices"] and library_rows(ws, before)
    rebuilt = ws.view()
    assert rebuilt.generation == ws.live_generation() != before.generation

    assert main([*home, "papers", "--set-category", "otter", "Compilers Now"]) == 0
    moved = ws.view()
    assert "Compilers Now" in filter_choices(ws, moved)[1]["choices"]
    assert "Compilers Now" not in filter_choices(ws, rebuilt)[1]["choices"]

    assert main([*home, "remove", "pipe"]) == 0
    removed = ws.view()
    assert [d.id for d in removed.indexed] == ["otter"]
    sources = ws.answerer().answer("How are pipeline stages placed?").sources
    assert "pipe" not in {s.chunk.doc_id for s in sources}

    (settings.pdf_dir / "otter.pdf").unlink()
    assert main([*home, "ingest", "--retry", "--only", "otter", "--pdf-dir", str(pdfs)]) == 0
    retried = ws.view()
    assert retried.generation != removed.generation
    assert {d.id: d.status for d in retried.papers}["otter"] == "indexed"
    assert not ws.answerer().answer(question).refused


def test_remove_takes_a_failed_add_out_of_every_view(tmp_path, embedder):
    """A bad URL added through the facade stays as a failed row; Workspace.remove takes it out of the
    catalog, the Library view and its cached files, keeps the other papers, and refuses an unknown id
    and a reading-list paper."""
    import pytest
    from helpers import free_port

    from paperdojo.library import catalog

    settings, ws = _serving_pipe(tmp_path, embedder)
    added = ws.add(f"http://127.0.0.1:{free_port()}/bad-scheduler.pdf")  # nobody listens there
    junk = added.paper.id
    assert {d.id: d.status for d in ws.view().papers}[junk] == "failed"
    (settings.pages_dir).mkdir(parents=True, exist_ok=True)
    (settings.pages_dir / f"{junk}.md").write_text("a cached page of the junk paper")

    removed = ws.remove(junk)
    assert removed.id == junk
    assert junk not in {p.id for p in catalog.load_catalog(settings)}
    view = ws.view()
    assert junk not in {d.id for d in view.papers} and [d.id for d in view.indexed] == ["pipe"]
    assert not (settings.pages_dir / f"{junk}.md").exists()
    with pytest.raises(catalog.CatalogError, match="no paper"):
        ws.remove(junk)
    settings.reading_list.write_text('[[paper]]\nid = "listed"\ntitle = "Listed"\ncategory = "C"\n'
                                     'link = "https://arxiv.org/abs/2201.12023"\n')
    with pytest.raises(catalog.CatalogError, match="reading list"):
        ws.remove("listed")
    assert "listed" in {p.id for p in catalog.load_catalog(settings)}


def test_interview_choices_come_back_per_user(tmp_path, embedder):
    """The Interview tab's chosen categories and difficulty come back on a page load (`restore`),
    each user's own; a level that is no choice (an old or hand-made value) reads as "any"."""
    from paperdojo.app.interview import DIFFICULTY, keep_categories, keep_difficulty, restore

    _, ws = _serving_pipe(tmp_path, embedder)
    topics = restore(ws, "local")[0]["choices"]
    assert topics
    keep_categories(ws, "local", topics[:1])
    keep_difficulty(ws, "local", "2")
    again = restore(ws, "local")
    assert again[0]["value"] == topics[:1] and again[1]["value"] == "2"
    assert restore(ws, "bob")[1]["value"] == "any"  # another user's choice is not theirs
    ws.progress("local").set_preference(DIFFICULTY, "7")
    assert restore(ws, "local")[1]["value"] == "any"


def test_the_live_status_reads_the_newest_generation_without_loading_it(shared, embedder, tmp_path):
    """The header a page shows the moment it loads (Workspace.live_status): the counts of the
    generation a shell's ingest just wrote, from its manifest, before the workspace loads it; the
    same sentence the loaded view gives once it has."""
    settings, ws = _serving_pipe(tmp_path, embedder)
    assert ws.live_status() == ws.view().message and ws.live_status().startswith("1 paper,")
    served = ws.generation
    second = tmp_path / "second"
    second.mkdir()
    shutil.copyfile(shared / "cases" / "ingest-while-serving" / "otter.pdf", second / "otter.pdf")
    ingest(make_settings(tmp_path), [tmp_path / "first", second], embedder=embedder)
    header = ws.live_status()
    assert header.startswith("2 papers,") and ws.generation == served  # nothing was loaded for it
    assert ws.view().message == header and ws.generation != served


def test_a_category_change_relabels_the_index_without_fetching_or_reindexing(tmp_path, embedder):
    """Workspace.set_category (the Library tab's and `papers --set-category`'s call) writes the
    choice and relabels the live generation: no download is tried again (a re-index retried every
    failed download: ~11 s on the 27-paper home offline), no index file is rewritten (the new
    generation's vectors are the old file, hard-linked), and the Library, the filters and the
    interview topics follow at once, for an indexed and a failed paper alike; a later ingest finds
    nothing to write."""
    import pytest
    from helpers import LocalServer, Route

    from paperdojo.answering.retrieve import Filters
    from paperdojo.app.common import filter_choices
    from paperdojo.app.interview import topic_choices
    from paperdojo.library import catalog, store

    settings, ws = _serving_pipe(tmp_path, embedder)
    with LocalServer() as srv:
        gone = srv.routes["/gone.pdf"] = Route(status=503)
        junk = ws.add(srv.url("/gone.pdf")).paper.id
        assert {d.id: d.status for d in ws.view().papers}[junk] == "failed" and gone.hits
        settings.retry_failed_after_s = 0  # a re-index would try that download again now
        tried = gone.hits
        before = ws.view()
        vectors = settings.index_dir / before.generation / "vectors.npy"
        inode = vectors.stat().st_ino
        started = time.perf_counter()
        moved = ws.set_category("pipe", "  Pipeline   drills ")
        took = time.perf_counter() - started
        ws.set_category(junk, "Someday")
        assert gone.hits == tried  # nothing fetched
    assert took < 5, took  # milliseconds here; generous for a loaded CI machine
    assert moved.category == "Pipeline drills"
    after = ws.view()
    assert after.generation != before.generation
    assert (settings.index_dir / after.generation / "vectors.npy").stat().st_ino == inode  # not rewritten
    assert {d.id: d.category for d in after.papers} == {"pipe": "Pipeline drills", junk: "Someday"}
    assert {p.id: p.category for p in catalog.load_catalog(settings)} == {"pipe": "Pipeline drills",
                                                                          junk: "Someday"}
    assert "Pipeline drills" in filter_choices(ws, after)[1]["choices"]
    assert topic_choices(ws, after)["choices"] == ["Pipeline drills"]  # the interview drills it now
    assert "Pipeline drills" not in topic_choices(ws, before)["choices"]  # the old view keeps its own
    q = "How does Pipe save activation memory across pipeline stages?"
    answer = ws.answerer().answer(q, Filters(categories={"pipeline DRILLS"}))  # the filter follows
    assert not answer.refused and {s.chunk.doc_id for s in answer.sources} == {"pipe"}
    assert not ws.answerer().answer(q, Filters(categories={"Someday"})).sources
    assert not ws.run_ingest(only=["pipe"]).wrote_index  # the relabelled index matches the catalog
    # another process's ingest writes: nothing changes
    with store.writer_lock(settings.index_dir), pytest.raises(store.IndexBusy):
        ws.set_category("pipe", "Elsewhere")
    assert {p.id: p.category for p in catalog.load_catalog(settings)}["pipe"] == "Pipeline drills"
