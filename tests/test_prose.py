"""The sentence classifier on real sentences of several shared papers (as PDFium extracted them)."""

from __future__ import annotations

import pytest

from paperdojo.answering import prose

NON_PROSE = [
    # pseudo-code and code listings (FlashAttention, FlashAttention-3, TVM, MLIR)
    ("14: end for 15: end for 16: Return O.", prose.PSEUDO_CODE),
    ("6: for 1 ≤ j ≤ Tc do 7: Load Kj, Vj from HBM to on-chip SRAM.", prose.PSEUDO_CODE),
    ("2: Read S from HBM, compute P = softmax(S), write P to HBM.", prose.PSEUDO_CODE),
    ("The following code shows how to declare an 8×8 tensor hardware intrinsic. w, x = t.placeholder((8, "
     "8)), "
     "t.placeholder((8, 8)) k = t.reduce_axis((0, 8))", prose.PSEUDO_CODE),
    ("d0 + s0)> %2 = mulf %0, %1: f32 // Affine load/store can have affine expressions as subscripts.",
     prose.PSEUDO_CODE),
    # shell commands of an artifact appendix (PET)
    ("The following command lines measure the inference latency of TASO: • Load TASO environment • cd "
     "$PET HOME/taso-ae •./run e2e.sh PET.", prose.PSEUDO_CODE),
    ("To reproduce the results, run pip install -r requirements.txt and then the script.", prose.PSEUDO_CODE),
    # table rows and figure text run into the page (FlashAttention-3, FlashAttention, vLLM)
    ("Method Baseline FP16 FlashAttention-2 FP16 FlashAttention-3 FP16 RMSE 3.2e-4 1.9e-4 1.9e-4",
     prose.TABLE_ROW),
    ("8 1431 2872 - - - FlashAttention 22 44 104 209 418 836 1672 3344 6688 13376", prose.TABLE_ROW),
    ("KV Cache Manager Scheduler CPU Block Allocator GPU Block Allocator Block tables Worker 0 Model Shard 0 "
     "Cache Engine Worker 1 Model Shard 1 Cache Engine", prose.TABLE_ROW),
    # captions (FlashAttention, TVM)
    ("Figure 1: Left: FlashAttention uses tiling to prevent materialization of the large N × N attention "
     "matrix on (relatively) slow GPU HBM.", prose.CAPTION),
    ("Finally, the hardware recovers the memory bound compute bound Figure 10: Roofline of an FPGA-based DL "
     "accelerator running ResNet inference.", prose.CAPTION),
    ("Table 2.", prose.CAPTION),
    # a figure's or table's legend (Ring Attention, Sarathi, GPipe, Orca, ONNX-MLIR-style keys)
    ("AT + RA denotes using Ring Attention.", prose.CAPTION),
    ("R/T refers to a reshape followed by a transpose.", prose.CAPTION),
    ("The gray area represents the pipeline bubble.", prose.CAPTION),
    ("Orange and blue bars represent baseline and the new scheduler, respectively.", prose.CAPTION),
    ("Label \u201cft(n)\u201d represents results from FasterTransformer with n input tokens.", prose.CAPTION),
    ("Lower case letters indicate sharded size.", prose.CAPTION),
    # what a mark of the plot shows (TASO, DistServe, GPipe)
    ("For each DNN architecture, the numbers above the TASO bars show the speedup over the best existing "
     "approach with the same backend.", prose.CAPTION),
    ("The vertical line shows the maximum per-GPU rate the system can handle.", prose.CAPTION),
    ("Red dot depicts 84.4% top-1 accuracy for the 550M parameter AmoebaNet model.", prose.CAPTION),
    ("Since each partition now only Figure 4.", prose.CAPTION),  # Megatron-LM, cut by a figure
    ("Right: Speedup over the PyTorch implementation of attention on GPT-2.", prose.CAPTION),
    # title block, footnotes (FlashAttention-3, Megatron, DistServe, PET)
    ("∗Equal Contributors", prose.FOOTNOTE),
    ("The remaining small ∗Equal contribution.", prose.FOOTNOTE),
    ("Correspondence to: Jiyuan Zhang <jiyuanz@andrew.cmu.edu>.", prose.FOOTNOTE),
    ("3https://tvm.apache.org/", prose.FOOTNOTE),
    ("Jidong Zhai is the corresponding author of this paper (zhaijidong@tsinghua.edu.cn).", prose.FOOTNOTE),
    ("Paul G. Allen School of Computer Science & Engineering, University of Washington, AWS, Shanghai "
     "Jiao Tong "
     "University, UC Davis, Cornell", prose.FOOTNOTE),
    # pointers to figures and sections (Timeloop, PET, SGLang)
    ("Figure 5 shows an example of Op ODS definition.", prose.POINTER),
    ("Figure 13 summarizes the workflow of the cost models.", prose.POINTER),
    ("We describe these theoretical foundations in §5.1 and introduce our mutation correction algorithm "
     "in §5.2.",
     prose.POINTER),
    ("The proof is in Sec. A.3 (Appendix).", prose.POINTER),
    ("This section covers the challenges for SPMD partitioning and the techniques we use to solve them.",
     prose.POINTER),
    # the paper's own questions (ZeRO, Megatron, LLVM)
    ("How does ZeRO work with MP?", prose.QUESTION),
    ("Third, how large is the LLVM representation when written to disk?", prose.QUESTION),
    ("In this section, we seek to answer the following questions: • How well does PTD-P perform?",
     prose.QUESTION),
    # formulas extraction garbled (FlashAttention, Megatron, Ring Attention)
    ("Standard attention requires Θ(N d + N 2 ) HBM accesses, while FlashAttention requires Θ(N 2d 2M−1 ) "
     "HBM accesses.", prose.FORMULA),
    ("Let d be the head dimension, N the sequence length, and fix a query block size Br to divide Q into "
     "Tr = ⌈ N Br ⌉ blocks Q1, .., QTr .", prose.FORMULA),
    ("We then scale weights immediately before residual layers by √ 1 2N where N is the number of "
     "transformer "
     "layers.", prose.FORMULA),
    # fragments: a heading, a sentence's tail cut by a figure
    ("7.2.2 Shared Parameters.", prose.FRAGMENT),
    ("of output elements is of size Ho × Wo × Co/p, where p is the number of threads used.", prose.FRAGMENT),
    ("Results.", prose.FRAGMENT),
    # a figure's example text and lines cut short (SGLang, GShard, TVM)
    ("Answer 3: X evicted X evicted X This is...", prose.FRAGMENT),
    ("Partition 0 would be invalid if low_padding == 1 Not calculated...", prose.FRAGMENT),
    ("Answer 3:.. f g You are a helpful assistant.", prose.FORMULA),
    ("That is, non-equivalent programs may pass random testing with probability ( n p ) t.", prose.FORMULA),
    # a caption or a figure's text run into the body at a period (vLLM, SGLang)
    ("Block table translation in vLLM. divides it into physical KV blocks (this is also done on CPU RAM "
     "for swapping).", prose.FRAGMENT),
    ("Higher is better. result from KV cache reuse, the exploitation of parallelism within a single "
     "program, and faster constrained decoding.", prose.FRAGMENT),
    # a table written with bars (a Markdown table in a paper's text)
    ("The results are below | Model | Latency | Throughput | vLLM | 12 ms | 2.1x |", prose.TABLE_ROW),
    # sentences that only say where something is (LLVM, vLLM)
    ("The LLVM memory model is described in Section 2.3.", prose.POINTER),
    ("With that, we show the design of the KV cache manager in §4.2 and how it facilitates PagedAttention "
     "in §4.3, respectively.", prose.POINTER),
    # footnotes the parser spliced into a sentence, number glued to the note's first word (GPipe, DistServe)
    ("Additionally, micro-batch splitting requires complicated strategies to support layers that require "
     "3One possible way around this limitation is splitting a single matrix-multiplication into smaller ones "
     "and spreading them sequentially across multiple layers.", prose.FOOTNOTE),
    ("Under a specific SLO attainment goal (say, 90%), we are 4We capped the input lengths in LongBench "
     "because OPT only supports 2048 tokens.", prose.FOOTNOTE),
]

