"""Sentence-level citations: the page of a cited sentence is the page that holds it."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import empty_home, make_settings

from paperdojo.answering.answer import Answerer
from paperdojo.answering.cite import cited_sentences
from paperdojo.answering.retrieve import Retriever
from paperdojo.library import store
from paperdojo.library.ingest import ingest


def test_cited_sentences_of_extractive_and_model_answers():
    assert cited_sentences("Stages recompute. [1] Bubbles shrink [2][3]. Uncited tail") == [
        ("Stages recompute.", [1]), ("Bubbles shrink.", [2, 3])]


JACKAL = "By how much did the jackal rebalancer cut the pipeline bubble?"


@pytest.fixture(scope="module")
def spill_home(shared, embedder, tmp_path_factory):
    """A home holding page_spanning.pdf (as spill.pdf): its section starts at the bottom of p. 1,
    the key sentence ("jackal rebalancer ... 31 percent to 9 percent") is on p. 2."""
    home = tmp_path_factory.mktemp("spill")
    settings = make_settings(home)
    settings.reading_list.write_text("")
    pdfs = home / "pdfs"
    pdfs.mkdir()
    shutil.copyfile(shared / "cases" / "page-spanning-citation" / "page_spanning.pdf", pdfs / "spill.pdf")
    ingest(settings, [pdfs], embedder=embedder)
    return settings


def _jackal_source(ans):  # noqa: ANN001, ANN202
    c = next((c for c in ans.citations if "jackal" in c.sentence), None)
    assert c is not None, (ans.text, ans.citations)
    assert c.found and (c.page_start, c.page_end) == (2, 2), c
    return next(s for s in ans.sources if s.n == c.n)


def test_page_spanning_source_page_is_the_quoted_sentence_page(spill_home, embedder):
    """The answer, the source's page and link and the JSON all name p. 2, though the passage
    starts on p. 1 and the source also cites sentences of p. 1."""
    retriever = Retriever.from_settings(store.load_index(spill_home.index_dir), embedder, spill_home)
    ans = Answerer.from_settings(retriever, spill_home).answer(JACKAL)
    src = _jackal_source(ans)
    assert src.chunk.page_start == 1  # the passage starts on p. 1 ...
    assert src.page == 2 and src.cited_pages[0] == 2 and src.url.endswith("#page=2")  # ... the answer, p. 2
    assert src.pages_label.startswith("p. 2") and "1-2" not in src.pages_label
    data = next(x for x in ans.to_json()["sources"] if x["n"] == src.n)
    assert data["page"] == 2 and data["url"].endswith("#page=2") and data["cited_pages"][0] == 2


def test_page_spanning_in_the_cli(spill_home, capsys, monkeypatch):
    """`paperdojo ask` (plain and --json) as a person runs it: the Sources line and link name p. 2."""
    from paperdojo.cli import main

    monkeypatch.setenv("PAPERDOJO_READING_LIST", str(spill_home.reading_list))
    home = ["--home", str(spill_home.home)]
    assert main([*home, "ask", JACKAL]) == 0
    shown = capsys.readouterr().out
    line = next(x for x in shown.splitlines() if "Rebalancing Micro-batches" in x)
    assert ", p. 2" in line and "p. 1-2" not in line, shown
    links = shown[shown.index(line):].splitlines()[1]
    assert links.strip().endswith("#page=2") or "p. 2: " in links, shown
    assert main([*home, "ask", "--json", JACKAL]) == 0
    data = json.loads(capsys.readouterr().out)
    jackal = next(c for c in data["citations"] if "jackal" in c["sentence"])
    assert jackal["page_start"] == 2
    src = next(s for s in data["sources"] if s["n"] == jackal["n"])
    assert src["url"].endswith("#page=2") and src["page"] == 2


def test_page_spanning_in_the_mcp_server_and_the_app(spill_home, embedder):
    """The MCP server's ask and the app's source card, link, page image and highlight: p. 2."""
    import anyio
    from mcp import Client

    from paperdojo.app.ask import sources_of
    from paperdojo.app.common import choices, page_image, source_card
    from paperdojo.app.pages import render_page
    from paperdojo.mcp_server import PaperdojoMCP
    from paperdojo.workspace import Workspace

    ws = Workspace(spill_home)
    ws.embedder = embedder

    async def run() -> dict:
        async with Client(PaperdojoMCP(ws).server) as client:
            return (await client.call_tool("ask", {"question": JACKAL})).structured_content

    data = anyio.run(run)
    jackal = next(c for c in data["citations"] if "jackal" in c["sentence"])
    src = next(s for s in data["sources"] if s["n"] == jackal["n"])
    assert jackal["page_start"] == 2 and src["page"] == 2 and src["url"].endswith("#page=2")

    ans = ws.ask(JACKAL)
    n = _jackal_source(ans).n
    record = next(r for r in sources_of(ws, ans) if r["n"] == n)
    assert record["page"] == 2 and "#page=2" in record["link"]
    assert "open the PDF at p. 2" in source_card(record) and "#page=2" in source_card(record)
    assert ", p. 2" in next(c for c in choices([record]) if c.startswith(f"[{n}]"))
    image = page_image(ws, record)
    assert image is not None
    path = ws.pdf_path(record["doc_id"])
    sentence = next(c["sentence"] for c in record["cites"] if "jackal" in c["sentence"])
    assert render_page(path, record["page"], record["text"], sentences=[sentence])[1]  # on its words
    assert not render_page(path, 1, record["text"], sentences=[sentence])[1]  # p. 1 lacks it


def test_cited_pages_put_the_answering_sentence_first():
    """Pure: the page of the found sentence holding most question terms comes first (ties: the
    earliest cited), then every other page a found sentence stands on; a sentence not found in
    the passage (a paraphrase) gives no page."""
    import Stemmer

    from paperdojo.answering.answer import cited_pages
    from paperdojo.records import Citation

    stem = Stemmer.Stemmer("english")
    terms = {stem.stemWord(w) for w in ("jackal", "rebalancer", "bubble")}
    cites = [Citation(1, "Stages run at different speeds.", "d", 1, 1, 0, 30, True),
             Citation(1, "Our runtime moves layers between stages.", "d", 1, 2, 31, 80, True),
             Citation(1, "The jackal rebalancer cut the bubble.", "d", 2, 2, 81, 120, True),
             Citation(1, "A jackal rebalancer paraphrase about the bubble.", "d", 1, 2)]
    assert cited_pages(cites, terms, stem) == [2, 1]
    assert cited_pages(cites[:2], terms, stem) == [1, 2]  # no terms anywhere: the first cited
    assert cited_pages(cites[3:], terms, stem) == []


def test_a_sentence_without_its_author_year_reference_is_located():
    """The answer shows "... Subprogram (BLAS) for computation." without "(Dongarra et al., 1990)";
    the passage (and PDFium's page text, with its soft-hyphen mark) still holds the reference."""
    from paperdojo.answering.cite import normalized
    from paperdojo.answering.prose import clean

    page = ("the Level 3 Basic Linear Algebra Subprogram (BLAS) (Don\ufffegarra et al., 1990) for "
            "computation. Cho and Brand (Cho & Brand, 2017) proposed an alternative lowering [12, 14].")
    shown = clean("the Level 3 Basic Linear Algebra Subprogram (BLAS) (Dongarra et al., 1990) "
                  "for computation.")
    assert "Dongarra" not in shown
    assert normalized(shown)[0] in normalized(page)[0]
    assert normalized(clean("Cho and Brand (Cho & Brand, 2017) proposed an alternative lowering."))[0] \
        in normalized(page)[0]


def test_cli_links_each_page_its_sentences_stand_on():
    """A source whose cited sentences stand on pages 2 and 1 gets a `#page=` link for each, its own
    page (the answering sentence's) first."""
    from paperdojo.cli.output import sentence_links

    url = "file:///home/p/spill.pdf#page=2"
    assert sentence_links(url, [2, 1]) == [("file:///home/p/spill.pdf#page=2", "p. 2: "),
                                           ("file:///home/p/spill.pdf#page=1", "p. 1: ")]
    assert sentence_links(url, [2]) == [(url, "")]


def test_cli_prints_paper_text_literally(capsys):
    """Rich markup in a paper's title or a refusal's section ('[bold]', '[link=...]') is printed as text."""
    from paperdojo.answering.answer import Answer
    from paperdojo.answering.retrieve import SectionHit
    from paperdojo.cli.output import print_answer

    ans = Answer("q", "q", "Not covered [red]here[/red].", [], refused=True)
    title = "Evil [link=http://x.test]title[/link]"
    ans.nearest = [SectionHit("d", title, "[bold]4.1 Intro", 3, 3, 0.5, "", [])]
    print_answer(ans)
    shown = capsys.readouterr().out
    assert "[red]here[/red]" in shown and "[link=http://x.test]title[/link]" in shown
    assert "[bold]4.1 Intro" in shown


RICH_PAYLOAD = "[/] [link=http://evil.test]here[/link] [bold red]loud"


def test_cli_search_papers_grades_and_errors_print_markup_literally(tmp_path, embedder, capsys, monkeypatch):
    """Rich markup in a paper's title and section (search, `papers`), a failure reason, a grade's
    reasons and an error message is printed as text: "[/]" used to end the command in a MarkupError
    traceback, "[link=...]" to make a terminal link."""
    from helpers import make_pdf

    from paperdojo.answering.answer import Answer
    from paperdojo.cli import main
    from paperdojo.cli.library import _print_docs
    from paperdojo.cli.study import _print_grade
    from paperdojo.library.ingest import DocStatus
    from paperdojo.study.interview import Grade

    settings = empty_home(tmp_path / "home", monkeypatch)
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    make_pdf(pdfs / "heron.pdf", [[("h", "Abstract"), "The heron allocator reuses freed activation buffers.",
                                   ("h", f"1 Heron {RICH_PAYLOAD}"),
                                   "The heron allocator keeps a free list per size class of buffers."]],
             header=None, title_meta=f"Heron {RICH_PAYLOAD}")
    ingest(settings, [pdfs], embedder=embedder)
    capsys.readouterr()
    assert main(["--home", str(settings.home), "search", "heron allocator free list"]) == 0
    assert main(["--home", str(settings.home), "find", "heron allocator free list"]) == 0  # the same
    _print_docs([DocStatus("bad", f"Title {RICH_PAYLOAD}", f"cat {RICH_PAYLOAD}", "upload", "failed",
                           f"not a PDF: {RICH_PAYLOAD}")])
    _print_grade(Grade(5.0, [], [], 0.5, [f"reason {RICH_PAYLOAD}"], Answer("q", "q", "", [])))
    assert main(["--home", str(settings.home), "add", f"nowhere {RICH_PAYLOAD}"]) == 2
    shown = capsys.readouterr()
    text = " ".join((shown.out + shown.err).split())
    assert "Traceback" not in text and "MarkupError" not in text
    # the search title and section, the papers table, the grade, the error
    assert text.count("[link=http://evil.test]here[/link]") >= 7, text  # search and find
    assert "\x1b]8;" not in shown.out + shown.err  # no terminal hyperlink escape
