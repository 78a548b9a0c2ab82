"""Hybrid retrieval, filters and section search over an index built from our own PDFs."""

from __future__ import annotations

import pytest
from helpers import two_paper_home

from paperdojo.answering.retrieve import EmptyQuery, Filters, Retriever, find_sections
from paperdojo.evaluation.evaluate import Question, kp_found, load_questions, retrieval_metrics
from paperdojo.library import store


@pytest.fixture(scope="module")
def retriever(tmp_path_factory, embedder):
    settings = two_paper_home(tmp_path_factory.mktemp("retrieve"), embedder)
    return Retriever(store.load_index(settings.index_dir), embedder)


def test_finds_the_passage(retriever):
    hits = retriever.search("why recompute the forward pass in the backward pass?", k=3)
    top = hits[0].chunk
    assert (top.doc_id, top.section, top.page_start) == ("pipe", "2 Re-materialization", 1)
    assert hits[0].score >= hits[1].score and -1 <= hits[0].dense <= 1


def test_lexical_match_on_rare_term(retriever):
    assert retriever.search("halo", k=1)[0].chunk.section == "2 Halo exchange"


def test_filters(retriever):
    hits = retriever.search("pipeline stages", k=5, filters=Filters(papers={"shard"}))
    assert hits and {h.chunk.doc_id for h in hits} == {"shard"}
    assert retriever.search("pipeline", filters=Filters(categories={"nope"})) == []
    with pytest.raises(EmptyQuery):
        retriever.search("   ")


def test_a_question_too_long_is_refused_with_its_length(tmp_path, embedder):
    """A pasted page (over Settings.max_question_chars) is no question: a message with its length,
    through the Workspace's ask and search as through the retriever (h12break: 320,000 characters
    were answered, 11 s of CPU)."""
    from paperdojo.answering.retrieve import LongQuery
    from paperdojo.workspace import Workspace

    settings = two_paper_home(tmp_path, embedder, max_question_chars=200)
    ws = Workspace(settings)
    try:
        assert ws.ask("why recompute the forward pass? " + " " * 500).sources  # spaces are stripped
        for call in (ws.ask, ws.search_sections):
            with pytest.raises(LongQuery, match=r"is 322 characters long; ask in at most 200"):
                call("why recompute the forward pass? " * 10 + "ok")
        from paperdojo.app.search import search  # the Search tab says so (was an unhandled error)

        found, _, listing, card, image = search(ws, "halo exchange " * 20, None, None)
        assert found == [] and "characters long" in listing and image is None
    finally:
        ws.close()


def test_no_duplicate_passages(retriever):
    hits = retriever.search("micro-batches", k=10)
    spans = [(h.chunk.doc_id, h.chunk.char_start, h.chunk.char_end) for h in hits]
    for i, (d, s, e) in enumerate(spans):
        assert not any(d == d2 and s < e2 and s2 < e for d2, s2, e2 in spans[i + 1 :])


def test_find_sections_marks_terms(retriever):
    sections = find_sections(retriever, "halo exchange between devices", k=2)
    assert sections[0].section == "2 Halo exchange" and sections[0].doc_id == "shard"
    assert "**halo**" in sections[0].snippet.lower()


def test_metrics_on_known_questions(retriever, tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text(
        '{"id": "a", "question": "How is activation memory saved?", "type": "mechanism", '
        '"gold": [{"doc": "pipe", "pages": [1]}], '
        '"key_points": [["recompute", "recomputes"], ["never said"]]}\n'
        '{"id": "b", "question": "What is Medusa?", "type": "unanswerable", "gold": [], "key_points": []}\n')
    qs = load_questions(path)
    assert [q.answerable for q in qs] == [True, False]
    m = retrieval_metrics(qs, lambda q: retriever.search(q, k=10))
    assert m["n_answerable"] == 1 and m["page_hit@5"] == 1.0 and m["kp_recall@5"] == 0.5
    assert kp_found([["Complex-Out Fusable"]], "complex out-fusable ops") == [True]
    assert Question("x", "q", "t", [], []).answerable


def test_ann_index_gives_the_same_hits_as_exact(tmp_path, embedder):
    """An HNSW (or IVF-PQ) index finds candidates; exact re-scoring keeps the ranking of flat search."""
    from helpers import make_pdf, paper_pages

    from paperdojo.library.ingest import ingest
    from paperdojo.settings import Settings

    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    for topic in ["pipeline stages", "tensor sharding", "kernel fusion", "memory planning"]:
        make_pdf(pdfs / f"{topic.split()[0]}.pdf", paper_pages(topic, n_pages=6, sentences_per_page=30))
    results, kind = {}, "hnsw"
    for k in ["flat", kind]:
        home = tmp_path / k
        home.mkdir()
        (home / "papers.toml").write_text("")
        s = Settings(home=home, reading_list=home / "papers.toml", index_type=k, parse_workers=0)
        ingest(s, [pdfs], embedder=embedder)
        index = store.load_index(s.index_dir)
        retriever = Retriever(index, embedder)
        assert index.manifest["index_type"] == k and f"FAISS {k}" in retriever.stages()[0]
        assert retriever.exact == (k == "flat")
        results[k] = [[(h.chunk.doc_id, h.chunk.char_start) for h in retriever.search(q, 5, f)]
                      for q in ["how are kernels fused?", "detail number 7 of memory planning"]
                      for f in [None, Filters({"tensor"})]]
    assert results["flat"] == results[kind]


def test_index_kinds_by_size_and_ivfpq_recall():
    import numpy as np

    from paperdojo.evaluation.bench import synthetic

    assert [store.index_kind(n) for n in (3_000, 500_000, 5_000_000)] == ["flat", "ivfpq", "ivfpq"]
    assert store.index_kind(500, "ivfpq") == "flat"  # too few vectors to train it
    vectors, queries = synthetic(20_000), synthetic(50, seed=7)
    truth = (queries @ vectors.T).argsort(axis=1)[:, ::-1][:, :10]
    index = store.build_faiss(vectors, "ivfpq")
    codes = store.search_faiss(index, queries, 10)[1]
    rescored = store.search_faiss(index, queries, 10, vectors)[1]

    def recall(found: np.ndarray) -> float:
        return float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)]))
    assert recall(rescored) >= 0.95 and recall(rescored) > recall(codes)


