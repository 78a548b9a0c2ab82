"""The eval harness: retrieval and answer metrics on a JSONL of interview questions.

Question format (like ../shared/eval/dev.jsonl): question, gold [{doc, pages}], key_points (a list
of variant lists), type ("unanswerable" has no gold). Key points match case-, hyphen- and
whitespace-insensitively, as the file's own validator does.
"""

from __future__ import annotations

import json
import re
import statistics
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from paperdojo.answering import prose
from paperdojo.answering.retrieve import Hit, Retriever
from paperdojo.library.chunk import sentence_spans

_HYPHENS = "-\u2010\u2011\u2012\u2013\u2014\u00ad\u2212"


def norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in text if not ch.isspace() and ch not in _HYPHENS)


def kp_found(key_points: list[list[str]], text: str) -> list[bool]:
    hay = norm(text)
    return [any(norm(v) in hay for v in variants) for variants in key_points]


@dataclass
class Question:
    id: str
    question: str
    type: str
    gold: list[dict]
    key_points: list[list[str]]

    @property
    def answerable(self) -> bool:
        return self.type != "unanswerable"

    def on_gold_page(self, hit: Hit) -> bool:
        c = hit.chunk
        return any(g["doc"] == c.doc_id and any(c.page_start <= p <= c.page_end for p in g["pages"])
                   for g in self.gold)

    def on_gold_doc(self, hit: Hit) -> bool:
        return any(g["doc"] == hit.chunk.doc_id for g in self.gold)


def load_questions(path: Path) -> list[Question]:
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            out.append(Question(d["id"], d["question"], d.get("type", ""), d.get("gold", []),
                                d.get("key_points", [])))
        except (ValueError, KeyError) as exc:
            raise ValueError(f"{path}:{n}: not a question record ({exc})") from exc
    return out


def _capped(hits: list[Hit], words: int = 1000) -> str:
    out, used = [], 0
    for h in hits:
        w = h.chunk.text.split()
        out.append(" ".join(w[: max(0, words - used)]))
        used += len(w)
    return " ".join(out)


def retrieval_metrics(questions: list[Question], search: Callable[[str], list[Hit]]) -> dict:
    """doc hit@5, page hit@5, MRR@10 by page and key-point recall of the top 5."""
    rows, times = [], []
    for q in questions:
        if not q.answerable:
            continue
        t = time.perf_counter()
        hits = search(q.question)
        times.append((time.perf_counter() - t) * 1000)
        top5 = hits[:5]
        rank = next((r for r, h in enumerate(hits[:10], 1) if q.on_gold_page(h)), None)
        found = kp_found(q.key_points, _capped(top5))
        rows.append({"id": q.id, "doc": any(q.on_gold_doc(h) for h in top5),
                     "page": any(q.on_gold_page(h) for h in top5), "rr": 1 / rank if rank else 0.0,
                     "kp": sum(found) / len(found) if found else 1.0})
    n = len(rows)
    return {
        "doc_hit@5": sum(r["doc"] for r in rows) / n,
        "page_hit@5": sum(r["page"] for r in rows) / n,
        "mrr@10": sum(r["rr"] for r in rows) / n,
        "kp_recall@5": sum(r["kp"] for r in rows) / n,
        "retrieval_p50_ms": statistics.median(times),
        "n_answerable": n,
        "rows": rows,
    }


def evaluate_retriever(retriever: Retriever, questions: list[Question], k: int = 10) -> dict:
    return retrieval_metrics(questions, lambda q: retriever.search(q, k=k))


# ----------------------------------------------------------------- readability of an answer
_CITATIONS = re.compile(r"\s?\[\d+(?:\s*,\s*\d+)*\]")
READABILITY = {prose.PSEUDO_CODE: "pseudo_code", prose.TABLE_ROW: "table_rows", prose.CAPTION: "captions",
               prose.FOOTNOTE: "footnotes", prose.POINTER: "pointers", prose.QUESTION: "questions",
               prose.FORMULA: "formulas", prose.FRAGMENT: "fragments"}
JUNK = ("pseudo_code", "table_rows", "captions", "footnotes", "repeated")  # issue 13: must be 0


