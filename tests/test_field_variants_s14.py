"""More inputs of the kinds of ../shared/cases (session 14, h14break), built by the tests: a paper's
abstract page and its PDF on a proceedings site (one identity), and a home whose path holds a space
or parentheses (every link to a cached PDF stays one link). Each kind's correct behaviour is the
cases README's; each test here failed before its fix."""

from __future__ import annotations

import urllib.parse

import pytest
from conftest import make_settings
from markdown_it import MarkdownIt

from paperdojo.library import catalog, ingest
from paperdojo.library.identity import canonical_source
from paperdojo.library.sources import resolve

# --------------------------------------------------------------------- same paper, another way in
VENUE_PAIRS = [
    ("https://openreview.net/forum?id=Xb2QdDu1LQ", "https://openreview.net/pdf?id=Xb2QdDu1LQ"),
    ("openreview.net/forum?id=Xb2QdDu1LQ&noteId=abc", "https://openreview.net/attachment?id=Xb2QdDu1LQ&name=pdf"),
    ("https://aclanthology.org/2020.acl-main.463/", "https://aclanthology.org/2020.acl-main.463.pdf"),
    ("https://aclanthology.org/P19-1001", "http://aclanthology.org/P19-1001.pdf"),
    ("https://proceedings.mlr.press/v139/kim21a.html", "https://proceedings.mlr.press/v139/kim21a/kim21a.pdf"),
    ("https://papers.nips.cc/paper_files/paper/2022/hash/67d57c32e20fd0a7a302cb81d36e40d5-Abstract-Conference.html",
     "https://papers.nips.cc/paper_files/paper/2022/file/67d57c32e20fd0a7a302cb81d36e40d5-Paper-Conference.pdf"),
    ("https://proceedings.neurips.cc/paper/2020/hash/1457c0d6bfcb4967418bfb8ac142f64a-Abstract.html",
     "https://proceedings.neurips.cc/paper/2020/file/1457c0d6bfcb4967418bfb8ac142f64a-Paper.pdf"),
]


@pytest.mark.parametrize(("page", "pdf"), VENUE_PAIRS)
def test_a_proceedings_abstract_page_and_its_pdf_are_one_paper(tmp_path, page, pdf):
    """A reading list that has a paper by its abstract page (OpenReview forum, ACL Anthology, PMLR,
    NeurIPS) names the same paper when its PDF link is added, and the page is fetched as that PDF
    (the abstract page itself is a landing page, refused by fetch)."""
    assert canonical_source(page) == canonical_source(pdf)
    assert resolve(page).kind == "pdf" and canonical_source(resolve(page).url or "") == canonical_source(page)
    settings = make_settings(tmp_path / "home")
    settings.home.mkdir()
    settings.reading_list.write_text(f'[[paper]]\nid = "venue-paper"\ntitle = "A Venue Paper"\n'
                                     f'category = "c"\nlink = "{page}"\n')
    paper = ingest.add_source(settings, pdf)
    assert paper.id == "venue-paper" and paper.origin == "reading-list"
    assert not [p for p in catalog.load_catalog(settings) if p.origin == "user"]


@pytest.mark.parametrize("link", ["https://openreview.net/group?id=ICLR.cc/2024/Conference",
                                  "https://aclanthology.org/events/acl-2020/", "https://proceedings.mlr.press/v139/",
                                  "https://proceedings.neurips.cc/paper/2020/file/"
                                  "1457c0d6bfcb4967418bfb8ac142f64a-Supplemental.pdf"])
def test_a_proceedings_listing_or_supplement_is_not_a_paper_key(link):
    assert canonical_source(link).startswith("url:")


# --------------------------------------------------------------------- html-in-paper-text: links
def test_links_to_a_cached_pdf_survive_a_home_path_with_spaces_and_parentheses(tmp_path, embedder):
    """The Interview's "Missed" concept links and the source cards open the cached PDF at its page
    even when the home is "my home (2024)": the Markdown link [..](/gradio_api/file=/.. my home ..)
    ended at the space and showed as raw text."""
    from helpers import make_pdf
    from test_field_variants import _only_our_elements

    from paperdojo.answering.retrieve import Hit
    from paperdojo.app.common import answer_markdown, source_card
    from paperdojo.app.interview import grade_markdown
    from paperdojo.study.interview import Concept, Grade
    from paperdojo.workspace import Workspace

    settings = make_settings(tmp_path / "my home (2024)")
    settings.home.mkdir()
    settings.reading_list.write_text("")
    (tmp_path / "pdfs").mkdir()
    make_pdf(tmp_path / "pdfs" / "kestrel.pdf", [[("h", "Abstract"), "The kestrel scheduler packs small "
                                                  "kernels onto idle streams to keep utilization high."]],
             header=None, title_meta="Kestrel: Packing Kernels")
    ingest.ingest(settings, [tmp_path / "pdfs"], embedder=embedder)
    ws = Workspace(settings)
    ans = ws.ask("How does the kestrel scheduler keep utilization high?")
    assert not ans.refused
    chunk = ans.sources[0].chunk
    grade = Grade(4.0, [], [Concept("idle streams", Hit(chunk, 0.9, 0.9))], 0.4, [], ans)
    from paperdojo.app.ask import sources_of

    for markdown in (grade_markdown(grade, ws), source_card(sources_of(ws, ans)[0]), answer_markdown(ans)):
        html = MarkdownIt("commonmark", {"html": True}).render(markdown)
        assert "](/gradio_api" not in html and "my home" not in html.replace("my%20home", ""), html
        _only_our_elements(markdown)
    html = MarkdownIt("commonmark", {"html": True}).render(grade_markdown(grade, ws))
    href = html.split('href="')[1].split('"')[0]
    path = urllib.parse.unquote(href.removeprefix("/gradio_api/file=").split("#")[0])
    assert path == str(ws.pdf_path("kestrel")) and href.endswith("#page=1")


