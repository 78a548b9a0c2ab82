"""The on-disk generation (format 2): built at ingest, read lazily, old formats refused by name."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import bm25s
import numpy as np
import pytest
import Stemmer

from paperdojo.answering.answer import Answerer
from paperdojo.answering.retrieve import Retriever, each_paper_near_top, top_order
from paperdojo.evaluation import scale
from paperdojo.library import store
from paperdojo.library.chunk import heading_text

WORDS = ["pipeline", "parallel", "stage", "micro", "batch", "bubble", "tensor", "shard", "optimizer",
         "state", "gradient", "memory", "kernel", "fusion", "schedule", "compiler", "loop", "tile", "cache",
         "attention", "softmax", "collective", "ring"]


def _source(seed: int = 0) -> scale.Source:
    rng = np.random.default_rng(seed)
    sentences = [" ".join(rng.choice(WORDS, size=int(rng.integers(6, 14)))).capitalize() + "."
                 for _ in range(400)]
    return scale.Source(sentences, ["GPipe: pipelines", "ZeRO: memory", "TVM: compilers"],
                        ["Abstract", "1 Introduction", "3 Method", "5 Evaluation"])


def _library(index_dir: Path, n: int, seed: int = 0) -> tuple[list, np.ndarray]:
    """A generation of `n` synthetic chunks with random unit vectors, by the ingest's writer."""
    source = _source(seed)
    docs = [scale.synthetic_doc(source, i, 50, seed) for i in range((n + 49) // 50)]
    chunks = [c for d in docs for c in d.chunks][:n]
    vectors = np.random.default_rng(seed).standard_normal((n, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    manifest = {"model": "test", "dim": 384, "docs": {d.doc_id: {"title": d.title, "status": "indexed"}
                                                      for d in docs}}
    store.write_generation(index_dir, manifest, iter(chunks), vectors, {d.doc_id: d.data for d in docs})
    return chunks, vectors


def _traced(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every SQL statement run on connections opened from now on (SQLite's trace hook)."""
    statements: list[str] = []
    connect = sqlite3.connect

    def tracing(*args, **kw):  # noqa: ANN002, ANN003, ANN202
        db = connect(*args, **kw)
        db.set_trace_callback(statements.append)
        return db

    monkeypatch.setattr(sqlite3, "connect", tracing)
    return statements


def _chunk_rows_read(statements: list[str]) -> set[int]:
    rows: set[int] = set()
    for sql in statements:
        if "FROM chunks" in sql:
            m = re.search(r"id IN \(([\d, ]+)\)", sql)
            assert m, f"a read of chunks that is not by row: {sql[:200]}"
            rows |= {int(x) for x in m.group(1).split(",")}
    return rows


def test_loading_reads_no_chunk_text_and_a_query_reads_only_its_hits(tmp_path, monkeypatch, embedder):
    chunks, _ = _library(tmp_path / "index", 3000)
    row_of = {c.chunk_id: i for i, c in enumerate(chunks)}
    statements = _traced(monkeypatch)
    index = store.load_index(tmp_path / "index")
    retriever = Retriever(index, embedder)
    answerer = Answerer(retriever)
    assert not [s for s in statements if "FROM chunks" in s or "FROM docs" in s], statements
    # nor a pattern per paper: a question's names are looked up by its words (answering.names)
    assert len(answerer.aliases) == 60 and not answerer.aliases._patterns
    head = chunks[1234].title.split(":")[0]  # e.g. "GPipe 24": the head of a paper's title
    assert answerer.named_papers(f"What does {head} say about bubbles?") == {chunks[1234].doc_id}
    assert len(answerer.aliases._patterns) == 1
    hits = retriever.search("pipeline bubble micro batch schedule", k=5)
    read = _chunk_rows_read(statements)
    assert hits and len(read) <= retriever.merge_pool * 5 * retriever.merge_chunks < len(chunks) / 50
    assert {row_of[h.matched.chunk_id] for h in hits if h.matched} <= read
    statements.clear()
    answerer.answer("How does the pipeline schedule shrink the bubble?")
    # the passages of its few searches (question and its parts), not the library
    assert 0 < len(_chunk_rows_read(statements)) < len(chunks) / 10
    assert answerer.unknown_names("Is Megatron faster than ZeRO here?") == ["Megatron"]
    # chat framing is no name: "ELI5:", "TL;DR", "FYI"
    assert answerer.unknown_names("ELI5: is Megatron faster? TL;DR please, FYI") == ["Megatron"]
    # a capital that starts any sentence is the sentence's (an imperative), not a name's; "e.g." ends none
    assert answerer.unknown_names("Is Megatron fast? Reconcile that with ZeRO.") == ["Megatron"]
    assert answerer.unknown_names("Is a paper fast, e.g. Megatron?") == ["Megatron"]


@pytest.mark.parametrize("batch", [store.WRITE_BATCH, 97])
def test_lexical_index_scores_as_bm25s_built_from_every_chunk(tmp_path, monkeypatch, batch):
    """Also when the postings are put in place over several writer batches (97 chunks each)."""
    monkeypatch.setattr(store, "WRITE_BATCH", batch)
    chunks, _ = _library(tmp_path / "index", 600)
    index = store.load_index(tmp_path / "index")
    stem = Stemmer.Stemmer("english")
    reference = bm25s.BM25()
    reference.index(bm25s.tokenize([heading_text(c.title, c.section) + "\n" + c.text for c in chunks],
                                   stopwords="en", stemmer=stem, show_progress=False), show_progress=False)
    for query in ("pipeline bubble", "optimizer state shard memory", "ring collective of the kernel"):
        tokens = bm25s.tokenize([query], stopwords="en", stemmer=stem, return_ids=False,
                                show_progress=False)[0]
        assert np.array_equal(reference.get_scores(tokens), index.bm25.get_scores(tokens))
    ours, ref = index.bm25.scores, reference.scores
    assert len(ours["data"]) == len(ref["data"])
    for term, i in reference.vocab_dict.items():  # each term's postings: the same chunks, scores, order
        if i + 1 >= len(ref["indptr"]):
            continue  # the empty token bm25s adds
        j = index.bm25.vocab_dict[term]
        a = slice(ref["indptr"][i], ref["indptr"][i + 1])
        b = slice(ours["indptr"][j], ours["indptr"][j + 1])
        assert np.array_equal(ref["indices"][a], ours["indices"][b]), term
        assert np.array_equal(ref["data"][a], ours["data"][b]), term
    assert isinstance(index.bm25.scores["data"], np.memmap)  # postings stay on disk
    assert "bubble" in index.vocabulary and "zzz-not-a-word" not in index.vocabulary


def test_an_old_generation_stays_readable_after_a_new_one_replaces_it(tmp_path):
    chunks, _ = _library(tmp_path / "index", 300)
    old = store.load_index(tmp_path / "index")
    first = old.path
    _library(tmp_path / "index", 200, seed=1)
    assert not first.exists()
    assert old.chunks[299].text == chunks[299].text  # open handles: the files are gone, not their data
    assert old.doc_texts()[chunks[0].doc_id]["text"][: 20] == chunks[0].text[:20]
    assert len(store.load_index(tmp_path / "index").chunks) == 200


def test_old_format_is_refused_naming_the_command_that_rewrites_it(tmp_path):
    _library(tmp_path / "index", 100)
    gen = store.current_generation(tmp_path / "index")
    manifest = json.loads((gen / "manifest.json").read_text())
    (gen / "manifest.json").write_text(json.dumps({**manifest, "format": 1}))
    with pytest.raises(store.IndexOutdated, match=r"format 1.*`paperdojo ingest`.*per-paper parts"):
        store.load_index(tmp_path / "index")


def test_a_damaged_large_file_is_caught_by_size_at_load_and_by_hash_in_a_full_check(tmp_path, monkeypatch):
    _library(tmp_path / "index", 500)
    gen = store.current_generation(tmp_path / "index")
    monkeypatch.setattr(store, "VERIFY_FULL_BYTES", 1000)  # every file counts as large here
    with open(gen / "vectors.npy", "r+b") as fh:
        fh.seek(-10, 2)
        fh.write(b"\x00" * 10)
    store.load_index(tmp_path / "index")  # same size: only the doctor's full check hashes it
    with pytest.raises(store.IndexCorrupt, match="vectors.npy is damaged"):
        store.load_index(tmp_path / "index", full_check=True)
    with open(gen / "vectors.npy", "ab") as fh:
        fh.write(b"\x00")
    with pytest.raises(store.IndexCorrupt, match="vectors.npy is damaged"):
        store.load_index(tmp_path / "index")


def test_writer_refuses_chunks_and_vectors_that_do_not_pair(tmp_path):
    source = _source()
    doc = scale.synthetic_doc(source, 0, 10)
    with pytest.raises(ValueError, match="10 chunks for 9 vectors"):
        store.write_generation(tmp_path / "index", {"dim": 384}, doc.chunks,
                               np.zeros((9, 384), np.float32), {doc.doc_id: doc.data})
    assert store.current_generation(tmp_path / "index") is None


def _ann_generation(index_dir: Path, model_id: str) -> list:
    """An IVF-PQ generation of 40 synthetic papers of 50 chunks (random unit vectors) in
    `index_dir`; returns the papers (scale.synthetic_doc)."""
    source = _source()
    docs = [scale.synthetic_doc(source, i, 50) for i in range(40)]
    chunks = [c for d in docs for c in d.chunks]
    vectors = np.random.default_rng(0).standard_normal((len(chunks), 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    manifest = {"model": model_id, "dim": 384, "index_type": "ivfpq",
                "docs": {d.doc_id: {"title": d.title, "status": "indexed"} for d in docs}}
    store.write_generation(index_dir, manifest, iter(chunks), vectors, {d.doc_id: d.data for d in docs})
    return docs


def test_an_ann_search_ranks_its_candidates_as_the_fusion_over_every_chunk(tmp_path, embedder):
    """With an ANN index the fusion runs over the candidates only; it ranks them as the fusion over
    every chunk does with the same dense scores (-1 outside the candidates)."""
    docs = _ann_generation(tmp_path / "index", embedder.model_id)
    retriever = Retriever(store.load_index(tmp_path / "index"), embedder, lexical_candidates=50)
    assert not retriever.exact
    papers = {docs[3].doc_id}
    for query in ("pipeline bubble micro batch", "optimizer state shard memory", "kernel ring collective"):
        qvec = embedder.encode([query])[0]
        keep = retriever.mask(None)
        lexical = retriever.bm25_scores(query).astype(np.float64)
        dense = retriever.dense_scores(qvec, lexical, keep, 50)
        lexical = lexical / lexical.max()
        fused = retriever.with_neighbours(dense + retriever.bm25_weight * lexical) + retriever.prior \
            + retriever.paper_boost * np.isin(retriever.chunk_doc, retriever.doc_numbers(papers))
        before = each_paper_near_top(retriever._passages(top_order(fused, 50), fused, dense, lexical, 15),
                                     papers, 5)  # what search did before: the fusion over every chunk
        hits = retriever.search(query, k=5, papers=papers)
        assert [h.chunk.chunk_id for h in hits] == [h.chunk.chunk_id for h in before], query
        assert np.allclose([h.score for h in hits], [h.score for h in before], atol=1e-5), query


def test_an_ann_search_scores_the_settings_count_of_best_bm25_chunks_exactly(tmp_path, embedder):
    """`lexical_candidates` (Settings) reaches the retriever: with an ANN index, that many best BM25
    chunks (and their neighbours) are among the chunks scored exactly, and not many more."""
    from paperdojo.settings import Settings

    _ann_generation(tmp_path / "index", embedder.model_id)
    index = store.load_index(tmp_path / "index")
    query = "pipeline bubble micro batch schedule"
    qvec = embedder.encode([query])[0]
    for count in (100, 600):
        settings = Settings(home=tmp_path, lexical_candidates=count)
        retriever = Retriever.from_settings(index, embedder, settings)
        assert not retriever.exact and retriever.lexical_candidates == count
        lexical = retriever.bm25_scores(query)
        rows = retriever.candidates(qvec, lexical, retriever.mask(None), 50)
        assert set(top_order(lexical, count).tolist()) <= set(rows.tolist())
        assert len(rows) <= 3 * (count + 200)  # the BM25 and ANN candidates with their two neighbours


def test_an_ann_generation_maps_its_vectors_for_random_rows(tmp_path):
    """With an ANN index the vectors stay on disk, mapped with MADV_RANDOM (the kernel reads the rows
    a query re-scores, not its read-ahead window around each); the values are the file's."""
    source = _source()
    docs = [scale.synthetic_doc(source, i, 50) for i in range(30)]
    chunks = [c for d in docs for c in d.chunks]
    vectors = np.random.default_rng(1).standard_normal((len(chunks), 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    manifest = {"model": "test", "dim": 384, "index_type": "ivfpq",
                "docs": {d.doc_id: {"title": d.title, "status": "indexed"} for d in docs}}
    gen = store.write_generation(tmp_path / "index", manifest, iter(chunks), vectors,
                                 {d.doc_id: d.data for d in docs})
    index = store.load_index(tmp_path / "index")
    assert not index.exact and not index.vectors.flags.writeable
    assert np.array_equal(index.vectors, vectors) and index.vectors.dtype == np.float32
    smaps = Path("/proc/self/smaps")
    if not smaps.exists():
        pytest.skip("the mapping's advice is read from Linux's /proc/self/smaps")
    mapping = r"^\S+ \S+ \S+ \S+ \S+ +(.*)\n(?:(?!VmFlags).*\n)*VmFlags: (.*)$"  # its file, its flags
    flags = re.findall(mapping, smaps.read_text(), re.M)
    advised = [vm.split() for name, vm in flags if name == str(gen / "vectors.npy")]
    assert advised and all("rr" in vm for vm in advised)  # rr: VM_RAND_READ, set by MADV_RANDOM
