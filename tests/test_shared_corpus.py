"""The 27 real PDFs of ../shared: every chunk has pages and a section and fits the model."""

from __future__ import annotations

import json
import re

import pytest
from conftest import make_settings

from paperdojo.library import store
from paperdojo.library.chunk import embedding_text
from paperdojo.library.ingest import ingest


@pytest.fixture(scope="module")
def corpus(shared, embedder, tmp_path_factory):
    home = tmp_path_factory.mktemp("shared-home")
    settings = make_settings(home, parse_workers=1)
    settings.reading_list.write_text("")
    dirs = [shared / "corpus" / "pdf", shared / "corpus" / "extra"]
    report = ingest(settings, dirs, embedder=embedder)
    return settings, dirs, report, store.load_index(settings.index_dir)


def test_all_indexed_with_provenance(corpus, embedder):
    _, _, report, index = corpus
    assert report.count("indexed") == 27, [(d.id, d.reason) for d in report.docs if d.reason]
    assert 2000 < len(index.chunks) < 5000
    limit = embedder.max_input_tokens - 2
    for c in index.chunks:
        assert c.section and 1 <= c.page_start <= c.page_end
        assert c.n_tokens <= limit
    sample = index.chunks[::97]
    counted = embedder.count_tokens([embedding_text(c, True) for c in sample])
    assert all(n == c.n_tokens for n, c in zip(counted, sample, strict=True))


def test_known_sections_and_pages(corpus):
    _, _, _, index = corpus
    sections = {(c.doc_id, c.section) for c in index.chunks}
    for expected in [("gpipe", "2.2 Algorithm"), ("timeloop", "IV. TIMELOOP OVERVIEW"),
                     ("tvm", "3 Optimizing Computational Graphs"), ("zero", "Abstract"),
                     ("pagedattention", "4.1 PagedAttention")]:
        assert expected in sections
    assert not any("References" in s or "REFERENCES" in s for _, s in sections)
    fused = [c for c in index.chunks if c.doc_id == "tvm" and "injective" in c.text.lower()]
    assert fused and {c.page_start for c in fused} & {4, 5}


def test_gold_pages_exist(corpus, shared):
    _, _, report, _ = corpus
    pages = {d.id: d.pages for d in report.docs}
    for line in (shared / "eval" / "dev.jsonl").read_text().splitlines():
        for gold in json.loads(line)["gold"]:
            assert max(gold["pages"]) <= pages[gold["doc"]]


def test_warm_reingest_is_fast(corpus, embedder):
    settings, dirs, _, _ = corpus
    again = ingest(settings, dirs, embedder=embedder)
    assert again.embedded_docs == 0 and not again.wrote_index and again.seconds < 5


def test_dev_retrieval_beats_the_usual_pipeline(corpus, embedder, shared):
    """The usual LangChain pipeline measured 0.79 / 0.69 / 0.71 here (page hit, MRR, key points)."""
    from paperdojo.answering.retrieve import Retriever
    from paperdojo.evaluation.evaluate import evaluate_retriever, load_questions

    _, _, _, index = corpus
    metrics = evaluate_retriever(Retriever(index, embedder), load_questions(shared / "eval" / "dev.jsonl"))
    assert metrics["n_answerable"] == 42 and metrics["doc_hit@5"] >= 0.95
    assert metrics["page_hit@5"] >= 0.88 and metrics["mrr@10"] >= 0.78 and metrics["kp_recall@5"] >= 0.76


@pytest.mark.xfail(strict=True, reason="issue 16, open: the claim-based grader orders reference > "
                   "half > off-topic on 35 of 42 dev questions (measured 2026-12-01); the target is 90%")
