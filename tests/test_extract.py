"""Sentence selection of the extractive answer (answering/extract.py) with the bundled MiniLM.

The passages are written here (a made-up serving system and compiler), not taken from any question set.
"""

from __future__ import annotations

import Stemmer

from paperdojo.answering.extract import (
    MAX_WORDS,
    MAX_WORDS_BRIEF,
    MAX_WORDS_SEVERAL,
    Selection,
    alternatives,
    budget,
    candidates,
    defines,
    definition_term,
    derived_terms,
    extract,
    parts,
    several_parts,
)
from paperdojo.answering.retrieve import content_terms

STEM = Stemmer.Stemmer("english")

# passage 1 speaks at length to the first part of the question and names the second part's terms in
# passing; the second part is answered once, in passage 3, behind a passage on something else
PAGER = ("The pager keeps a block table for every request that maps its logical blocks to physical blocks. "
         "Each logical block of the block table holds the keys and values of sixteen tokens. "
         "The pager allocates a new physical block only when the last logical block of a request is full. "
         "Physical blocks of one request need not be contiguous in the memory of the device. "
         "The block table of a request grows by one entry whenever the pager maps a new logical block. "
         "Logical blocks that several requests share point to the same physical block in the block table. "
         "The pager frees the physical blocks of a request as soon as the request finishes. "
         "The scheduler asks the pager for small blocks before each step, and a recomputation goes "
         "through the pager like any other request.")
LOGGING = ("The logging service writes one record per finished request to a rotating file. "
           "Each record holds the arrival time, the prompt length and the number of generated tokens.")
SCHEDULER = ("When the device runs out of memory the scheduler preempts the newest request. "
             "For small blocks the scheduler prefers recomputation, because copying many small blocks "
             "over the bus wastes its bandwidth. "
             "The evicted request waits in a queue until enough memory is free again.")


def _answer(question: str, passages: list[str], embedder, how: Selection | None = None,  # noqa: ANN001
            words: int | None = None) -> str:
    return extract(question, passages, content_terms(STEM, question), STEM, embedder, how, words=words)


def test_parts_of_a_question_and_the_alternatives_it_weighs():
    q = ("How does the pager map logical blocks to physical blocks, and why does the scheduler prefer "
         "recomputation?")
    assert parts(q) == ["How does the pager map logical blocks to physical blocks",
                        "and why does the scheduler prefer recomputation?"]
    assert parts("In the pager, how are blocks mapped?") == ["In the pager, how are blocks mapped?"]
    assert parts("What is a block table? How does it grow?") == ["What is a block table?",
                                                                 "How does it grow?"]
    q = "Is a preempted request restored by swapping or by recomputation, and when?"
    assert alternatives(q, content_terms(STEM, q), STEM) == ["swap", "recomput"]
    q = "Does the compiler emit a static or a dynamic library?"
    assert alternatives(q, content_terms(STEM, q), STEM) == ["static", "dynam"]
    assert alternatives("Is it fast or not?", content_terms(STEM, "Is it fast or not?"), STEM) == []


def test_a_contrast_of_two_alternatives_is_answered_at_the_length_of_several_parts():
    for q in ("Why guide the search with a learned cost model instead of blackbox auto-tuning?",
              "Why keep loop nests rather than lowering to a flat control-flow graph early?",
              "Can the workload be packaged as either a static or a dynamic library?",
              "Unlike data parallelism, what does the partitioned optimizer keep on each GPU?"):
        assert several_parts(q), q
        assert budget(q) == MAX_WORDS_SEVERAL
    assert budget("How does the pager map logical blocks to physical blocks?") == MAX_WORDS


def test_a_request_for_a_short_answer_gets_one():
    """"Briefly", "in one sentence", "TL;DR": a short answer, whatever the parts; "quickly" as the
    topic's word and "in a line buffer" are no such request."""
    for q in ("Briefly, what is PagedAttention?", "In one sentence, how does ZeRO partition states?",
              "TL;DR of FlashAttention's tiling", "tldr: why and how does GPipe re-materialize?",
              "What does 1F1B trade against GPipe, in a nutshell?"):
        assert budget(q) == MAX_WORDS_BRIEF < MAX_WORDS, q
    assert budget("How does Timeloop compute access counts quickly?") == MAX_WORDS
    assert budget("What is kept in a line buffer?") == MAX_WORDS


