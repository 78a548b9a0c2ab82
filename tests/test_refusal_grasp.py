"""Refusal when no passage speaks to what is asked (h14refuse, `Answerer.grasp`): a question near a
covered topic whose asked-for thing is a specific word no top passage holds is refused, though it
names nothing unknown; a question in the asker's own words about a covered thing, a scene set in
everyday or informal words, and a question naming a paper are answered. On a home of TVM, SGLang,
ZeRO and FlashAttention-3; the questions are in none of the probe files nor the eval files."""

from __future__ import annotations

import dataclasses

import pytest


def test_the_scene_is_not_what_is_asked(refusal_answerer):
    stem = refusal_answerer.retriever.stemmer.stemWord
    asked = refusal_answerer.asked_terms(
        "My laptop keeps thrashing during fine-tuning. How does partitioning optimizer states save memory?")
    assert stem("partitioning") in asked and stem("memory") in asked
    assert stem("laptop") not in asked and stem("thrashing") not in asked
    # one sentence, or none asking: every word may be what is asked
    assert stem("laptop") in refusal_answerer.asked_terms("why is my laptop slow with zero")
    assert stem("laptop") in refusal_answerer.asked_terms("My laptop is slow. Zero helps.")


def test_a_paper_is_named_in_any_case_and_by_its_parts(refusal_answerer):
    assert refusal_answerer.names_a_paper("what does ZeRO-R target that ZeRO-DP leaves alone?")
    assert refusal_answerer.names_a_paper("how does sglang reuse prompt prefixes")
    assert not refusal_answerer.names_a_paper("how does a pushdown automaton constrain decoding?")
    # everyday words of a paper's name do not name it ("attention" of FlashAttention-3's title)
    assert not refusal_answerer.names_a_paper("how does attention scale with sequence length?")


def test_unheld_weighs_specific_words_not_everyday_ones(refusal_answerer):
    question = "How big is the pushdown automaton that checks nested brackets during decoding?"
    hits = refusal_answerer.passages(question)
    share, words = refusal_answerer.unheld(question, hits)
    assert "pushdown" in words and "automaton" in words
    assert "big" not in words  # Zipf 5.7: everyday English weighs nothing
    assert share > 0
    # a question whose words the passages hold has nothing unheld
    held = "How does the radix tree store the KV cache of shared prompt prefixes?"
    assert refusal_answerer.unheld(held, refusal_answerer.passages(held))[0] < share


NEAR = [
    # near SGLang's regular-expression (finite-state machine) decoding: a stack, not in these papers
    "How does a decoding engine keep nested brackets balanced when a finite-state machine cannot count "
    "them?",
    # near SGLang's batching and ZeRO's memory: many low-rank adapters over one base model
    "How can one GPU batch requests that each carry their own low-rank adapter on a shared base model?",
]


@pytest.mark.parametrize("question", NEAR)
def test_a_near_neighbour_is_refused_by_grasp(refusal_answerer, question):
    answer = refusal_answerer.answer(question)
    assert answer.refused and "do not speak to what is asked" in answer.reason, answer.reason
    # without the floor the same question is answered: the grasp rule is what refuses it
    off = dataclasses.replace(refusal_answerer.grasping, floor=0.0)
    kept = refusal_answerer.grasping
    refusal_answerer.grasping = off
    try:
        assert not refusal_answerer.answer(question).refused
    finally:
        refusal_answerer.grasping = kept


@pytest.mark.parametrize("question", [
    "Our chat server keeps running out of GPU memory on long conversations, it's a mess. How does a "
    "radix tree let the server reuse the KV cache of prompts that share a prefix?",
    "Why does splitting the optimizer states across data-parallel GPUs cut the memory each one needs?",
    "how do hopper kernels keep the tensor cores busy while the softmax runs?",
    "How does a tensor compiler search for fast loop schedules with a learned cost model?",
    "Why does low precision attention need to handle outlier values carefully?",
])
def test_covered_questions_in_the_askers_words_are_answered(refusal_answerer, question):
    answer = refusal_answerer.answer(question)
    assert not answer.refused, answer.reason
