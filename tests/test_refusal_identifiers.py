"""Identifiers joined by underscores and refusal (h14held3): pdftotext turns an underscore printed in
a PDF into a space ("x86 64", "conv3 2" in the shared papers' text), so a name typed with underscores
is held when the papers have its parts in a row; a name no paper has in a row is still unknown. The
questions here are in none of the eval or probe files."""

from __future__ import annotations


def test_a_name_with_underscores_is_held_by_its_parts_in_a_row(refusal_answerer):
    # FlashAttention-3's text has "H100 SXM5" (four times), never "H100_SXM5"
    assert "h100_sxm5" not in refusal_answerer.vocab
    assert refusal_answerer.spelled_apart("H100_SXM5")
    question = "What FP8 throughput does FlashAttention-3 reach on an H100_SXM5?"
    assert refusal_answerer.unknown_names(question) == []
    assert not refusal_answerer.answer(question).refused


def test_parts_held_apart_but_never_in_a_row_are_unknown(refusal_answerer):
    # "H100" and "V100" are both in the papers, but not as "H100 V100"
    assert not refusal_answerer.spelled_apart("H100_V100")
    assert refusal_answerer.unknown_names("How fast is attention on an H100_V100 box?") == ["H100_V100"]
    # a part that no paper holds
    assert not refusal_answerer.spelled_apart("H100_SXM9")


def test_only_parts_that_are_bm25_terms_choose_the_chunks_read(refusal_answerer):
    assert refusal_answerer.spelled_apart("H100_80GB")  # "H100 80GB", 18 times
    assert not refusal_answerer.spelled_apart("x_8")  # no part of two characters: nothing to look up
    assert not refusal_answerer.spelled_apart("SXM5")  # one part: no underscore name


def test_a_misspelled_or_british_word_is_searched_in_the_papers_spelling(refusal_answerer):
    a = refusal_answerer
    assert a.spelling("tensorise") == "tensorize"  # TVM's spelling
    assert a.spelling("memroy") == "memory"  # two letters swapped
    assert a.spelling("paralel") == "parallel"  # a letter dropped
    assert a.respelled("how does tvm tensorise for a custom gemm unit") == (
        "how does tvm tensorise for a custom gemm unit (tensorize)")


def test_real_words_and_names_are_no_typos(refusal_answerer):
    a = refusal_answerer
    assert a.spelling("automaton") == ""  # English (Zipf 2.7), though one edit from "automation"
    assert a.spelling("pushdown") == ""  # nothing indexed one edit away
    question = "How does Medusa use extra decoding heads?"
    assert a.respelled(question) == question  # capitalised names are never respelled
    assert a.answer("We run a chatbot. How does Medusa add extra decoding heads to an LLM?").refused