def test_each_part_of_a_question_gets_its_best_sentence(embedder):
    q = ("How does the pager map logical blocks to physical blocks, and why does the scheduler prefer "
         "recomputation for small blocks?")
    passages = [PAGER, LOGGING, SCHEDULER]
    answer = _answer(q, passages, embedder, words=45)
    assert "prefers recomputation" in answer and "[3]" in answer
    assert "block table" in answer  # the first part is answered too
    # without seeding each part, passage 1's sentence that only names the second part's terms wins
    assert "prefers recomputation" not in _answer(q, passages, embedder, Selection(seeds=False), words=45)


def test_each_alternative_of_a_comparison_is_heard(embedder):
    swapping = ("Swapping copies the evicted blocks of a request to host memory over the bus. "
                "Swapping keeps the host copy until the request is scheduled again. "
                "Swapping restores the blocks by copying them back to the device before the request resumes. "
                "Swapping moves whole blocks, so a large block makes each transfer efficient.")
    recompute = ("The other way back is recomputation: the prompt and the tokens generated so far are run "
                 "through the model again as one prefill.")
    q = "Is a preempted request brought back by swapping or by recomputation, and how?"
    passages = [swapping, LOGGING, recompute]
    answer = _answer(q, passages, embedder, words=45)
    assert "recomputation:" in answer and "Swapping" in answer
    assert "recomputation:" not in _answer(q, passages, embedder, Selection(seeds=False), words=45)


def test_the_budget_counts_the_citation_marks(embedder):
    short = " ".join(["The pager maps logical blocks to physical blocks.",
                      "Each logical block holds sixteen tokens of keys.",
                      "A block table lists the physical blocks used.",
                      "The pager maps a new block when one fills.",
                      "Physical blocks need not be contiguous in memory.",
                      "Shared logical blocks map to one physical block.",
                      "The pager frees blocks when a request ends.",
                      "Block tables grow by one entry per block.",
                      "The pager copies a block on a write."])
    q = "How does the pager map logical blocks to physical blocks?"
    for words in (40, 60, 90):
        answer = _answer(q, [short], embedder, words=words)
        assert answer and len(answer.split()) <= words
    # counting only the sentences' words, the marks [1] take the answer over its limit
    assert len(_answer(q, [short], embedder, Selection(count_marks=False), words=60).split()) > 60


def test_the_next_item_of_a_chosen_list_follows_it(embedder):
    items = ("The representation differs from virtual machines for high-level languages in three ways. "
             "(1) It has no notion of classes, inheritance or exceptions, even for languages with them. "
             "(2) It specifies no runtime system and no object model of its own. "
             "(3) It guarantees no type safety beyond what the assembly language of a processor guarantees.")
    other = ("Virtual machines for high-level languages verify bytecode before running it. "
             "A virtual machine for a high-level language compiles hot methods just in time.")
    q = "How does the low-level representation differ from virtual machines for high-level languages?"
    # 60 words: room for the intro, (1), (2) and the other passage's sentence, which holds all of the
    # question's terms ("high-level" counts as "high" and "level", as in the question)
    answer = _answer(q, [items, other], embedder, words=60)
    assert "three ways. [1] (1)" in answer and "(2)" in answer
    assert "(1)" not in _answer(q, [items, other], embedder, Selection(list_weight=0.0), words=60)


def test_a_comparative_with_its_other_side_is_answered_at_the_length_of_several_parts():
    for q in ("Why does the pager waste less memory than a contiguous allocator as batches grow?",
              "Is paging faster overall than swapping whole requests out?",
              "why is the compiler ahead-of-time and not just-in-time?",
              "Why keep a block table but not a free list?"):
        assert several_parts(q), q
        assert budget(q) == MAX_WORDS_SEVERAL
    # "than" with a quantity after it is no comparison of two things
    for q in ("How does the pager map blocks when a request holds more than one sequence?",
              "Why does the pager need more than 4 GB of host memory?",
              "How does the pager keep not only keys but values?",
              "What does the pager store other than keys?"):
        assert not several_parts(q), q
        assert budget(q) == MAX_WORDS