PROSE = [
    "The decode phase, on the other hand, processes only a single token in each autoregressive pass, "
    "resulting "
    "in very low GPU utilization at low batch sizes.",
    "We choose SPMD because we aim to scale up to thousands of partitions, where compiling the many programs "
    "would be prohibitively slow in MPMD.",
    "A dialect in MLIR is a collection of operations and associated types that allow you to represent a "
    "program.",
    "Our direct convolution implementation currently attains 87.5%, 58.2% and 88.9% of the theoretical "
    "peak of "
    "the Intel, AMD, and ARM architecture.",
    "The 600B parameters model that achieved the best translation quality was trained with 2048 TPU v3 cores "
    "for 4 days, a total cost of 22 TPU v3 core-years.",
    "Checkpoint saves reach 40% of peak write bandwidth (273 GB/s).",
    "TVM then automatically lowers the program to a single instruction stream with low-level explicit "
    "synchronization, as shown in Figure 8.",
    "FlashAttention trains Transformer models faster in wall-clock time.",
    "vLLM achieves near-zero waste in KV cache memory and flexible sharing of KV cache within and across "
    "requests.",
    "As a result, we chose gradient tree boosting as the default cost model in our experiments.",
    "Since the cache is shared, cached tokens can be evicted in LRU order when memory runs short.",
    "However, the parallelism degree of DeepSpeed-Ulysses is restricted by the number of heads, "
    "especially for "
    "LLMs using MQA and GQA.",
    "The task of language modeling is to model the probability of a list of tokens (x1,..., xn).",
    "The loops j 0 and k 0 iterate over the blocks in the channel and row dimensions of the output, "
    "respectively.",
    "ZeRO-R optimizes activation memory by identifying and removing activation replication in existing MP "
    "approaches through activation partitioning.",
    # a lower-case word after an abbreviation's period or a list marker is prose
    "We train BERT-large (seq. length 512) 15% faster than the training speed record in MLPerf 1.1.",
    "MP still helps in two cases: i) with ZeRO-R it cuts activation memory. ii) for very large models.",
    "The speedup is 2.1x vs. the baseline and 3x vs. cuDNN on the same GPU, e.g. for batch 16.",
    # "represents" in a claim about the system is no legend
    "Each node in the graph represents an operation that consumes one or more tensors.",
    "Latency hiding refers to the process of overlapping memory operations with computation.",
    "In particular, BF16 can represent the same range of values as that of FP32.",
    # "show" in a claim about the system or its results is no legend
    "At these points the scheduler shows its benefit over the static one.",
    "Our results show that the pipeline bubble shrinks as the number of micro-batches grows.",
    "The cost model shows that these lines of the loop nest dominate the runtime.",
    # bars of a set's size or a norm are no table
    "A graph with |V| vertices and |E| edges is partitioned into k parts by the heuristic.",
    # claims that name a section are kept
    "As shown in Section 5, vLLM improves throughput by 2-4x over FasterTransformer and Orca.",
    "Our results in Section 5 and Section 6 show that vLLM improves throughput by 2-4x over Orca.",
    # a number glued to a unit or a name is no footnote
    "The nodes are connected by a 10Gbps network, and each holds 8 GPUs with 3D-stacked memory.",
]


