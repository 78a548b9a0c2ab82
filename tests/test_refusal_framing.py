"""Framing words and refusal (h13frame): the words of a question's scenario (statements before its
asking sentence) that no indexed text holds are not its topic, neither as terms a passage must hold
nor as unknown names; the same words in the asking sentence still are. The questions here are in none
of the probe files (bench/refusal_probe*.jsonl) nor the eval files."""

from __future__ import annotations

import pytest

from paperdojo.answering.retrieve import content_terms


def test_scenario_words_are_the_unheld_words_before_the_asking_sentence(refusal_answerer):
    question = ("I'm mentoring an intern who is puzzled by our chatbot's latency spikes. "
                "How does prefix sharing in SGLang work?")
    scene = refusal_answerer.scenario_words(question)
    assert {"mentoring", "intern", "puzzled"} <= scene
    assert not scene & {"sglang", "prefix", "sharing", "latency"}  # asked, or held by a paper
    stem = refusal_answerer.retriever.stemmer
    topic = refusal_answerer.topic_terms(question)
    assert stem.stemWord("intern") not in topic and stem.stemWord("prefix") in topic
    assert topic < content_terms(stem, question)


@pytest.mark.parametrize("question", [
    "How does prefix sharing in SGLang help a chatbot for an intern?",  # one sentence
    "I'm mentoring an intern. Prefix sharing in SGLang, chatbot style.",  # no asking sentence
])
def test_no_scenario_without_a_statement_before_the_question(refusal_answerer, question):
    assert refusal_answerer.scenario_words(question) == set()


def test_a_word_the_asking_sentence_uses_is_no_scenario(refusal_answerer):
    scene = refusal_answerer.scenario_words(
        "Our chatbot is slow for the intern. Would SGLang speed up a chatbot?")
    assert "intern" in scene and "chatbot" not in scene


def test_a_name_only_in_the_scenario_is_no_unknown_name(refusal_answerer):
    scene = ("Our CDN keys its cache by URL path and evicts the coldest entries. "
             "What does SGLang keep in its radix tree, and how does it evict?")
    assert refusal_answerer.unknown_names(scene) == []
    assert not refusal_answerer.answer(scene).refused
    # the same names in the asking sentence are the topic, and no paper has them
    asked = "How does SGLang's radix tree compare to a CDN keyed by URL?"
    assert set(refusal_answerer.unknown_names(asked)) == {"CDN", "URL"}
    assert refusal_answerer.answer(asked).refused


def test_an_unknown_topic_after_a_scenario_is_still_refused(refusal_answerer):
    answer = refusal_answerer.answer("We run a chatbot for our support desk. How does Medusa add extra "
                                     "decoding heads to an LLM?")
    assert answer.refused and "Medusa" in answer.reason


def test_a_framed_answerable_question_is_answered(refusal_answerer):
    answer = refusal_answerer.answer("Our hiring panel grills candidates on this stuff. What does "
                                     "FlashAttention-3's pingpong scheduling overlap?")
    assert not answer.refused, answer.reason
