"""Refusal on casual questions (h13refuse): compounds in any spelling, chat framing, numbers inside a
phrase, a plain common word, and a short question's phrase no paper holds. The questions here are in
none of the probe files (bench/refusal_probe*.jsonl) nor the eval files."""

from __future__ import annotations

import pytest
import Stemmer

from paperdojo.answering.retrieve import content_pairs, content_terms, respelled
from paperdojo.library.lexical import stem_sequence

STEM = Stemmer.Stemmer("english")


def words(text: str, question: str) -> list[str]:
    return respelled(STEM, stem_sequence(STEM, text), content_terms(STEM, question))


def test_a_compound_is_held_in_every_spelling():
    joined = "how do compilers do autovectorization?"
    for text in ("loops get auto-vectorization", "loops get auto vectorization"):
        assert STEM.stemWord("autovectorization") in words(text, joined)
    spaced = "what is the data flow of the accelerator?"
    got = words("the dataflow accelerator", spaced)
    assert (STEM.stemWord("data"), STEM.stemWord("flow")) in set(zip(got, got[1:], strict=False))
    # a short join never merges by chance, and words that make no question term stay as they are
    assert words("the update is done in place", "what is an inplace update?")[-1] == STEM.stemWord("inplace")
    assert words("it sits on top", "what is ontop?") == stem_sequence(STEM, "it sits on top")
    assert words("auto tuning", "how does tiling work?") == ["auto", "tune"]


def test_chat_framing_is_no_content():
    question = "ok so quick q: whats the trick to loop tiling, tbh idk"
    assert content_terms(STEM, question) == {"loop", "tile"}


def test_a_digit_breaks_a_phrase():
    question = "what does level 2 cache hold?"
    pairs = content_pairs(STEM, question, content_terms(STEM, question))
    assert (STEM.stemWord("level"), STEM.stemWord("cache")) not in pairs
    assert (STEM.stemWord("cache"), STEM.stemWord("hold")) in pairs


def test_paper_spelling_of_a_joined_word(refusal_answerer):
    # TVM writes "auto-tuning" (BM25 splits it); the question's joined word alone matches none of its
    # passages
    question = "ok so how does tvm do autotuning"
    assert refusal_answerer.paper_spelling(question, {"tvm"}) == question + " (auto tuning)"
    assert refusal_answerer.paper_spelling(question, set()) == question  # no paper named: as asked


@pytest.mark.parametrize("question", [
    "ok so how does tvm do autotuning",          # joined; TVM writes auto-tuning
    "quick q: what's ping-pong scheduling in flashattention 3",  # FlashAttention-3 writes pingpong
    "hey what does zero stage 3 cost",        # "cost": the paper's "volume"
])
def test_casual_answerable_questions_are_answered(refusal_answerer, question):
    answer = refusal_answerer.answer(question)
    assert not answer.refused, answer.reason


def test_a_short_phrase_no_paper_holds_is_refused(refusal_answerer):
    # SGLang writes "speculative" (API speculative execution) and "decoding", never together
    answer = refusal_answerer.answer("tl;dr speculative decoding?")
    assert answer.refused and '"speculative decoding"' in answer.reason