def test_a_hyphenated_word_matches_its_parts_in_the_question(embedder):
    # the question's terms are split at hyphens (BM25's tokens): "micro-batching" -> micro, batch;
    # a sentence's "micro-batches" is split the same way, so its words are found
    q = "How does the trainer form its micro-batching groups?"
    passages = ["The trainer groups the layers of the model into stages of equal cost. "
                "The trainer splits every mini-batch into four equal micro-batches before the pipeline "
                "starts."]
    cands = candidates(passages, STEM)
    assert {"micro", "batch"} <= cands[1].terms
    # scored by the question's terms alone (no sentence goes through the model), it is the one quoted
    answer = _answer(q, passages, embedder, Selection(max_encoded=0, part_encoded=0), words=16)
    assert "micro-batches" in answer and "stages" not in answer


def test_a_question_term_in_another_derived_form_is_found():
    # Snowball stems "assumes" to "assum" and "assumption" to "assumpt": the same word for a reader
    assert STEM.stemWord("assumption") != STEM.stemWord("assumes")
    q = content_terms(STEM, "What assumption does the latency model make, and under which constraint?")
    sentence = content_terms(STEM, "this model assumes negligible stalls and constrains no buffer")
    assert derived_terms(q, sentence) == {STEM.stemWord("assumption"), STEM.stemWord("constraint")}
    # a longer tail is another word ("inter" of "inter-node" is no "interference"; "tensorflow")
    q = content_terms(STEM, "How is interference between tensor shards avoided?")
    assert derived_terms(q, {"inter", "tensorflow", "shard"}) == set()
    assert derived_terms({"fuse"}, {"fuser"}) == set()  # stems under five letters are short words


def test_a_sentence_holding_the_question_term_in_another_form_is_quoted(embedder):
    q = "What assumption about constraints does the simulator rest on?"
    passages = ["The simulator rests on counts of the reads of every layer. "
                "The simulator assumes a constrained order, so transfers never stall."]
    lexical = Selection(max_encoded=0, part_encoded=0)  # scored by the question's terms alone
    assert "never stall" in _answer(q, passages, embedder, lexical, words=13)
    lexical.derived = 0
    assert "never stall" not in _answer(q, passages, embedder, lexical, words=13)


def test_a_question_asking_what_a_term_is_names_the_term():
    assert definition_term("What is a spill ledger?") == "spill ledger"
    assert definition_term("what's a dialect in the compiler?") == "dialect"
    assert definition_term("Define re-materialization.") == "re-materialization"
    assert definition_term("What does SSA stand for?") == "SSA"
    assert definition_term("What do the authors mean by 'goodput'?") == "goodput"
    assert definition_term("Spill ledger: what is it?") == "Spill ledger"
    assert definition_term("In the runtime, what is a spill ledger, and why is it needed?") == "spill ledger"
    # questions about something else than what the term is
    for q in ("What is the role of the spill ledger?", "What is the spill ledger used for?",
              "How does the spill ledger work?", "What is the speedup of the ledger over swapping?",
              "Why is the spill ledger needed?"):
        assert definition_term(q) == "", q


