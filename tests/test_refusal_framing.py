"""Framing words and refusal (h13frame): the words of a question's scenario (statements before its
asking sentence) that no indexed text holds are not its topic, neither as terms a passage must hold
nor as unknown names; the same words in the asking sentence still are. The questions here are in none
of the probe files (bench/refusal_probe*.jsonl) nor the eval files."""

from __future__ import annotations

import pytest
from helpers import home_with_pdfs

from paperdojo.answering.retrieve import content_terms


@pytest.fixture(scope="module")
def answerer(shared, embedder, tmp_path_factory):
    from paperdojo.workspace import Workspace

    pdfs = [shared / "corpus" / "pdf" / "tvm.pdf"] + [shared / "corpus" / "extra" / f"{n}.pdf"
                                                      for n in ("sglang", "zero", "flashattention-3")]
    settings, report = home_with_pdfs(tmp_path_factory.mktemp("framing"), pdfs, embedder)
    assert report.count("indexed") == 4
    return Workspace(settings).answerer()


def test_scenario_words_are_the_unheld_words_before_the_asking_sentence(answerer):
    question = ("I'm mentoring an intern who is puzzled by our chatbot's latency spikes. "
                "How does prefix sharing in SGLang work?")
    scene = answerer.scenario_words(question)
    assert {"mentoring", "intern", "puzzled"} <= scene
    assert not scene & {"sglang", "prefix", "sharing", "latency"}  # asked, or held by a paper
    stem = answerer.retriever.stemmer
    topic = answerer.topic_terms(question)
    assert stem.stemWord("intern") not in topic and stem.stemWord("prefix") in topic
    assert topic < content_terms(stem, question)


@pytest.mark.parametrize("question", [
    "How does prefix sharing in SGLang help a chatbot for an intern?",  # one sentence
    "I'm mentoring an intern. Prefix sharing in SGLang, chatbot style.",  # no asking sentence
])
def test_no_scenario_without_a_statement_before_the_question(answerer, question):
    assert answerer.scenario_words(question) == set()


def test_a_word_the_asking_sentence_uses_is_no_scenario(answerer):
    scene = answerer.scenario_words("Our chatbot is slow for the intern. Would SGLang speed up a chatbot?")
    assert "intern" in scene and "chatbot" not in scene


def test_a_name_only_in_the_scenario_is_no_unknown_name(answerer):
    scene = ("Our CDN keys its cache by URL path and evicts the coldest entries. "
             "What does SGLang keep in its radix tree, and how does it evict?")
    assert answerer.unknown_names(scene) == []
    assert not answerer.answer(scene).refused
    # the same names in the asking sentence are the topic, and no paper has them
    asked = "How does SGLang's radix tree compare to a CDN keyed by URL?"
    assert set(answerer.unknown_names(asked)) == {"CDN", "URL"}
    assert answerer.answer(asked).refused


def test_an_unknown_topic_after_a_scenario_is_still_refused(answerer):
    answer = answerer.answer("We run a chatbot for our support desk. How does Medusa add extra decoding "
                             "heads to an LLM?")
    assert answer.refused and "Medusa" in answer.reason


def test_a_framed_answerable_question_is_answered(answerer):
    answer = answerer.answer("Our hiring panel grills candidates on this stuff. What does "
                             "FlashAttention-3's pingpong scheduling overlap?")
    assert not answer.refused, answer.reason
