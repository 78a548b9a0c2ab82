"""Kinds of conversation turns that went wrong on main (session 13): a bare "why?" after an answer
repeated that answer; a follow-up as a chat's first question ("how does it scale?") was answered
about whatever it found, without saying there was nothing to refer to; a comparison follow-up that
names one side ("what's the difference with Ibis?") was read on its own and quoted only that side.
Two small invented papers, built by the test."""

from __future__ import annotations

import pytest
from conftest import make_settings
from helpers import make_pdf

from paperdojo.answering.answer import Answerer, Conversation
from paperdojo.answering.retrieve import Retriever
from paperdojo.library import store
from paperdojo.library.ingest import ingest

HERON = [[("h", "Abstract"),
          "Heron serves large language models with a paged key-value cache.",
          ("h", "1 Introduction"),
          "Serving systems waste memory when they reserve the key-value cache for the longest output.",
          "Heron allocates the key-value cache in fixed-size pages as tokens are generated.",
          "Pages of one request need not be contiguous in device memory.",
          ("h", "2 Design"),
          "Heron keeps a page table per request that maps logical pages to physical pages.",
          "Because pages are allocated on demand, fragmentation stays below four percent.",
          "Requests that share a prompt prefix share its pages through reference counts.",
          "When memory runs out, Heron swaps the pages of the newest request to host memory.",
          "This lets Heron batch three times more requests than a reserving allocator.",
          ("h", "3 Memory Reclamation"),
          "Finished requests return their pages to a free list that the next request draws from.",
          "A request whose output stops early never holds memory for the tokens it did not write.",
          "Since the last page of a request is the only one partly filled, waste is bounded by one page.",
          "Heron reclaims the pages of a cancelled request before the next iteration starts.",
          "Copy-on-write splits a shared page only when two requests write different tokens to it.",
          "The free list is kept per device so that allocation needs no global lock.",
          ("h", "4 Evaluation"),
          "Heron raises serving throughput by 2.7 times on the chat workload.",
          "The page size of sixteen tokens balances table overhead against internal waste.",
          "Memory waste falls from sixty percent with reservation to under four percent.",
          "Beam search gains most because its beams share the pages of their common prefix.",
          "The page table lookup adds under three percent to the attention kernel's latency."]]
IBIS = [[("h", "Abstract"),
         "Ibis schedules language model requests at the granularity of one iteration.",
         ("h", "1 Introduction"),
         "Batching whole requests makes short requests wait for long ones to finish.",
         "Ibis instead adds and removes requests from the batch after every decoding iteration.",
         ("h", "2 Design"),
         "Ibis reserves the key-value cache of each request for its maximum output length.",
         "The reservation wastes memory but never needs to swap a running request.",
         "Selective batching lets attention run per request while other operators run batched.",
         ("h", "3 Evaluation"),
         "Ibis cuts median latency by 36 times against request-level batching."]]


@pytest.fixture(scope="module")
def answerer(tmp_path_factory, embedder):
    root = tmp_path_factory.mktemp("kinds")
    pdfs = root / "pdfs"
    pdfs.mkdir()
    make_pdf(pdfs / "heron.pdf", HERON, header=None, title_meta="Heron: Paged Key-Value Caches")
    make_pdf(pdfs / "ibis.pdf", IBIS, header=None, title_meta="Ibis: Iteration-Level Scheduling")
    settings = make_settings(root / "home")
    settings.home.mkdir()
    settings.reading_list.write_text("")
    ingest(settings, [pdfs], embedder=embedder)
    return Answerer(Retriever(store.load_index(settings.index_dir), embedder), k=4)


def _sentences(text: str) -> set[str]:
    import re

    return {s.strip() for s in re.split(r"\s?\[\d+\]", text) if s.strip()}


@pytest.mark.parametrize("why", ["why?", "Why is that?", "how come?", "ok, why?"])
def test_a_bare_why_asks_why_of_the_topic_and_does_not_repeat(answerer, why):
    conv = Conversation()
    first = answerer.answer("How does Heron avoid wasting key-value cache memory?", conversation=conv)
    assert not first.refused
    second = answerer.answer(why, conversation=conv)
    assert not second.refused
    spelled = 'Interpreted as: "Why does Heron avoid wasting key-value cache memory?"'
    assert second.notes[0].startswith(spelled)
    assert _sentences(second.text) and not _sentences(second.text) & _sentences(first.text), second.text


@pytest.mark.parametrize("question", ["How does it scale?", "What are its limitations?", "why?",
                                      "What problem does it solve?", "and how does it do that?",
                                      "how does it handle long prompts?"])
def test_a_follow_up_opening_a_chat_says_there_is_nothing_to_refer_to(answerer, question):
    """Whatever the words found, "it" is nothing in a new chat (or a one-off question): refused with
    what to do, no passage quoted, no nearest sections of some paper it never named."""
    for conv in (Conversation(), None):
        ans = answerer.answer(question, conversation=conv)
        assert ans.refused and not ans.cited and not ans.nearest, ans.text
        assert "no earlier question" in ans.text and "ask it in full" in ans.text


@pytest.mark.parametrize("question", ["and what about Ibis?", "how does this compare to Ibis?"])
def test_a_follow_up_naming_its_subject_in_a_new_chat_is_answered_with_a_note(answerer, question):
    ans = answerer.answer(question, conversation=Conversation())
    assert not ans.refused and {s.chunk.doc_id for s in ans.cited} == {"ibis"}
    assert any("no earlier question in this chat" in n for n in ans.notes), ans.notes


@pytest.mark.parametrize("follow_up", ["what's the difference with Ibis?", "is Ibis better?",
                                       "what is the difference between that and Ibis?", "Ibis versus?",
                                       "and how does Ibis compare?", "is Ibis better at this?"])
def test_a_comparison_follow_up_naming_one_side_quotes_both(answerer, follow_up):
    conv = Conversation()
    answerer.answer("How does Heron manage the key-value cache?", conversation=conv)
    ans = answerer.answer(follow_up, conversation=conv)
    assert ans.interpreted and not ans.refused
    assert {s.chunk.doc_id for s in ans.cited} == {"heron", "ibis"}, ans.text


def test_a_plain_question_in_a_library_of_one_short_paper_is_answered(tmp_path, embedder):
    """In a library of one short paper every word is in most passages, so `follows` finds no topic
    word; a question without a pronoun or an opener before its own words still does not lean on
    anything: answered, no note."""
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    make_pdf(pdfs / "grebe.pdf", [[("h", "Abstract"), "The grebe allocator pools pinned host buffers.",
                                   "It hands each transfer a buffer of the right size class."]],
             header=None, title_meta="Grebe: Pinned Buffer Pools")
    settings = make_settings(tmp_path / "home")
    settings.home.mkdir()
    settings.reading_list.write_text("")
    ingest(settings, [pdfs], embedder=embedder)
    one = Answerer(Retriever(store.load_index(settings.index_dir), embedder), k=4)
    for conv in (Conversation(), None):
        ans = one.answer("What does the grebe allocator pool?", conversation=conv)
        assert not ans.refused and "pinned host buffers" in ans.text and not ans.notes, (ans.text, ans.notes)
        assert one.answer("What are its limitations?", conversation=Conversation() if conv else None).refused
    # a pronoun after the question's own subject points inside it, not back (found by h13lib: "Why does
    # each pipeline stage recompute its forward pass?" was refused as a chat's first question)
    ans = one.answer("Why does the allocator pool its buffers?", conversation=Conversation())
    assert not ans.refused and "pinned host buffers" in ans.text and not ans.notes, (ans.text, ans.notes)