def test_a_sentence_defining_the_term_is_told_from_one_using_it():
    for sent in ("A spill ledger is a per-device table of moved activations.",
                 "Spill ledgers are the tables that record moved activations.",
                 "We add a table of moved activations, which we call the spill ledger.",
                 "We keep a per-device table, a spill ledger, of moved activations.",
                 "Each device keeps a spill-ledger, which is a table of moved activations.",
                 "Each device should bound its spill ledger, defined as the table of moved activations.",
                 "Static Single Assignment (SSA) form gives each value one definition."):
        term = "SSA" if "SSA" in sent else "spill ledger"
        assert defines(sent, term), sent
    for sent in ("With the spill ledger, the throughput rose by 1.4x.",
                 "The overhead of the spill ledger is the largest for long sequences.",
                 "Growing the spill ledger is a cost paid once per step.",
                 "Throughput halves when the spill ledger is used in tandem with swapping.",
                 "SSA then renames each value."):
        term = "SSA" if "SSA" in sent else "spill ledger"
        assert not defines(sent, term), sent
    # a term's generic head may be left out: "a roofline, which is ..." defines "roofline model"
    assert defines("It compares the result to a roofline, which is estimated from the peak.",
                   "roofline model")
    # a one-word common noun narrowed by the word before it names a kind of it, not the thing asked
    assert not defines("The affine dialect is a simplified polyhedral representation.", "dialect")
    assert not defines("Finally, the LLVM dialect is a leaf dialect for translation.", "dialect")
    assert defines("A dialect is a namespace of operations, types and attributes.", "dialect")
    assert defines("The classic roofline model is a bound on attainable throughput.", "roofline model")
    # an adverbial "As a result, X ..." is no appositive head; a hyphenated modifier names a variant
    term = "FlashAttention"
    assert not defines("As a result, FlashAttention is faster than standard attention.", term)
    assert not defines("We implement block-sparse FlashAttention, a sparse attention algorithm.", term)
    assert defines("We propose a new attention algorithm, FlashAttention, that is IO-aware.", term)


def test_a_definition_question_is_answered_first_by_the_definition(embedder):
    results = ("The spill ledger grew to 3 GB on the largest workload, and its lookups took 4% of the "
               "step time. "
               "With the spill ledger enabled, throughput rose by 1.4x over the baseline on eight devices. "
               "We measured the spill ledger under three batch sizes and two sequence lengths.")
    design = ("The runtime has three parts that run on every device. "
              "A spill ledger is a per-device table that records which activations were moved to host memory "
              "and when they must be brought back.")
    definition = "A spill ledger is a per-device table"
    answer = _answer("What is a spill ledger?", [results, design], embedder)
    assert answer.startswith(definition)
    off = Selection(define_weight=0.0, define_first=False)
    assert not _answer("What is a spill ledger?", [results, design], embedder, off).startswith(definition)
    # a question about something else keeps the reading order
    other = _answer("How much faster is the spill ledger?", [results, design], embedder)
    assert not other.startswith(definition)


def test_a_question_asking_for_a_quantity_is_answered_with_one(embedder):
    """"How many ..." / "what fraction ..." ask for a number: a sentence stating one gains
    `quantity_weight` (0.15 by default; 1.0 here, past the lead in gain, terms covered included, of
    the other sentence); without the bonus a sentence holding more of the question's words but no
    figure comes first."""
    from paperdojo.answering.extract import QUANTITY, states_quantity

    assert QUANTITY.search("How many tokens?") and QUANTITY.search("What fraction of peak is that per GPU?")
    assert not QUANTITY.search("How does the pager map logical blocks?")
    assert states_quantity("it reached 502 petaFLOP/s on 3072 GPUs") and states_quantity("52% of peak")
    assert not states_quantity("as shown in 2019 [12], the pager") and not states_quantity("one block")
    q = "How many tokens of a request does one logical block of the pager hold?"
    passage = ("The pager maps every logical block of a request to a physical block, and the logical blocks "
               "of a request fill with tokens one after another. "
               "Each logical block holds the keys and values of 16 tokens.")
    figure = "16 tokens. [1]"
    plain = _answer(q, [passage], embedder, Selection(quantity_weight=0.0), words=20)
    assert figure not in plain  # the sentence with more of the question's words takes the 20 words
    assert Selection().quantity_weight > 0
    assert figure in _answer(q, [passage], embedder, Selection(quantity_weight=1.0), words=20)


