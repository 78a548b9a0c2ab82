"""Chunks follow sentences, fit the model's input, stay in their section, keep provenance."""

from __future__ import annotations

from helpers import make_pdf, paper_pages

from paperdojo.library.chunk import embedding_text, sentence_spans
from paperdojo.library.parse import parse_file
from paperdojo.settings import Settings


def test_sentence_spans_respect_abbreviations():
    text = "See Fig. 3 and e.g. Eq. 2 for details. Then it runs 3.5x faster! Next (as shown) it ends."
    spans = [text[s:e] for s, e in sentence_spans(text, 0, len(text))]
    assert spans == ["See Fig. 3 and e.g. Eq. 2 for details.", "Then it runs 3.5x faster!",
                     "Next (as shown) it ends."]


def test_chunks_fit_and_keep_provenance(tmp_path, embedder):
    pages = paper_pages("tensor sharding", n_pages=4, sentences_per_page=30)
    pages[1].append("This sentence is far too long " + "and it keeps going " * 120 + "until it ends.")
    doc = parse_file(make_pdf(tmp_path / "d.pdf", pages), "d", "Sharding Paper")
    chunker = embedder.chunker(Settings(chunk_tokens=96, chunk_overlap_tokens=24))
    chunks = chunker.chunk(doc)
    limit = embedder.max_input_tokens - 2
    sections = {s.title: s for s in doc.sections}
    assert {c.section for c in chunks} == {s.title for s in doc.sections if s.kind != "references"}
    for c in chunks:
        assert doc.text[c.char_start : c.char_end] == c.text
        sec = sections[c.section]
        assert sec.start <= c.char_start < c.char_end <= sec.end  # never across sections
        assert c.page_start == doc.page_at(c.char_start) and c.page_end == doc.page_at(c.char_end - 1)
        assert c.n_tokens == embedder.count_tokens([embedding_text(c, True)])[0] <= limit
        assert embedding_text(c, True).startswith("Sharding Paper")
    assert all("cited work" not in c.text for c in chunks)  # references are left out
    # the overlap: consecutive chunks of one section share whole sentences
    body = [c for c in chunks if c.section == doc.sections[2].title]
    assert len(body) >= 3
    assert all(b.char_start < a.char_end for a, b in zip(body, body[1:], strict=False))
    # the long sentence was split at token boundaries, not dropped or truncated
    long_pieces = [c for c in chunks if "keeps going" in c.text]
    assert len(long_pieces) >= 3
    assert sum(c.text.count("keeps going") for c in long_pieces) >= 120


def test_page_span_of_a_chunk_crossing_pages(tmp_path, embedder):
    pages = [[("h", "1 Intro"), *[f"Line {i} of the first page goes on." for i in range(8)]],
             [f"Line {i} of the second page goes on." for i in range(8)]]
    doc = parse_file(make_pdf(tmp_path / "x.pdf", pages, header=None), "x", "X")
    chunks = embedder.chunker(Settings(chunk_tokens=200)).chunk(doc)
    assert len(chunks) == 1 and (chunks[0].page_start, chunks[0].page_end) == (1, 2)