def test_grading_is_sound_on_dev(corpus, embedder, shared):
    """Reference answer > partial answer (half of its key points dropped) > off-topic answer."""
    import re

    from paperdojo.answering.answer import Answerer
    from paperdojo.answering.retrieve import Retriever
    from paperdojo.evaluation.evaluate import kp_found
    from paperdojo.study.interview import Grader, Question

    _, _, _, index = corpus
    grader = Grader(Answerer(Retriever(index, embedder)))
    rows = [json.loads(x) for x in (shared / "eval" / "dev.jsonl").read_text().splitlines()]
    rows = [r for r in rows if r["type"] != "unanswerable"]
    ordered = 0
    for i, r in enumerate(rows):
        q = Question(r["id"], r["question"], [g["doc"] for g in r["gold"]], "")
        sentences = re.split(r"(?<=[.!?])\s+", r["answer"])
        dropped = r["key_points"][len(r["key_points"]) // 2 :]
        kept = [s for s in sentences if not any(kp_found(dropped, s))]
        if not kept or len(kept) == len(sentences):
            words = r["answer"].split()
            half = [" ".join(words[: len(words) // 2])]
            kept = sentences[: len(sentences) // 2] if len(sentences) > 1 else half
        other = next(o for o in rows[i + 1 :] + rows[:i] if not {g["doc"] for g in o["gold"]} & set(q.papers))
        full, part, off = (grader.grade(q, a).score for a in (r["answer"], " ".join(kept), other["answer"]))
        ordered += full > part > off
    assert ordered / len(rows) >= 0.9, f"{ordered} of {len(rows)}"


def _on_pages(pdf_path, needle: str, first: int, last: int) -> bool:
    """Is `needle` (normalized) in PDFium's own text of page `first`, or split across first..last?"""
    import pypdfium2 as pdfium

    from paperdojo.answering.cite import normalized

    pdf = pdfium.PdfDocument(str(pdf_path))
    try:
        a, b = (normalized(pdf[p - 1].get_textpage().get_text_range())[0] for p in (first, last))
    finally:
        pdf.close()
    if first == last:
        return needle in a
    return last == first + 1 and any(needle[:k] in a and needle[k:] in b for k in range(4, len(needle) - 3))


def test_every_cited_sentence_is_on_its_page(corpus, shared):
    """Each cited sentence of the answers to dev.jsonl is on the page it cites, checked against the
    PDF's own text (measured 2026-12-01: 390 of 390; 388 before author-year references that the
    answer leaves out were skipped when locating a sentence; citing the passage's first page got 227
    of 251 in an older sample)."""
    from paperdojo.answering.answer import Answerer
    from paperdojo.answering.cite import normalized
    from paperdojo.answering.retrieve import Retriever
    from paperdojo.library.embed import Embedder

    settings, _, _, index = corpus
    answerer = Answerer.from_settings(Retriever.from_settings(index, Embedder(settings), settings), settings)
    total, missed = 0, []
    for line in (shared / "eval" / "dev.jsonl").read_text().splitlines():
        ans = answerer.answer(json.loads(line)["question"])
        for c in ans.citations:
            total += 1
            pdf = settings.pdf_dir / f"{c.doc_id}.pdf"
            if not (c.found and _on_pages(pdf, normalized(c.sentence)[0], c.page_start, c.page_end)):
                missed.append((c.doc_id, c.pages, c.sentence[:80]))
    print(f"cited sentences on their page: {total - len(missed)} of {total}")
    assert total > 150 and not missed, missed

@pytest.fixture(scope="module")
def graded(corpus, shared):
    """`paperdojo eval --grading ../shared/eval/graded_answers.jsonl --json` over the shared corpus."""
    import contextlib
    import io

    from paperdojo.cli import main

    settings = corpus[0]
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(["--home", str(settings.home), "eval", "--grading",
                     str(shared / "eval" / "graded_answers.jsonl"), "--json"]) == 0
    return json.loads(buffer.getvalue())


def test_grading_contract_on_graded_answers(graded):
    """The contract of graded_answers.md, as far as it holds today (figures in docs/measurements.md)."""
    mean, order = graded["mean"], graded["order"]
    assert graded["n"] == 70 and set(graded["split"]) == {"dev", "dev2"}
    assert order["correct_terms>partial"] >= 0.9 and order["correct_plain>partial"] >= 0.9
    assert order["partial>keywords"] >= 0.85 and order["partial>off_topic"] >= 0.85
    assert mean["correct_terms"] >= 7.0 and mean["correct_plain"] >= 6.5
    assert mean["correct_terms"] - mean["correct_plain"] <= 1.5
    assert mean["keywords"] <= 4.0 and mean["off_topic"] <= 1.5 and mean["dont_know"] <= 0.5


@pytest.mark.xfail(strict=True, reason="not met yet: wrong answers (right vocabulary, reversed facts) "
                   "score 6.0 on average and beat partial ones on 70% of questions (the lexical "
                   "contradiction checks find too few of them; claim-level support, word order and "
                   "minimal-pair tests did not separate them either: docs/measurements.md)")
def test_grading_contract_not_met_yet(graded):
    order = graded["order"]
    assert order["partial>wrong"] >= 0.85 and graded["mean"]["wrong"] <= 4.0


def test_missed_concepts_are_prose(corpus, embedder, shared):
    """In 100 graded answers to dev questions, no missed concept is a table, figure, code, reference or
    related-work fragment, nor a generic phrase of common English ("regular basis", issue 16), nor a
    list across punctuation or a repeat ("roofline diagram roofline"), and each lies inside one
    phrase of the one sentence that explains it."""
    import math
    import re
    from collections import Counter

    from wordfreq import zipf_frequency

    from paperdojo.answering.answer import Answerer
    from paperdojo.answering.retrieve import Retriever
    from paperdojo.study.concepts import WORD, term_words
    from paperdojo.study.interview import Grader, Question

    _, _, _, index = corpus
    grader = Grader(Answerer(Retriever(index, embedder)))
    records = [json.loads(x) for x in (shared / "eval" / "graded_answers.jsonl").read_text().splitlines()]
    residue = re.compile(r"\d+x\d+|\[\d+\]|[{}=;<>]|\bet al\b", re.I)
    counts = Counter(w.lower() for c in index.chunks for w in WORD.findall(c.text))
    total = sum(counts.values())

    def generic(phrase: str) -> bool:
        """Words of common English only ("regular basis", "vice versa"): the library uses each of
        them less than 3 times as often as general English does (Zipf units, wordfreq)."""
        return all(math.log10((counts[w] + 1) * 1e9 / total) - zipf_frequency(w, "en") < math.log10(3)
                   for w in (x.lower() for x in WORD.findall(phrase)))

    def spans_a_break(phrase: str, sentence: str) -> bool:
        """Not one phrase of its sentence: punctuation between its words ("TensorFlow, MXNet")."""
        gap = r"[\s\-\u2010-\u2013]+"
        return not re.search(gap.join(re.escape(w) for w in phrase.split()), sentence)

    bad, graded_n = [], 0
    for record in records:
        q = Question(record["question_id"], record["question"], record["papers"], "")
        for kind in ("partial", "keywords", "wrong"):
            if graded_n == 100:
                break
            graded_n += 1
            for c in grader.grade(q, record["answers"][kind], with_model_answer=False).missing:
                words = " ".join(term_words(c.sentence))
                if (residue.search(c.phrase) or " ".join(term_words(c.phrase)) not in words
                        or generic(c.phrase) or spans_a_break(c.phrase, c.sentence)
                        or len(set(term_words(c.phrase))) < len(term_words(c.phrase))
                        or re.match(r"\s*(fig(ure)?|table)\.?\s*\d", c.sentence, re.I)
                        or re.search(r"related work|references|bibliography", c.hit.chunk.section, re.I)
                        or len(re.findall(r"\[\d+", c.sentence)) >= 2):
                    bad.append((record["question_id"], c.phrase, c.sentence[:80]))
    assert graded_n == 100 and not bad, bad

# (first question, a follow-up that cannot stand alone, the paper the follow-up is about)
FOLLOW_UPS = [
    ("How does GPipe split a model into pipeline stages?", "and how does it save activation memory?",
     "gpipe"),
    ("How does PagedAttention store the KV cache?", "What happens when it runs out of free blocks?",
     "pagedattention"),
    ("What does ZeRO partition across data-parallel ranks?", "and how much memory does that save?", "zero"),
    ("How does FlashAttention tile the attention computation?", "Why does that reduce HBM accesses?",
     "flashattention"),
    ("How does TVM's cost model guide the schedule search?", "what features does it use?", "tvm"),
    ("What does Orca's iteration-level scheduling do?", "why is it better than request-level batching?",
     "orca"),
    ("How does Sarathi split prefills into chunks?", "how does it pick their size?", "sarathi"),
    ("What is a dialect in MLIR?", "and how are they lowered?", "mlir"),
    ("How does DistServe place the prefill and decoding phases?", "why does that improve goodput?",
     "distserve"),
    ("How does Timeloop model a mapping on an accelerator?", "what about its energy estimates?", "timeloop"),
    ("How does GPipe reduce activation memory?", "What about ZeRO?", "zero"),
    ("What are ZeRO's three stages?", "Which one partitions the gradients?", "zero"),
    ("How does PagedAttention store the KV cache?", "ok, and the eviction policy?", "pagedattention"),
    ("What does ZeRO partition across data-parallel ranks?", "what's the communication cost of that?",
     "zero"),
]


@pytest.fixture(scope="module")
def answerer(corpus, embedder):
    from paperdojo.answering.answer import Answerer
    from paperdojo.answering.retrieve import Retriever

    settings, _, _, index = corpus
    return Answerer.from_settings(Retriever.from_settings(index, embedder, settings), settings)


@pytest.mark.parametrize(("first", "follow_up", "paper"), FOLLOW_UPS)
def test_follow_ups_stay_on_topic(answerer, first, follow_up, paper):
    from paperdojo.answering.answer import Conversation

    conversation = Conversation()
    answerer.answer(first, conversation=conversation)
    ans = answerer.answer(follow_up, conversation=conversation)
    assert ans.interpreted and ans.notes[0].startswith("Interpreted as") and not ans.refused
    assert sum(s.chunk.doc_id == paper for s in ans.sources) >= 3, [s.chunk.doc_id for s in ans.sources]


ZERO_MEMORY = "How does ZeRO reduce memory in data-parallel training?"
# a fragment that names a new paper or system after a topic question: the topic asked of the new
# subject (a comparison: of both); the banner's standalone question; each set: a paper of it is cited
NEW_SUBJECT_FOLLOW_UPS = [
    (ZERO_MEMORY, "and how does vLLM compare?", "How does vLLM compare with ZeRO?",
     [{"zero"}, {"pagedattention"}]),
    (ZERO_MEMORY, "what about GPipe?", "How does GPipe reduce memory in data-parallel training?",
     [{"gpipe"}]),
    (ZERO_MEMORY, "and in Megatron?", "How does Megatron reduce memory in data-parallel training?",
     [{"megatron-lm-3d", "megatron-lm-tp"}]),
    (ZERO_MEMORY, "how does it compare in Ring Attention?", "How does Ring Attention compare with ZeRO?",
     [{"zero"}, {"ring-attention"}]),
    ("How does Orca schedule requests?", "how does that differ in DistServe?",
     "How does DistServe compare with Orca?", [{"orca"}, {"distserve"}]),
    ("How does Ansor search for fast schedules?", "same question for TVM",
     "How does TVM search for fast schedules?", [{"tvm"}]),
    ("How does Orca batch requests at the iteration level?", "and vLLM?",
     "How does vLLM batch requests at the iteration level?", [{"pagedattention"}]),
    ("How does Sarathi schedule prefill and decode?", "ok, and what about DistServe?",
     "How does DistServe schedule prefill and decode?", [{"distserve"}]),
    ("How does TVM fuse operators?", "and in Glow?", "How does Glow fuse operators?", [{"glow"}]),
    ("How does GShard shard a model across devices?", "versus GSPMD?", "How does GSPMD compare with GShard?",
     [{"gshard"}, {"gspmd"}]),
    ("What does FSDP shard across GPUs?", "is ZeRO similar?", "How does ZeRO compare with FSDP?",
     [{"pytorch-fsdp"}, {"zero"}]),
    # its own verb: the new paper's passages, the banner gives both questions
    ("How does PagedAttention store the KV cache?", "how does SGLang reuse it?",
     "How does PagedAttention store the KV cache — how does SGLang reuse it?", [{"sglang"}]),
]


@pytest.mark.parametrize(("first", "follow_up", "rewritten", "papers"), NEW_SUBJECT_FOLLOW_UPS)
def test_a_fragment_naming_a_new_subject_asks_the_last_topic_of_it(answerer, first, follow_up, rewritten,
                                                                   papers):
    from paperdojo.answering.answer import Conversation

    conversation = Conversation()
    answerer.answer(first, conversation=conversation)
    ans = answerer.answer(follow_up, conversation=conversation)
    assert ans.interpreted == first and not ans.refused
    assert ans.notes[0].startswith(f'Interpreted as: "{rewritten}"'), ans.notes[0]
    cited = {s.chunk.doc_id for s in ans.cited}
    assert all(wanted & cited for wanted in papers), (cited, ans.text)
    if len(papers) == 1:  # the same question of one new subject: its passages, not the last topic's
        docs = [s.chunk.doc_id for s in ans.sources]
        assert sum(d in papers[0] for d in docs) >= 3, docs


@pytest.mark.parametrize(("before", "question", "papers"), [
    ("How does TVM's tensorize primitive work?", "Compare GPipe and ZeRO in how they reduce memory",
     {"gpipe", "zero"}),
    ("How does FlashAttention tile attention?", "How does speculative decoding work?", set()),
    ("How does GPipe split a model into stages?", "and how does speculative decoding work?", set()),
    ("How does GPipe split a model into stages?",
     "Why is it a problem for an auto-scheduler to prune incomplete programs?", {"ansor"}),
])
def test_a_question_with_its_own_subject_stands_alone(answerer, before, question, papers):
    from paperdojo.answering.answer import Conversation

    conversation = Conversation()
    answerer.answer(before, conversation=conversation)
    after = answerer.answer(question, conversation=conversation)
    alone = answerer.answer(question)
    assert not after.interpreted and after.query == question
    assert [s.chunk.chunk_id for s in after.sources] == [s.chunk.chunk_id for s in alone.sources]
    assert papers <= {s.chunk.doc_id for s in after.sources}


def test_no_context_bleed_on_dev2(answerer, shared):
    """Every dev2 question asked right after an unrelated one gets the passages it gets alone."""
    from paperdojo.evaluation.evaluate import context_bleed, load_questions

    questions = load_questions(shared / "eval" / "dev2.jsonl")
    result = context_bleed(answerer, questions[::3])
    assert result["carried"] == 0 and result["bleed"] == 0.0, result


def test_refusals_on_both_dev_files(answerer, shared):
    """Calibrated on both files (docs/measurements.md): dev 3/3 and 0/42, dev2 6/9 and 1/58."""
    from paperdojo.evaluation.evaluate import load_questions

    for name, refused_at_least, false_at_most in [("dev.jsonl", 3, 0), ("dev2.jsonl", 6, 1)]:
        questions = load_questions(shared / "eval" / name)
        refused = {q.id: answerer.refusal(q.question, answerer.passages(q.question)) != ""
                   for q in questions}
        assert sum(refused[q.id] for q in questions if not q.answerable) >= refused_at_least, name
        assert sum(refused[q.id] for q in questions if q.answerable) <= false_at_most, name


def test_refusals_on_short_questions(answerer):
    """bench/refusal_probe.jsonl, short questions in neither dev file's style: with the held floor
    (Settings.min_similarity_held 0.35: a lower best cosine is refused unless the best passage holds
    every content term and phrase) 8/14 unanswerable refused and 0/28 answerable; with the cosine floor
    0.25 alone, 2/14 and 0/28 (docs/measurements.md, issue 13 item 3)."""
    from pathlib import Path

    probe = Path(__file__).resolve().parent.parent / "bench" / "refusal_probe.jsonl"
    rows = [json.loads(line) for line in probe.read_text(encoding="utf-8").splitlines() if line.strip()]
    refused = {r["question"]: answerer.refusal(r["question"], answerer.passages(r["question"])) != ""
               for r in rows}
    assert refused["What is speculative decoding?"] and refused["what is federated learning?"]
    assert sum(refused[r["question"]] for r in rows if not r["answerable"]) >= 8
    assert not any(refused[r["question"]] for r in rows if r["answerable"])
    # cosine 0.27, but its passage holds the one term it asks about
    assert not refused["Explain RadixAttention."]
    # answerable at cosine 0.36, its phrase "fuse operators" is "operator fusion" in TVM (the app's test)
    question = "How does TVM fuse operators?"
    assert answerer.refusal(question, answerer.passages(question)) == ""
    # cosine 0.29; "catch" is chat, and "ZeRO stage" is ZeRO's stage, no phrase the paper must hold
    question = "What's the catch with ZeRO stage 3?"
    assert answerer.refusal(question, answerer.passages(question)) == ""


# Shapes of the junk issue 13 reports, written independently of prose.kind (a second opinion, so the
# count below does not only ask the classifier the answers were filtered with).
_JUNK_SHAPES = {
    "pseudo-code line": re.compile(r"(?:^|\s)\d{1,2}:\s|\bend (?:for|if|while)\s*(?:\d{1,2}:|\.?$)|←"),
    "table row": re.compile(r"(?:(?:^|\s)[-+]?\d[\d.,]*(?:e-?\d+)?[%×]?(?=\s|$)){4,}"),
    "caption": re.compile(r"^(?:Figure|Fig\.|Table)\s*\d+[a-z]?\s*[:.]|\s(?:Figure|Fig\.|Table)\s\d+:\s"),
    "footnote or affiliation": re.compile(r"^[∗*†‡]|equal contribut|@\w+\.\w|https?://|\bUniversity\b", re.I),
    "figure pointer": re.compile(r"^(?:Figure|Fig\.|Table|Section|§)\s*\d+\S*\s+(?:shows?|present|summari|"
                                 r"illustrat|compar|list|plot|describ|depict)", re.I),
    "own question": re.compile(r"\?$"),
}


def test_answers_hold_only_prose_and_no_repeats(corpus, embedder, shared):
    """Issue 13: over the extractive answers to dev.jsonl and dev2.jsonl, no sentence is pseudo-code,
    a table row, a caption, a footnote or affiliation line, and none repeats another: 0 of each. Also
    no figure pointer or question of the paper's own, by the independent shapes above."""
    from paperdojo.answering.answer import Answerer
    from paperdojo.answering.retrieve import Retriever
    from paperdojo.evaluation.evaluate import JUNK, load_questions, readability
    from paperdojo.library.chunk import sentence_spans

    _, _, _, index = corpus
    answerer = Answerer(Retriever(index, embedder))
    totals = dict.fromkeys(JUNK, 0)
    shapes: list[tuple[str, str]] = []
    n_answers = 0
    for name in ("dev.jsonl", "dev2.jsonl"):
        for q in load_questions(shared / "eval" / name):
            answer = answerer.answer(q.question)
            if answer.refused:
                continue
            n_answers += 1
            counts = readability(answer.text)
            for key in JUNK:
                totals[key] += counts[key]
            plain = re.sub(r"\s?\[\d+\]", "", answer.text)
            seen = set()
            for s, e in sentence_spans(plain, 0, len(plain)):
                sent = plain[s:e]
                shapes += [(kind, sent) for kind, shape in _JUNK_SHAPES.items() if shape.search(sent)]
                key = " ".join(re.findall(r"\w+", sent.lower()))
                if key in seen:
                    shapes.append(("repeated", sent))
                seen.add(key)
    assert n_answers >= 95
    assert totals == dict.fromkeys(JUNK, 0), totals
    assert not shapes, shapes[:10]