# --------------------------------------------------------------------- a follow-up chain, small library
def test_tell_me_more_after_why_never_quotes_the_chat_again(tmp_path, embedder):
    """In a library of two short papers "why?" then "tell me more" (and "go on") quoted the first
    answer's sentences again, word for word: now each says something new or says there is nothing
    more; a follow-up with a word of its own ("and pipelining?") is still answered."""
    import re

    from helpers import two_paper_home

    from paperdojo.answering.answer import NOTHING_MORE, Conversation
    from paperdojo.workspace import Workspace

    ws = Workspace(two_paper_home(tmp_path / "home", embedder))
    conv, said = Conversation(), []
    chain = ["Why does each pipeline stage recompute its forward pass?", "why?", "tell me more", "go on"]
    for question in chain:
        *_, ans = ws.answerer().stream(question, conversation=conv)
        sentences = [t.strip() for t in re.split(r"\[\d+\]", ans.text) if t.strip()]
        if ans.refused:
            assert ans.text == NOTHING_MORE and question in ("tell me more", "go on")
        else:
            assert not set(sentences) & set(said), (question, ans.text)
        said += [] if ans.refused else sentences
    assert len(said) >= 3
    *_, ans = ws.answerer().stream("and pipelining?", conversation=conv)
    assert not ans.refused and "ipelin" in ans.text


# --------------------------------------------------------------------- ingest-while-serving: a relabel
def test_a_category_set_in_the_library_reaches_the_interview_at_once(tmp_path, embedder):
    """The Library's "Set category" (and every Library action) gives the Interview's categories of the
    new generation with its other outputs: the browser showed the old list until the next 10 s check."""
    from helpers import two_paper_home

    from paperdojo.app import library
    from paperdojo.workspace import Workspace

    ws = Workspace(two_paper_home(tmp_path / "home", embedder))
    *_, status, topics = library.set_category(ws, "pipe", "Pipelines and stages")
    assert "Pipelines and stages" in topics["choices"] and "2 papers" in status
    *_, topics = library.remove(ws, None, None)  # no paper picked: the same outputs
    assert "Pipelines and stages" in topics["choices"]


def test_a_moved_home_says_to_drop_a_failed_paper_in_its_own_folder(tmp_path, embedder):
    """A failure's reason is written at ingest with the home's path; after the home was copied or
    moved ("cp -r home elsewhere"), the Library and `papers` named the old home's folder."""
    import shutil

    from helpers import LocalServer, Route, make_pdf

    from paperdojo.app.library import summary
    from paperdojo.workspace import Workspace

    settings = make_settings(tmp_path / "old")
    settings.home.mkdir()
    (tmp_path / "pdfs").mkdir()
    make_pdf(tmp_path / "pdfs" / "grebe.pdf", [[("h", "Abstract"), "The grebe allocator pools buffers."]])
    with LocalServer() as srv:
        srv.routes["/gone.pdf"] = Route(status=404)
        settings.reading_list.write_text(f'[[paper]]\nid = "gone"\ntitle = "Gone"\ncategory = "c"\n'
                                         f'link = "{srv.url("/gone.pdf")}"\n')
        ingest.ingest(settings, [tmp_path / "pdfs"], embedder=embedder)
    old = next(d for d in Workspace(settings).papers() if d.id == "gone")
    assert old.status == "failed" and f"drop it at {settings.pdf_dir / 'gone.pdf'}" in old.reason
    shutil.copytree(settings.home, tmp_path / "new home")
    moved = Workspace(make_settings(tmp_path / "new home", reading_list=settings.reading_list))
    reason = next(d for d in moved.papers() if d.id == "gone").reason
    assert f"drop it at {moved.settings.pdf_dir / 'gone.pdf'}" in reason
    assert str(tmp_path / "old") not in reason
    assert str(tmp_path / "old") not in summary(moved)