def test_compound_questions_lean_on_the_overview():
    from paperdojo.answering.retrieve import question_parts

    assert question_parts("How does TASO find substitutions, and how does it verify them?") == [
        "How does TASO find substitutions", "how does it verify them"]
    assert question_parts("What is X in Orca, why is Y a poor fit, and why does Orca need Z?") == [
        "What is X in Orca", "why is Y a poor fit", "why does Orca need Z"]
    assert question_parts("How does GPipe keep activation memory low?") == [
        "How does GPipe keep activation memory low"]
    assert question_parts("What and why?") == ["What and why?"]  # too short to split: itself


def test_merge_chunks_keeps_text_and_provenance():
    from paperdojo.answering.retrieve import merge_chunks
    from paperdojo.records import Chunk

    text = "One two. Three four. Five six. Seven eight."
    a, b, c = (Chunk("d", "T", "2 S", p, p, s, e, text[s:e])
               for p, (s, e) in [(1, (0, 20)), (1, (9, 30)), (2, (31, 43))])
    overlapping = merge_chunks([a, b])  # the overlap ("Three four.") once
    assert overlapping.text == text[0:30] and (overlapping.char_start, overlapping.char_end) == (0, 30)
    abutting = merge_chunks([b, c])
    assert abutting.text == text[9:43] and (abutting.page_start, abutting.page_end) == (1, 2)


def test_neighbouring_hits_make_one_passage(tmp_path, embedder):
    """Consecutive chunks of a section that both rank high come back as one passage, not two."""
    from helpers import make_pdf, paper_pages

    from paperdojo.library.ingest import ingest
    from paperdojo.settings import Settings

    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    make_pdf(pdfs / "pipe.pdf", paper_pages("pipeline stages", n_pages=3, sentences_per_page=40))
    (tmp_path / "papers.toml").write_text("")
    s = Settings(home=tmp_path, reading_list=tmp_path / "papers.toml", parse_workers=0)
    ingest(s, [pdfs], embedder=embedder)
    index = store.load_index(s.index_dir)
    position = {c.char_start: i for i, c in enumerate(index.chunks)}
    query = "which detail number of pipeline stages does page 2 explain?"
    for most in (1, 2, 3):
        hits = Retriever(index, embedder, merge_chunks=most).search(query, k=6)
        spans = []
        for h in hits:
            first = position[h.chunk.char_start]
            last = max(i for i, c in enumerate(index.chunks) if c.char_end <= h.chunk.char_end)
            assert last - first + 1 <= most and h.matched.chunk_id in {
                c.chunk_id for c in index.chunks[first : last + 1]}
            spans.append((first, last))
        for i, (a, b) in enumerate(spans):  # no two passages are neighbours in one section
            assert not any(a - 1 <= y and x <= b + 1 and index.chunks[a].section == index.chunks[x].section
                           for x, y in spans[i + 1 :])
        if most > 1:
            assert any(b > a for a, b in spans)


def test_marks_skip_the_words_of_asking():
    """A snippet marks the topic's words, not the question's "how does ... work" (unless nothing else)."""
    import Stemmer

    from paperdojo.answering.retrieve import mark, query_terms

    stemmer = Stemmer.Stemmer("english")
    text = "How does the ledger work? The ledger keeps one entry per tile and what it holds."
    marked = mark(text, query_terms(stemmer, "what does the ledger do and how does it work?"), stemmer)
    assert marked.count("**") == 4 and "**ledger**" in marked and "**How**" not in marked
    assert "**work" not in marked and "**what**" not in marked
    assert "**How**" in mark(text, query_terms(stemmer, "how does it work?"), stemmer)


def test_two_copies_of_a_paper_give_each_passage_once(tmp_path, embedder):
    """The same passages in two PDFs (a later version that adds a sentence at its end: other text,
    so two papers; the exact same text is one paper, tests/test_identity.py): search and answers
    list each passage once, from the better-ranked copy."""
    from helpers import PIPE, make_pdf

    from paperdojo.library.ingest import ingest
    from paperdojo.settings import Settings

    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    make_pdf(pdfs / "pipe.pdf", PIPE, header=None, title_meta="Pipe: Micro-Batch Pipelining")
    later = [[*PIPE[0], ("h", "3 Erratum"), "The second version corrects a typo in the first figure."]]
    make_pdf(pdfs / "pipe-v2.pdf", later, header=None, title_meta="Pipe: Micro-Batch Pipelining (v2)")
    (tmp_path / "papers.toml").write_text("")
    s = Settings(home=tmp_path, reading_list=tmp_path / "papers.toml", parse_workers=0)
    ingest(s, [pdfs], embedder=embedder)
    index = store.load_index(s.index_dir)
    assert len({c.doc_id for c in index.chunks}) == 2  # two papers, the same passages
    hits = Retriever(index, embedder).search("Why recompute the forward pass during the backward pass?", k=6)
    texts = [" ".join(h.chunk.text.split()) for h in hits]
    assert hits and len(texts) == len(set(texts))
