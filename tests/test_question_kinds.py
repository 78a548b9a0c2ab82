"""Kinds of question that call for a particular passage: a definition ("What is X?": the passage where
the paper says what X is leads, the answer opens with the defining sentence; on real papers, the four-
paper home of conftest.refusal_answerer) and limitations ("What are the drawbacks of X?": the paper's
section on them leads; on an invented paper)."""

from __future__ import annotations

import re

import pytest
from helpers import make_pdf

from paperdojo.answering.answer import Answerer
from paperdojo.answering.extract import defines
from paperdojo.answering.retrieve import Retriever
from paperdojo.library import store


def test_a_definition_question_draws_first_on_the_passage_defining_the_term(refusal_answerer):
    """'What is RadixAttention?': SGLang's evaluation and appendix name RadixAttention more often than
    the section that says what it is; the passage defining it leads (leads.Leads.definition_lead,
    `define_pool`)."""

    top = refusal_answerer.passages("What is RadixAttention?")[0]
    assert top.chunk.doc_id == "sglang"
    assert any(defines(s, "RadixAttention") for s in re.split(r"(?<=\.)\s+", top.chunk.text))
    answer = refusal_answerer.answer("What is RadixAttention?")
    assert defines(answer.text.split(" [")[0], "RadixAttention"), answer.text


# an invented paper that names its system on every page and gives its limitations a section of their own
HERON = [
    [("h", "Abstract"), "Heron is a tensor compiler that fuses operators for embedded accelerators.",
     ("h", "1 Introduction"), "Heron fuses chains of elementwise operators into one kernel.",
     "Heron picks tile sizes for each fused kernel with a small analytical model.",
     ("h", "2 Design of Heron"), "Heron lowers each fused chain to loops and tiles them for the scratchpad.",
     "Heron schedules the tiles so that the accelerator never waits for the host."],
    [("h", "3 Evaluation of Heron"), "Heron runs ResNet-50 1.7x faster than the vendor library.",
     "Heron compiles MobileNet in 12 seconds on a laptop.",
     "Heron cuts the energy per inference by a third on the test board.",
     ("h", "4 Limitations"), "One limitation is that shapes must be static and known at compile time.",
     "Dynamic control flow is not supported, so recurrent models fall back to the interpreter."],
]


@pytest.fixture(scope="module")
def heron(tmp_path_factory, embedder):
    from conftest import make_settings

    from paperdojo.library.ingest import ingest

    root = tmp_path_factory.mktemp("heron")
    (root / "pdfs").mkdir()
    make_pdf(root / "pdfs" / "heron.pdf", HERON, header=None,
             title_meta="Heron: Operator Fusion for Embedded Accelerators")
    settings = make_settings(root / "home")
    settings.home.mkdir(parents=True)
    settings.reading_list.write_text("")
    ingest(settings, [root / "pdfs"], embedder=embedder)
    return Answerer(Retriever(store.load_index(settings.index_dir), embedder), k=3)


@pytest.mark.parametrize("question", ["What are the drawbacks of Heron?", "What are Heron's limitations?",
                                      "heron downsides?"])
def test_a_question_asking_for_limitations_draws_first_on_their_section(heron, question):
    answer = heron.answer(question)
    assert not answer.refused, answer.text  # "drawbacks" is how one asks, not what the paper must say
    assert answer.sources[0].chunk.section == "4 Limitations"
    assert "static and known at compile time" in answer.text
    if "limitation" not in question:  # the question shares no word with the section's title
        heron.leads.limits_first = False
        try:
            assert heron.passages(question)[0].chunk.section != "4 Limitations"
        finally:
            heron.leads.limits_first = True


@pytest.mark.parametrize(("question", "papers"), [
    ("How does SGLang differ from TVM?", ["sglang", "tvm"]),
    ("ZeRO vs FlashAttention-3?", ["zero", "flashattention-3"]),
    ("Explain SGLang.", ["sglang"]),
    # words about a paper as a whole: its problem, idea, insights (this one was refused: "insights",
    # "behind" held by no passage)
    ("What are the key insights behind FlashAttention-3?", ["flashattention-3"]),
    ("What problem does ZeRO solve?", ["zero"]),
])
def test_a_question_that_only_names_papers_draws_first_on_their_abstracts(refusal_answerer, question, papers):
    """Nothing asked of the papers but what they are: each one's abstract leads, in the order named
    (leads.Leads.overview_lead); before, the top passages for "differ" were evaluation text."""
    answer = refusal_answerer.answer(question)
    assert not answer.refused, answer.text
    lead = [(s.chunk.doc_id, s.chunk.section) for s in answer.sources[: len(papers)]]
    assert lead == [(p, "Abstract") for p in papers]
    assert not refusal_answerer.overview_asked("How does SGLang's runtime differ from TVM's?")  # asks more
    assert refusal_answerer.answer("What problem does Medusa solve?").refused  # no indexed paper's name


def test_acknowledgements_and_artifact_appendices_rank_below_content(refusal_answerer):
    """Back matter (retrieve.BACK_MATTER) gets `back_matter_prior` (< 0); other sections do not."""
    from paperdojo.answering.retrieve import BACK_MATTER

    assert all(BACK_MATTER.match(t) for t in ("Acknowledgments", "11 Acknowledgement", "A Artifact Appendix",
                                              "ACKNOWLEDGEMENTS", "Artifact evaluation"))
    assert not any(BACK_MATTER.match(t) for t in ("A Appendix", "3 Artifact-free design", "4 Evaluation"))
    retriever = refusal_answerer.retriever
    back = [i for i, c in enumerate(retriever.chunks) if BACK_MATTER.match(c.section)]
    assert back and all(retriever.prior[i] < 0 for i in back)
    assert not any(retriever.prior[i] < 0 for i, c in enumerate(retriever.chunks)
                   if not BACK_MATTER.match(c.section))
