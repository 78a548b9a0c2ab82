"""Paper names looked up by word (answering.names) find exactly what one pattern per paper finds."""

from __future__ import annotations

import time

from paperdojo.answering.names import PaperNames, name_pattern, paper_names

DOCS = {
    "zero": {"title": "ZeRO: Memory Optimizations Toward Training Trillion Parameter Models",
             "status": "indexed"},
    "megatron-lm": {"title": "Megatron-LM: Training Multi-Billion Parameter Language Models",
                    "status": "indexed"},
    "vllm": {"title": "vLLM: Easy, Fast, and Cheap LLM Serving", "status": "indexed"},
    "flashattention-2": {"title": "FlashAttention-2: Faster Attention", "status": "indexed"},
    "gpipe": {"title": "GPipe: Efficient Training of Giant Neural Networks", "status": "indexed"},
    "ring": {"title": "Ring Attention with Blockwise Transformers", "status": "indexed"},
    "kv-cache": {"title": "KV Cache Tricks: a survey", "status": "indexed"},
    "sp": {"title": "(SP) Sequence Parallelism: long sequences", "status": "indexed"},
    "tvm": {"title": "TVM: An Automated End-to-End Optimizing Compiler", "status": "download failed"},
    "ansor": {"title": "Ansor: Generating High-Performance Tensor Programs", "status": "indexed"},
    "café": {"title": "Café Net: a non-ASCII name", "status": "indexed"},
}
TEXTS = [
    "How does ZeRO partition optimizer states?", "zero redundancy", "ZeRO-style sharding", "ZeROs",
    "compare Megatron-LM and GPipe", "megatron-lm tensor parallel", "Megatron-LMs", "what is vllm?",
    "vLLM paged attention", "FlashAttention-2 vs flashattention-2.", "ring attention", "Ring Attention!",
    "KV Cache Tricks", "\u212aV Cache Tricks", "the (SP) Sequence Parallelism paper", "TVM and Ansor",
    "tvm's scheduler", "-zero", "x-ZeRO", "ZeRO_", "gpipe-", "gpipe-2", "Café Net", "café net", "",
    "ansor ansor ANSOR", "megatron lm", "zero\u017f",
]


def brute_force(docs: dict, text: str, indexed: bool = True) -> dict[str, int]:
    """One pattern per paper, each tried on the text: what the answerer did before."""
    out = {}
    for doc_id, doc in docs.items():
        if (doc.get("status") == "indexed") == indexed:
            match = name_pattern(paper_names(doc_id, doc)).search(text)
            if match:
                out[doc_id] = match.start()
    return out


def test_lookup_by_word_finds_what_every_pattern_finds() -> None:
    names, absent = PaperNames(DOCS), PaperNames(DOCS, indexed=False)
    assert len(names) == 10 and list(absent) == ["tvm"]
    for text in TEXTS:
        assert names.find(text) == brute_force(DOCS, text), text
        assert list(names.find(text)) == list(brute_force(DOCS, text)), text  # the library's order
        assert absent.find(text) == brute_force(DOCS, text, indexed=False), text
    assert names.find("compare Megatron-LM and GPipe") == {"megatron-lm": 8, "gpipe": 24}
    assert names.find("ZeRO-style sharding") == {}


def test_ten_thousand_papers_are_not_each_tried() -> None:
    """At a million passages (10,000 papers) a question is checked against the papers filed under its
    words, and no pattern is compiled at load: the load and the lookup stay in milliseconds."""
    docs = {f"syn{i:07d}": {"title": f"{('ZeRO', 'Megatron-LM', 'GPipe')[i % 3]} {i}: six words of a title",
                            "status": "indexed"} for i in range(10_000)}
    started = time.perf_counter()
    names = PaperNames(docs)
    built = time.perf_counter() - started
    text = "how does Megatron-LM 9997 compare to syn0000004 and ZeRO 3?"
    started = time.perf_counter()
    found = names.find(text)
    looked_up = time.perf_counter() - started
    assert found == {"syn0000004": 37, "syn0009997": 9, "syn0000003": 52}
    assert len(names._patterns) == 3  # only the papers filed under the question's words
    assert built < 2.0 and looked_up < 2.0, (built, looked_up)


def test_an_id_of_several_words_names_its_paper_in_words() -> None:
    """The Ring Attention paper's title has no head before ':'; its id "ring-attention" names it also
    as "Ring Attention" (a cross-paper question "Ring Attention or DeepSpeed-Ulysses" named only one)."""
    docs = {"ring-attention": {"title": "Ring Attention with Blockwise Transformers", "status": "indexed"},
            "deepspeed-ulysses": {"title": "DeepSpeed Ulysses: System Optimizations", "status": "indexed"},
            "tvm": {"title": "TVM: An Automated End-to-End Optimizing Compiler", "status": "indexed"}}
    names = PaperNames(docs)
    assert set(names.find("Which scales further, Ring Attention or DeepSpeed-Ulysses?")) == \
        {"ring-attention", "deepspeed-ulysses"}
    assert set(names.find("ring attention vs deepspeed ulysses")) == {"ring-attention", "deepspeed-ulysses"}
    assert names.find("a ring of attention heads") == {}
    assert paper_names("tvm", docs["tvm"]) == {"tvm"}  # one word: no second name
