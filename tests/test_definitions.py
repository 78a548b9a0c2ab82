"""Definition questions on real papers ("What is X?"): the passage where a paper says what X is
leads, and the answer opens with the defining sentence. Needs the shared corpus (the four-paper home of
conftest.refusal_answerer)."""

from __future__ import annotations

import re

from paperdojo.answering.extract import defines


def test_a_definition_question_draws_first_on_the_passage_defining_the_term(refusal_answerer):
    """'What is RadixAttention?': SGLang's evaluation and appendix name RadixAttention more often than
    the section that says what it is; the passage defining it leads (Answerer.retrieve, `define_pool`)."""

    top = refusal_answerer.passages("What is RadixAttention?")[0]
    assert top.chunk.doc_id == "sglang"
    assert any(defines(s, "RadixAttention") for s in re.split(r"(?<=\.)\s+", top.chunk.text))
    answer = refusal_answerer.answer("What is RadixAttention?")
    assert defines(answer.text.split(" [")[0], "RadixAttention"), answer.text
