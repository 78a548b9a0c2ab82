"""Paper and model text is data in every view: each kind of payload (HTML, `javascript:` links,
entities, Markdown links, images, emphasis, code fences, headings, tables) put in each field a view
shows (title, section, passage, cited sentence, concept phrase, model text, failure reason, file
name), then the view's Markdown rendered as Gradio does (CommonMark with HTML allowed) and its
elements checked: none comes from the payload."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from conftest import make_settings
from markdown_it import MarkdownIt

from paperdojo.answering.answer import Answer
from paperdojo.answering.retrieve import Hit, SectionHit
from paperdojo.app.common import answer_markdown, source_card
from paperdojo.app.interview import grade_markdown
from paperdojo.app.library import summary_text
from paperdojo.library.ingest import DocStatus
from paperdojo.records import Chunk, Citation, Source
from paperdojo.study.interview import Concept, Grade

PAYLOADS = [
    '<img src="http://evil.test/x.png" onerror="alert(1)">',
    "<script>alert(1)</script>",
    '<a href="javascript:alert(1)">evil link</a>',
    "[evil link](javascript:alert(1))",
    "![evil image](http://evil.test/x.png)",
    "&lt;img src=http://evil.test/e.png&gt; &#60;script&#62;",
    "**evil strong** and _evil em_ and `evil code`",
    "```\nevil fence\n```",
    "# evil heading",
    "| evil | table |\n|---|---|\n| a | b |",
    "<http://evil.test/auto> and www.evil.test and evil@evil.test",
    "$evil math$",
]
# Markdown blocks a model's answer (kept line by line) could build: setext headings, rules, lists,
# an indented code block
BLOCKS = ["\nevil setext\n===\n", "\nevil setext two\n---\n", "\n- evil item\n+ evil plus\n",
          "\n1. evil numbered\n2) evil paren\n", "\n\n    evil indented code\n", "\n\n---\n\nevil after"]


class _Elements(HTMLParser):
    """Every start tag with its attributes, and the text inside each open tag."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[str] = []
        self.inside: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.stack:
            del self.stack[len(self.stack) - 1 - self.stack[::-1].index(tag):]

    def handle_data(self, data: str) -> None:
        self.inside += [(tag, data) for tag in self.stack]


def _assert_inert(markdown: str) -> None:
    html = MarkdownIt("commonmark", {"html": True, "linkify": False}).enable("table").render(markdown)
    found = _Elements()
    found.feed(html)
    for tag, attrs in found.tags:
        assert tag not in {"img", "script", "iframe", "h1", "table", "pre", "code", "hr", "ol"}, (tag, html)
        for value in attrs.values():
            assert "evil" not in (value or "") and "javascript" not in (value or "").lower(), html
    for tag, data in found.inside:  # our own <strong>/<em>/<a> wrap a field (it starts with our words),
        # an element made from the payload starts with the payload's ("evil strong", "evil link"...)
        assert not (tag in {"strong", "em", "a", "code", "h1", "h2", "mark", "td", "th", "del", "li", "pre"}
                    and data.lstrip().startswith("evil")), (tag, html)


def _chunk(payload: str) -> Chunk:
    text = f"The heron allocator reuses buffers. {payload} It frees them late."
    return Chunk("heron", f"Heron {payload}", f"3 Design {payload}", 2, 2, 0, len(text), text)


@pytest.mark.parametrize("payload", PAYLOADS + BLOCKS)
def test_answer_and_refusal_views_keep_payloads_as_text(payload):
    chunk = _chunk(payload)
    source = Source(1, chunk, "/gradio_api/file=heron.pdf#page=2", chunk.text, 0.9)
    text = f"The heron allocator reuses buffers {payload} [1]."
    ans = Answer("q", "q", text, [source], notes=[f"note {payload}"], mode=f"openai:{payload}",
                 citations=[Citation(1, text, "heron", 2, 2)])
    _assert_inert(answer_markdown(ans))
    refusal = Answer("q", "q", f"Not covered {payload}", [], refused=True,
                     nearest=[SectionHit("heron", chunk.title, chunk.section, 2, 2, 0.5, "", [])])
    _assert_inert(answer_markdown(refusal))
    card = {"n": 1, "title": chunk.title, "section": chunk.section, "page": 2, "page_last": 2,
            "passage": f"**heron** {payload}", "link": "/gradio_api/file=heron.pdf#page=2", "ocr": False,
            "cites": [{"i": 0, "sentence": f"A sentence {payload}", "page_start": 2, "page_end": 2}]}
    _assert_inert(source_card(card))


@pytest.mark.parametrize("payload", PAYLOADS + BLOCKS)
def test_grade_and_library_views_keep_payloads_as_text(tmp_path, payload):
    chunk = _chunk(payload)
    hit = Hit(chunk, 0.9, 0.9)
    grade = Grade(6.0, [Concept(f"buffer reuse {payload}", hit, True, "", f"my words {payload}")],
                  [Concept(f"late frees {payload}", hit)], 0.5, [f"reason {payload}"],
                  Answer("q", "q", f"model {payload}", []))
    _assert_inert(grade_markdown(grade))
    settings = make_settings(tmp_path / "home")
    papers = [DocStatus(f"bad-{i}", f"Title {payload}", "c", f"{payload}.pdf", "failed",
                        f"not a PDF: {payload}") for i in range(2)]
    _assert_inert(summary_text(papers, settings))


def test_a_link_the_paper_writes_is_quoted_as_visible_text(tmp_path, embedder, shared):
    """../shared/cases/html-in-paper-text: a quoted sentence keeps the URL the paper wrote, shown as
    text (never a live <img>/<a>, never fetched); only a footnote's link (its number glued to it) is
    taken out. Before, every URL was cut from quotes, leaving "... buffers <img src=" width=1> to ..."."""
    import html as html_lib
    import re

    from helpers import home_with_pdfs

    from paperdojo.answering.answer import Answerer
    from paperdojo.answering.retrieve import Retriever
    from paperdojo.library import store

    settings, _ = home_with_pdfs(tmp_path, [shared / "cases" / "html-in-paper-text" / "html_payload.pdf"],
                                 embedder)
    answerer = Answerer(Retriever(store.load_index(settings.index_dir), embedder))
    ans = answerer.answer("How does the heron allocator keep peak memory low?")
    url = "http://127.0.0.1:8899/body.png"
    assert not ans.refused and url in ans.text, ans.text
    markdown = answer_markdown(ans)
    _assert_inert(markdown)
    rendered = MarkdownIt("commonmark", {"html": True, "linkify": False}).render(markdown)
    assert not re.search(r"<(?:img|a)\b[^>]*8899", rendered), rendered  # no element from the paper's URL
    assert url in html_lib.unescape(re.sub(r"<[^>]+>", "", rendered))  # the URL, readable as text