@pytest.mark.parametrize(("sentence", "expected"), NON_PROSE)
def test_non_prose_kinds(sentence: str, expected: str) -> None:
    assert prose.kind(sentence) == expected


@pytest.mark.parametrize("sentence", PROSE)
def test_prose_claims_pass(sentence: str) -> None:
    assert prose.kind(sentence) is None


@pytest.mark.parametrize(("sentence", "back"), [
    ("This creates an interleaving of short lived memory and long lived memory.", True),
    ("It shows both the size of the IREE module and the size of the executable workload.", True),
    ("These approaches will also allow the exploration of different combinations of parallelism.", True),
    ("However, this limits the batch size.", True),
    ("This paper presents ZeRO, a memory optimizer.", False),
    ("Iteration-level scheduling returns finished requests to the client immediately.", False),
    ("Its sampling rate can be arbitrarily adjusted to enlarge the receptive field.", True),
    # "This work" is the paper, but "This worker" / "This workload" are things said before (the survey)
    ("This worker then broadcasts the checkpoint data to other GPUs.", True),
    ("This workload is dominated by memory-bound kernels.", True),
    ("This work presents a scheduler for LLM serving.", False),
    ("This section introduces RadixAttention, a technique for KV cache reuse.", False),
])
def test_refers_back(sentence: str, back: bool) -> None:
    assert prose.refers_back(sentence) is back


