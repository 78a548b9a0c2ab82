"""Sentence-level citations: the page of a cited sentence is the page that holds it."""

from __future__ import annotations

import shutil

from conftest import make_settings

from paperdojo.answering.answer import Answerer
from paperdojo.answering.cite import cited_sentences
from paperdojo.answering.retrieve import Retriever
from paperdojo.library import store
from paperdojo.library.ingest import ingest


def test_cited_sentences_of_extractive_and_model_answers():
    assert cited_sentences("Stages recompute. [1] Bubbles shrink [2][3]. Uncited tail") == [
        ("Stages recompute.", [1]), ("Bubbles shrink.", [2, 3])]


def test_page_spanning_passage_cites_the_sentence_page(shared, embedder, tmp_path):
    """page_spanning.pdf: the section starts on p. 1, the key sentence is on p. 2."""
    settings = make_settings(tmp_path)
    settings.reading_list.write_text("")
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    shutil.copyfile(shared / "cases" / "page-spanning-citation" / "page_spanning.pdf", pdfs / "spill.pdf")
    ingest(settings, [pdfs], embedder=embedder)
    retriever = Retriever.from_settings(store.load_index(settings.index_dir), embedder, settings)
    ans = Answerer.from_settings(retriever, settings).answer(
        "By how much did the jackal rebalancer cut the pipeline bubble?")
    jackal = [c for c in ans.citations if "jackal" in c.sentence]
    assert jackal, (ans.text, ans.citations)
    c = jackal[0]
    assert c.found and (c.page_start, c.page_end) == (2, 2), c
    src = next(s for s in ans.sources if s.n == c.n)
    assert src.chunk.page_start == 1  # the passage starts on p. 1 ...
    first = next(x for x in ans.citations if x.n == c.n)  # the link opens its first cited sentence's page
    assert src.url.endswith(f"#page={first.page_start}")
    assert [x.page_start for x in ans.citations if x.n == c.n] == sorted(
        x.page_start for x in ans.citations if x.n == c.n)


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
    """A source whose cited sentences stand on pages 1 and 2 gets a `#page=` link for each."""
    from paperdojo.cli.output import sentence_links
    from paperdojo.records import Citation

    url = "file:///home/p/spill.pdf#page=1"
    two = [Citation(1, "a", "spill", 2, 2), Citation(1, "b", "spill", 1, 1), Citation(1, "c", "spill", 2, 2)]
    assert sentence_links(url, two) == [("file:///home/p/spill.pdf#page=1", "p. 1: "),
                                        ("file:///home/p/spill.pdf#page=2", "p. 2: ")]
    assert sentence_links(url, two[:1]) == [(url, "")]


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