def readability(text: str) -> dict[str, int]:
    """An answer's word count and how many of its sentences are not prose, by kind (prose.kind), and
    how many repeat an earlier sentence (same words, or a near-copy: >= 80% of the words shared).

    Returns {"words", "sentences", "pseudo_code", "table_rows", "captions", "footnotes", "pointers",
    "questions", "formulas", "fragments", "repeated"}: counts of sentences, citations [n] ignored.
    """
    plain = _CITATIONS.sub("", text)
    out = {"words": len(text.split()), "sentences": 0, **dict.fromkeys(READABILITY.values(), 0),
           "repeated": 0}
    seen: list[set[str]] = []
    for s, e in sentence_spans(plain, 0, len(plain)):
        sent = plain[s:e]
        out["sentences"] += 1
        found = prose.kind(sent)
        if found:
            out[READABILITY[found]] += 1
        words = set(re.findall(r"\w+", sent.lower()))
        if words and any(len(words & w) >= 0.8 * max(len(words), len(w)) for w in seen):
            out["repeated"] += 1
        seen.append(words)
    return out


def answer_metrics(questions: list[Question], ask: Callable[[str], object]) -> dict:
    """Key-point coverage of answers, citation precision, refusals and latency.

    `ask` returns an answer with `.text`, `.refused`, `.cited` (sources with `.chunk`) and `.ms`.
    """
    kp, cited_ok, cited_all, times = [], 0, 0, []
    refused_unanswerable, unanswerable, false_refusals, answerable = 0, 0, 0, 0
    ungrounded, llm_failed = 0, 0
    rows = []  # per question: id, type, words and readability counts of the answer
    for q in questions:
        ans = ask(q.question)
        times.append(ans.ms)
        rows.append({"id": q.id, "type": q.type, "refused": bool(ans.refused), **readability(ans.text)})
        ungrounded += not getattr(ans, "grounded", True)
        llm_failed += bool(getattr(ans, "llm_error", ""))
        if not q.answerable:
            unanswerable += 1
            refused_unanswerable += bool(ans.refused)
            continue
        answerable += 1
        if ans.refused:
            false_refusals += 1
            kp.append(0.0)
            continue
        found = kp_found(q.key_points, ans.text)
        kp.append(sum(found) / len(found) if found else 1.0)
        for source in ans.cited:
            hit = Hit(source.chunk, 0.0, 0.0)
            cited_all += 1
            cited_ok += q.on_gold_doc(hit)
    times.sort()
    return {
        "answer_kp": sum(kp) / max(1, len(kp)),
        "citation_precision": cited_ok / max(1, cited_all),
        "refusal_rate": refused_unanswerable / max(1, unanswerable),
        "false_refusal_rate": false_refusals / max(1, answerable),
        "p50_ms": statistics.median(times) if times else 0.0,
        "p95_ms": times[min(len(times) - 1, int(0.95 * len(times)))] if times else 0.0,
        "n": len(questions),
        "ungrounded": ungrounded,  # language-model answers with no valid citation
        "llm_failed": llm_failed,  # answered extractively because the model failed
        **readability_summary(rows),
        "answer_rows": rows,
    }


def readability_summary(rows: list[dict]) -> dict:
    """Mean words of the answers given (not refusals) and totals of each readability count."""
    given = [r for r in rows if not r["refused"]]
    out: dict = {"mean_words": statistics.mean(r["words"] for r in given) if given else 0.0}
    for key in (*READABILITY.values(), "repeated"):
        out[key] = sum(r[key] for r in given)
    return out


RATIO_KEYS = ["doc_hit@5", "page_hit@5", "mrr@10", "kp_recall@5", "answer_kp", "citation_precision",
              "p50_ms", "p95_ms"]


def evaluate_all(answerer: object, questions: list[Question]) -> dict:
    """Every metric of the harness for one system (ours: an Answerer)."""
    retrieval = evaluate_retriever(answerer.retriever, questions)
    rows = retrieval.pop("rows")
    answers = answer_metrics(questions, answerer.answer)
    return {**retrieval, **answers, "missed_pages": [r["id"] for r in rows if not r["page"]]}


def evaluate_baseline(baseline: object, questions: list[Question]) -> dict:
    retrieval = retrieval_metrics(questions, lambda q: baseline.search(q, k=10))
    retrieval.pop("rows")
    answers = answer_metrics(questions, baseline.answer)
    return {**retrieval, **answers, "pages": baseline.n_pages, "chunks": baseline.n_chunks,
            "build_s": round(baseline.build_s, 1)}


def ratios(ours: dict, base: dict) -> dict:
    return {k: round(ours[k] / base[k], 3) for k in RATIO_KEYS if base.get(k)}