def test_clean_takes_out_citations_links_and_line_breaks() -> None:
    raw = ("An LLM service follows a client-server architecture: the server "
           "2https://github.com/LLMServe/DistServe "
           "hosts the LLM on GPUs [22, 35], as in prior frame- works (Yu et al., 2022).")
    assert prose.clean(raw) == ("An LLM service follows a client-server architecture: the server hosts "
                                "the LLM on "
                                "GPUs, as in prior frameworks.")


def test_clean_takes_out_a_footnote_spliced_into_the_sentence() -> None:
    # Orca p. 8-9: footnote 5 extracted in the middle of a word broken at the line end
    raw = ("The scheduler has high flexibility in selecting a set of requests to com- 5This includes various "
           "metadata such as batch size, sequence length, and whether a request within the batch has "
           "finished processing. pose a batch, because of the selective batching technique.")
    shown = prose.clean(raw)
    assert shown == ("The scheduler has high flexibility in selecting a set of requests to compose a batch, "
                     "because of the selective batching technique.")
    assert prose.kind(shown) is None
    # the citation finds the shown sentence in the page text: the note is skipped like a reference
    from paperdojo.answering.cite import normalized
    assert normalized(shown)[0] in normalized(raw.replace(" finished", "\nfinished"))[0]
    # a number glued to a unit is no footnote: nothing taken out
    unit = "The nodes use a 10Gbps network. and the rest of the sentence follows."
    assert prose.clean(unit) == unit


@pytest.mark.parametrize(("raw", "shown"), [
    ("Register pressure To maintain optimal performance, register spilling should be minimized.",
     "Register pressure: To maintain optimal performance, register spilling should be minimized."),
    ("AllReduce This operator performs elementwise reduction over the inputs from all participants.",
     "AllReduce: This operator performs elementwise reduction over the inputs from all participants."),
    ("B.1 Memory-efficient forward pass The main challenge is the softmax that couples the columns.",
     "B.1 Memory-efficient forward pass: The main challenge is the softmax that couples the columns."),
    # no heading: a sentence whose words are a claim, a variable named A or To
    ("Let A input be the size of the input activations of a layer.", None),
    ("Another option is to split A along its columns.", None),
    ("The value of To is calculated before this preprocessing.", None),
])
def test_a_run_in_heading_is_set_off_by_a_colon(raw: str, shown: str | None) -> None:
    assert prose.clean(raw) == (shown or raw)
    assert prose.kind(prose.clean(raw)) is None


def test_clean_keeps_a_link_the_sentence_writes() -> None:
    """Only a footnote's link (its number glued to it, or at the sentence's start) is taken out."""
    assert prose.clean("The code is publicly available at https://github.com/sgl-project/sglang.") == \
        "The code is publicly available at https://github.com/sgl-project/sglang."
    assert prose.clean("We use PyTorch1https://pytorch.org for all runs.") == "We use PyTorch for all runs."
    assert prose.clean("2 https://github.com/google-research/bert From Figure 3, we observe it.") == \
        "From Figure 3, we observe it."


@pytest.mark.parametrize("sentence", [
    # outline sentences that say what the thing they introduce is (SGLang, Timeloop, LLVM, FSDP)
    "This section introduces RadixAttention, a novel technique for automatic and systematic KV cache reuse "
    "during runtime.",
    "This paper presents Timeloop, an infrastructure for evaluating and exploring the architecture design "
    "space of deep neural network (DNN) accelerators.",
    "This paper describes LLVM (Low Level Virtual Machine), a compiler framework designed to support "
    "transparent, lifelong program analysis and transformation.",
    "This paper presents PyTorch Fully Sharded Data Parallel (FSDP), which enables the training of "
    "large-scale models by sharding model parameters.",
])
def test_an_outline_sentence_defining_its_subject_is_a_claim(sentence: str) -> None:
    assert prose.kind(sentence) is None
    assert not prose.refers_back(sentence)  # "This section" points at the section, not a sentence