# a contributions list the parser ran into one paragraph (the shape of DeepSpeed-Ulysses' introduction,
# 2026-12-01): one 'sentence' of 90 words, too long to quote, its items' figures never reached an answer
BULLETED = ("In this work, we put forward the following contributions of the system to long sequence "
            "training: • The system trains Transformer models with 4x longer sequences than existing "
            "systems, with over a million tokens. • Communication reduction of over 10x compared to "
            "existing systems, and sustained throughput of over 175 TFlops/GPU (over 54% of hardware "
            "peak). • Fully general attention: the system supports dense as well as sparse attention, "
            "and it works with efficient attention kernels such as fused kernels.")


def test_each_item_of_a_bulleted_list_is_a_sentence_of_its_own():
    texts = [c.text for c in candidates([BULLETED])]
    assert any(t.startswith("Communication reduction of over 10x") and "175 TFlops/GPU" in t for t in texts)
    assert any(t.startswith("The system trains Transformer models with 4x") for t in texts)
    assert not any("•" in t for t in texts)


def test_items_numbered_in_brackets_are_sentences_of_their_own_but_not_a_line_reference():
    text = ("The scheduler works in three steps, each on its own thread, and none of them waits for another "
            "one to finish its work before it starts, so that the GPU is never idle and the batch is always "
            "full: (1) The planner sorts the waiting requests by their arrival time and their length; "
            "(2) The allocator reserves the memory of every request the planner picked for the batch; "
            "(3) The runner launches one fused kernel for the whole batch of requests at once.")
    texts = [c.text for c in candidates([text])]
    assert "(2) The allocator reserves the memory of every request the planner picked for the batch;" in texts
    assert not any("(1)" in t and "(2)" in t for t in texts)
    one = "The dispatching einsum (Line 3) in the algorithm routes every token to its two best experts."
    assert [c.text for c in candidates([one])] == [one]


def test_a_sentence_after_a_variable_at_a_period_is_split_from_it():
    # "M. In" is no initial: the formula's sentence and the claim after it are two sentences
    text = ("The bubble time is O( K−1 M+K−1 ) amortized over the number of micro-steps M. In our "
            "experiments, we found the bubble overhead to be negligible when M ≥ 4 × K.")
    texts = [c.text for c in candidates([text])]
    assert texts == ["In our experiments, we found the bubble overhead to be negligible when M ≥ 4 × K."]
    # (the formula's own sentence, "O( K−1 M+K−1 )" with the fraction laid out flat, is no claim either)


def test_a_run_in_heading_opens_the_sentence_after_it_and_is_not_quoted_alone():
    text = ("The chunk size trades prefill efficiency for decode piggybacking in every batch. "
            "3.3.3 Forward Prefetching. It issues the next all-gather before the current forward computation "
            "starts, so the communication overlaps it.")
    texts = [c.text for c in candidates([text])]
    assert ("Forward Prefetching: It issues the next all-gather before the current forward computation "
            "starts, so the communication overlaps it.") in texts
    assert not any(t.startswith("3.3.3") for t in texts)


def test_a_labelled_run_in_heading_opens_the_sentence_after_it():
    # ORCA writes its challenges and solutions as "C1: ..." and "S2: ...": the heading names the subject
    text = ("C1: Early-finished and late-joining requests. One major limitation of existing systems is "
            "that the engine keeps a batch fixed until all its requests finish. S2: Selective batching. We "
            "propose selective batching, a technique for batched execution of requests of different lengths.")
    texts = [c.text for c in candidates([text])]
    assert texts == [
        "Early-finished and late-joining requests: One major limitation of existing systems is that the "
        "engine keeps a batch fixed until all its requests finish.",
        "Selective batching: We propose selective batching, a technique for batched execution of requests of "
        "different lengths."]


def test_a_heading_does_not_open_a_pointer_and_a_caption_title_is_not_split_out():
    text = ("Code completion. Figure 9(a) shows the performance of the system on the code completion task. "
            "Request A Request B Figure 7. Storing the KV cache of two requests at the same time in the "
            "system. requests and the latest tokens for generation phase requests as one sequence.")
    texts = [c.text for c in candidates([text])]
    assert texts == []
