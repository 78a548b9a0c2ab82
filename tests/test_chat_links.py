"""Citation links of the app: each [n] names the answer it belongs to (a link in an older answer of
the chat shows that answer's source, not the latest one's), and the Interview tab's model answer
links open the PDF at the cited page instead of driving the Ask tab's hidden picker."""

from __future__ import annotations

import re

from conftest import make_settings
from helpers import make_pdf

from paperdojo.answering.answer import Answer
from paperdojo.app.common import (
    answer_markdown,
    citation_pdf_href,
    cite_href,
    show_citation,
    source_record,
)
from paperdojo.records import Chunk, Citation, Source
from paperdojo.workspace import Workspace


def _answer(doc_id: str, title: str, sentence: str, page: int) -> Answer:
    """An answer of one sentence citing [1], a passage of `doc_id` on `page`."""
    chunk = Chunk(doc_id, title, "2 Design", page, page, 0, len(sentence), sentence)
    src = Source(1, chunk, f"file:///{doc_id}.pdf#page={page}", sentence, 0.9, cited_pages=[page])
    ans = Answer("q", "q", f"{sentence} [1]", [src])
    ans.citations = [Citation(1, sentence, doc_id, page, page, 0, len(sentence), True)]
    return ans


def _records(ws: Workspace, ans: Answer) -> list[dict]:
    """The UI records of an answer's sources, each with its cited sentences (as ask.sources_of)."""
    return [source_record(ws, s.n, s.chunk, s.passage,
                          [{"i": i, "sentence": c.sentence, "page_start": c.page_start,
                            "page_end": c.page_end} for i, c in enumerate(ans.citations) if c.n == s.n])
            for s in ans.sources]


def test_a_link_in_an_older_answer_shows_that_answers_source(tmp_path):
    ws = Workspace(make_settings(tmp_path / "home"))
    older = _answer("pipe", "Pipe: Pipeline Stages", "Pipe stashes activations per stage.", 4)
    newer = _answer("shard", "Shard: Sharded States", "Shard partitions optimizer states.", 9)
    md_older = answer_markdown(older, lambda j: cite_href(0, j))
    md_newer = answer_markdown(newer, lambda j: cite_href(1, j))
    assert 'href="#cite-0-0"' in md_older and 'href="#cite-1-0"' in md_newer
    assert "target=" not in md_older  # the page's script handles these: no new tab
    turns = [_records(ws, older), _records(ws, newer)]

    radio, card, _, turn = show_citation(ws, "0-0:1733000000000", turns)  # the older answer's [1]
    assert turn == 0 and "Pipe stashes activations" in card and "Shard" not in card
    assert radio["value"].startswith("[1] Pipe") and radio["choices"] == [radio["value"]]
    radio, card, _, turn = show_citation(ws, "1-0:1733000000001", turns)
    assert turn == 1 and "Shard partitions optimizer states" in card
    assert radio["value"].startswith("[1] Shard")

    for unknown in ("2-0:1", "0-5:1", "junk", ""):  # no such answer or citation: nothing changes
        assert all(u == {"__type__": "update"} for u in show_citation(ws, unknown, turns)), unknown


def test_model_answer_links_open_the_pdf_at_the_cited_page(tmp_path):
    settings = make_settings(tmp_path / "home")
    settings.pdf_dir.mkdir(parents=True)
    make_pdf(settings.pdf_dir / "pipe.pdf", [["Pipe."]] * 4)
    ws = Workspace(settings)
    ans = _answer("pipe", "Pipe: Pipeline Stages", "Pipe stashes activations per stage.", 4)
    md = answer_markdown(ans, citation_pdf_href(ws, ans))
    link = re.search(r'<a class="cite" href="([^"]+)" target="_blank"[^>]*>\[1, p\. 4\]</a>', md)
    assert link and link.group(1).endswith("pipe.pdf#page=4") and "#cite-" not in md, md

    gone = _answer("gone", "Gone: No PDF Here", "Gone has no cached PDF.", 2)  # no PDF: no link
    md = answer_markdown(gone, citation_pdf_href(ws, gone))
    assert "<a " not in md and "**[1, p. 2]**" in md


def test_the_sources_footer_lists_pages_in_reading_order_merged():
    """A source cited on p. 2, then p. 1, then pp. 5-6 and p. 6: "pp. 1–2, pp. 5–6" (was "p. 2, p. 1, ...",
    in the order of a set sorted by length)."""
    from paperdojo.app.common import merged_pages

    sentences = [("Pipe stashes activations.", 2, 2), ("Pipe splits batches.", 1, 1),
                 ("Pipe recomputes.", 5, 6), ("Pipe flushes.", 6, 6)]
    text = " ".join(s for s, _, _ in sentences)
    chunk = Chunk("pipe", "Pipe: Pipeline Stages", "2 Design", 1, 6, 0, len(text), text)
    ans = Answer("q", "q", " ".join(f"{s} [1]" for s, _, _ in sentences),
                 [Source(1, chunk, "file:///pipe.pdf#page=2", text, 0.9, cited_pages=[2, 1, 5, 6])])
    ans.citations = [Citation(1, s, "pipe", a, b, 0, len(s), True) for s, a, b in sentences]
    footer = answer_markdown(ans).split("Sources: ")[1]
    assert footer.startswith("&#91;1&#93; Pipe, 2 Design, pp. 1–2, pp. 5–6 ·"), footer
    assert merged_pages([(3, 3)]) == "p. 3" and merged_pages([(4, 4), (1, 1)]) == "p. 1, p. 4"
    assert merged_pages([]) == ""