@pytest.mark.parametrize("sentence", [
    "This section describes the implementation of the CPU backend.",
    "This section introduces systems and techniques for optimizing the collective communication performance "
    "of distributed LLM training.",
    "This section describes TVM by using an example to walk through its components.",
])
def test_an_outline_sentence_naming_only_what_comes_is_a_pointer(sentence: str) -> None:
    assert prose.kind(sentence) == prose.POINTER


@pytest.mark.parametrize("sentence", [
    "The pseudo-code shows tensor programs with loop nests.",  # Ansor
    "The top figure shows the default non-interleaved 1F1B schedule.",  # Megatron-LM 3D
    "The tables show iteration time in microseconds as well as the achieved throughput.",  # Ulysses
    "The provided code snippet highlights essential components of Ring Attention.",
    "The figure is obtained by partially disabling matched tokens at runtime.",  # SGLang
])
def test_a_pointer_at_an_unseen_figure_or_code_is_no_claim(sentence: str) -> None:
    assert prose.kind(sentence) == prose.POINTER


def test_a_pointer_lead_in_is_cut_and_the_claim_kept() -> None:
    assert prose.kind("This table is a standardized way of associating names to IR objects.") is None  # MLIR
    assert prose.clean("As shown in the table, Ansor can match the performance of AutoTVM.") == \
        "Ansor can match the performance of AutoTVM."
    assert prose.clean("As shown in Figure 3(b), the bubble shrinks with more micro-batches.") == \
        "The bubble shrinks with more micro-batches."


@pytest.mark.parametrize(("sentence", "title"), [
    ("3.3.3 Forward Prefetching.", "Forward Prefetching"),
    # a numbered label before the heading (ORCA's challenges and solutions, PET's steps)
    ("C1: Early-finished and late-joining requests.", "Early-finished and late-joining requests"),
    ("S2: Selective batching.", "Selective batching"),
    ("Step 3: Correction kernel generation.", "Correction kernel generation"),
    # a figure's, table's or question's label stays: those are no headings
    ("Figure 3: An example of the batch.", None),
    ("Table 2: Minimal sequence length.", None),
    ("Question 3: What...", None),
    ("The tile quantization effect.", "The tile quantization effect"),
    ("Combat burstiness.", "Combat burstiness"),
    ("Higher is better.", None),  # a statement: a verb of being
    ("We do so.", None),
    ("the tail of a sentence.", None),
])
def test_a_run_in_heading_standing_alone_is_told_from_a_short_statement(sentence: str,
                                                                        title: str | None) -> None:
    assert prose.heading(sentence) == title


@pytest.mark.parametrize("sentence", [
    "row-stationary dataflow enforced by the architecture.",  # a hyphenated lower-case word
    "section, we introduce the performance tuner that fine-tunes the sampled programs.",
])
def test_a_sentence_starting_with_a_lower_case_word_is_a_fragment(sentence: str) -> None:
    assert prose.kind(sentence) == prose.FRAGMENT


def test_a_sentence_naming_a_system_in_lower_case_first_is_prose() -> None:
    assert prose.kind("vLLM sets its default block size as 16 tokens for every model.") is None


def test_a_bound_with_its_fraction_laid_out_flat_is_a_garbled_formula() -> None:
    sentence = "This bubble time is O( K−1 M+K−1 ) amortized over the number of micro-steps."
    assert prose.kind(sentence) == prose.FORMULA


@pytest.mark.parametrize("sentence", [
    "How to create a model instance without materializing any tensor storage, postponing its initialization.",
    "(2) How to ensure accurate initialization of model parameters in line with the user's implementation.",
])
def test_a_question_put_without_its_question_mark_is_a_question(sentence: str) -> None:
    assert prose.kind(sentence) == prose.QUESTION
