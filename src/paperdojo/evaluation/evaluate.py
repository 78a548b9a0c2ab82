"""The eval harness: retrieval and answer metrics on a JSONL of interview questions.

Question format (like ../shared/eval/dev.jsonl): question, gold [{doc, pages}], key_points (a list
of variant lists), type ("unanswerable" has no gold). Key points match case-, hyphen- and
whitespace-insensitively, as the file's own validator does.
"""

from __future__ import annotations

import re
import statistics
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paperdojo.answering import prose
from paperdojo.answering.retrieve import Hit, Retriever
from paperdojo.library.chunk import sentence_spans
from paperdojo.util import jsonl_records

_HYPHENS = "-\u2010\u2011\u2012\u2013\u2014\u00ad\u2212"


def norm(text: str) -> str:
    """Text as key points are matched: NFKC, lower case, white space and hyphens removed."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in text if not ch.isspace() and ch not in _HYPHENS)


def kp_found(key_points: list[list[str]], text: str) -> list[bool]:
    """For each key point (a list of accepted variants), whether any variant occurs in `text`
    (both normalized by `norm`)."""
    hay = norm(text)
    return [any(norm(v) in hay for v in variants) for variants in key_points]


@dataclass
class Question:
    """One evaluation question: its id, text, type ("unanswerable" for those that must be
    refused), gold pages ([{"doc": id, "pages": [1-based pages]}]) and key points (each a list of
    accepted variants)."""
    id: str
    question: str
    type: str
    gold: list[dict]
    key_points: list[list[str]]

    @property
    def answerable(self) -> bool:
        """Whether the papers answer it (its type is not "unanswerable")."""
        return self.type != "unanswerable"

    def on_gold_page(self, hit: Hit) -> bool:
        """Whether `hit`'s passage spans a gold page of a gold paper."""
        c = hit.chunk
        return any(g["doc"] == c.doc_id and any(c.page_start <= p <= c.page_end for p in g["pages"])
                   for g in self.gold)

    def on_gold_doc(self, hit: Hit) -> bool:
        """Whether `hit`'s passage comes from a gold paper."""
        return any(g["doc"] == hit.chunk.doc_id for g in self.gold)


def load_questions(path: Path) -> list[Question]:
    """The questions of a JSONL file (one record a line; blank lines skipped). Raises
    ValueError naming the line when a record is not JSON or lacks id or question."""
    out = []
    for n, d in jsonl_records(path):
        try:
            out.append(Question(d["id"], d["question"], d.get("type", ""), d.get("gold", []),
                                d.get("key_points", [])))
        except KeyError as exc:
            raise ValueError(f"{path}:{n}: not a question record (no {exc} field)") from exc
        except TypeError as exc:  # JSON that is not an object
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
    """doc hit@5, page hit@5, MRR@10 by page and key-point recall of the top 5 (answerable questions).

    `rows` holds one record per question (id, type, doc, page, rr, kp, ms) for `by_type`.
    """
    rows: list[dict[str, Any]] = []
    times: list[float] = []
    for q in questions:
        if not q.answerable:
            continue
        t = time.perf_counter()
        hits = search(q.question)
        times.append((time.perf_counter() - t) * 1000)
        top5 = hits[:5]
        rank = next((r for r, h in enumerate(hits[:10], 1) if q.on_gold_page(h)), None)
        found = kp_found(q.key_points, _capped(top5))
        rows.append({"id": q.id, "type": q.type, "doc": any(q.on_gold_doc(h) for h in top5),
                     "page": any(q.on_gold_page(h) for h in top5), "rr": 1 / rank if rank else 0.0,
                     "kp": sum(found) / len(found) if found else 1.0, "retrieval_ms": times[-1]})
    n = max(1, len(rows))
    return {
        "doc_hit@5": sum(r["doc"] for r in rows) / n,
        "page_hit@5": sum(r["page"] for r in rows) / n,
        "mrr@10": sum(r["rr"] for r in rows) / n,
        "kp_recall@5": sum(r["kp"] for r in rows) / n,
        "retrieval_p50_ms": statistics.median(times) if times else 0.0,
        "n_answerable": len(rows),
        "rows": rows,
    }


def evaluate_retriever(retriever: Retriever, questions: list[Question], k: int = 10) -> dict:
    """Retrieval figures of `retriever` (see retrieval_metrics) at depth `k`."""
    return retrieval_metrics(questions, lambda q: retriever.search(q, k=k))


# ----------------------------------------------------------------- readability of an answer
_CITATIONS = re.compile(r"\s?\[\d+(?:\s*,\s*\d+)*\]")
_QUOTE_END = re.compile(r"(?<=[.!?\"'”)\]])\s?\[\d+(?:\s*,\s*\d+)*\]")  # a mark closing a sentence
READABILITY = {prose.PSEUDO_CODE: "pseudo_code", prose.TABLE_ROW: "table_rows", prose.CAPTION: "captions",
               prose.FOOTNOTE: "footnotes", prose.POINTER: "pointers", prose.QUESTION: "rhetorical_questions",
               prose.FORMULA: "formulas", prose.FRAGMENT: "fragments"}
JUNK = ("pseudo_code", "table_rows", "captions", "footnotes", "repeated")  # issue 13: must be 0


def readability(text: str) -> dict[str, int]:
    """An answer's word count and how many of its sentences are not prose, by kind (prose.kind), and
    how many repeat an earlier sentence (same words, or a near-copy: >= 80% of the words shared).

    Returns {"words", "sentences", "pseudo_code", "table_rows", "captions", "footnotes", "pointers",
    "rhetorical_questions", "formulas", "fragments", "repeated"}: counts of sentences, citations [n] ignored.
    """
    out = {"words": len(text.split()), "sentences": 0, **dict.fromkeys(READABILITY.values(), 0),
           "repeated": 0}
    seen: list[set[str]] = []
    # a citation mark after a sentence's end closes a quote: split there first, so two quotes whose
    # boundary the splitter would miss ("... and 12lh >> V. [1] Combining ...") are judged each alone
    pieces = [_CITATIONS.sub("", p) for p in _QUOTE_END.split(text) if p.strip()]
    for sent in (p[s:e] for p in pieces for s, e in sentence_spans(p, 0, len(p))):
        out["sentences"] += 1
        found = prose.kind(sent)
        if found:
            out[READABILITY[found]] += 1
        words = set(re.findall(r"\w+", sent.lower()))
        if words and any(len(words & w) >= 0.8 * max(len(words), len(w)) for w in seen):
            out["repeated"] += 1
        seen.append(words)
    return out


def answer_row(q: Question, ans: Any) -> dict:
    """One question's answer record: the figures `answer_metrics` sums and `by_type` averages.

    Any further numeric field added here (e.g. the answer's words) is averaged per type by `by_type`.
    """
    row = {"id": q.id, "type": q.type, "answerable": q.answerable, "refused": bool(ans.refused),
           "ms": ans.ms, "ungrounded": not getattr(ans, "grounded", True),
           "llm_failed": bool(getattr(ans, "llm_error", "")), **readability(ans.text)}
    if q.answerable:
        found = kp_found(q.key_points, ans.text) if not ans.refused else [False] * len(q.key_points)
        row["answer_kp"] = sum(found) / len(found) if found else (0.0 if ans.refused else 1.0)
        row["cited"] = len(ans.cited) if not ans.refused else 0
        ok = [q.on_gold_doc(Hit(s.chunk, 0.0, 0.0)) for s in ans.cited] if not ans.refused else []
        row["cited_ok"] = sum(ok)
    return row


def answer_metrics(questions: list[Question], ask: Callable[[str], object]) -> dict:
    """Key-point coverage of answers, citation precision, refusals and latency.

    `ask` returns an answer with `.text`, `.refused`, `.cited` (sources with `.chunk`) and `.ms`.
    `rows` holds one `answer_row` per question.
    """
    rows = [answer_row(q, ask(q.question)) for q in questions]
    out = _answer_summary(rows)
    out["rows"] = rows
    return out


def _answer_summary(rows: list[dict]) -> dict:
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    times = sorted(r["ms"] for r in rows)
    cited = sum(r["cited"] for r in answerable)
    return {
        "answer_kp": sum(r["answer_kp"] for r in answerable) / max(1, len(answerable)),
        "citation_precision": sum(r["cited_ok"] for r in answerable) / max(1, cited),
        "refusal_rate": sum(r["refused"] for r in unanswerable) / max(1, len(unanswerable)),
        "false_refusal_rate": sum(r["refused"] for r in answerable) / max(1, len(answerable)),
        "refused_unanswerable": f"{sum(r['refused'] for r in unanswerable)}/{len(unanswerable)}",
        "false_refusals": f"{sum(r['refused'] for r in answerable)}/{len(answerable)}",
        "p50_ms": statistics.median(times) if times else 0.0,
        "p95_ms": times[min(len(times) - 1, int(0.95 * len(times)))] if times else 0.0,
        "n": len(rows),
        "ungrounded": sum(r["ungrounded"] for r in rows),  # language-model answers with no valid citation
        "llm_failed": sum(r["llm_failed"] for r in rows),  # answered extractively because the model failed
        **readability_summary(rows),
    }


def readability_summary(rows: list[dict]) -> dict:
    """Mean words of the answers given (not refusals) and totals of each readability count."""
    given = [r for r in rows if not r["refused"]]
    out: dict = {"mean_words": statistics.mean(r["words"] for r in given) if given else 0.0}
    for key in (*READABILITY.values(), "repeated"):
        out[key] = sum(r[key] for r in given)
    return out


_NOT_AVERAGED = {"id", "type", "answerable"}
_RENAMED = {"rr": "mrr@10", "kp": "kp_recall@5", "page": "page_hit@5", "doc": "doc_hit@5"}


def by_type(rows: list[dict]) -> dict[str, dict]:
    """Per question type: the mean of every numeric per-question field, over the questions that have it
    (retrieval fields under their metric names, e.g. rr -> mrr@10), and n. Unanswerable questions
    report `refused` (share refused); for answerable ones it is the false-refusal share."""
    out: dict[str, dict] = {}
    for kind in sorted({r["type"] for r in rows}):
        group = [r for r in rows if r["type"] == kind]
        figures: dict[str, float | int] = {"n": len({r["id"] for r in group})}
        fields = {k for r in group for k, v in r.items()
                  if k not in _NOT_AVERAGED and isinstance(v, int | float)}
        for key in sorted(fields):
            values = [float(r[key]) for r in group if isinstance(r.get(key), int | float)]
            figures[_RENAMED.get(key, key)] = sum(values) / len(values)
        out[kind] = figures
    return out


RATIO_KEYS = ["doc_hit@5", "page_hit@5", "mrr@10", "kp_recall@5", "answer_kp", "citation_precision",
              "p50_ms", "p95_ms"]


def evaluate_all(answerer: Any, questions: list[Question]) -> dict:
    """Every metric of the harness for one system (ours: an Answerer), overall and `by_type`.

    Retrieval is measured on the passages the answer draws on (`Answerer.passages`, top 10).
    """
    search = getattr(answerer, "passages", None) or (lambda q, k=10: answerer.retriever.search(q, k=k))
    retrieval = retrieval_metrics(questions, lambda q: search(q, k=10))
    rrows = retrieval.pop("rows")
    answers = answer_metrics(questions, answerer.answer)
    arows = answers.pop("rows")
    merged: dict[str, dict] = {r["id"]: dict(r) for r in arows}
    for r in rrows:
        merged[r["id"]].update(r)
    return {**retrieval, **answers, "missed_pages": [r["id"] for r in rrows if not r["page"]],
            "by_type": by_type(list(merged.values())), "questions": list(merged.values())}


def evaluate_baseline(baseline: Any, questions: list[Question]) -> dict:
    """Retrieval and answer figures of the LangChain baseline on `questions`, with its
    page and chunk counts and build time (s)."""
    retrieval = retrieval_metrics(questions, lambda q: baseline.search(q, k=10))
    retrieval.pop("rows")
    answers = answer_metrics(questions, baseline.answer)
    answers.pop("rows")
    return {**retrieval, **answers, "pages": baseline.n_pages, "chunks": baseline.n_chunks,
            "build_s": round(baseline.build_s, 1)}


def ratios(ours: dict, base: dict) -> dict:
    """ours / baseline for each of RATIO_KEYS the baseline has a non-zero value of (3 decimals)."""
    return {k: round(ours[k] / base[k], 3) for k in RATIO_KEYS if base.get(k)}


def unrelated(q: Question, pool: list[Question]) -> Question | None:
    """A question of `pool` about other papers than `q` (deterministic: half the pool further on)."""
    docs = {g["doc"] for g in q.gold}
    start = next((i for i, p in enumerate(pool) if p.id == q.id), 0) + len(pool) // 2
    for i in range(len(pool)):
        other = pool[(start + i) % len(pool)]
        if other.id != q.id and other.answerable and not docs & {g["doc"] for g in other.gold}:
            return other
    return None


def context_bleed(answerer: Any, questions: list[Question], pool: list[Question] | None = None) -> dict:
    """Ask each question alone and right after an unrelated question in one conversation.

    bleed: the share of questions whose passages (doc, chunk span) differ between the two;
    carried: how many were read as follow-ups (each of these eval questions stands alone, so 0 is
    right); bled: the ids that differed. Needs an Answerer (`answer(..., conversation=)`).
    """
    from paperdojo.answering.answer import Conversation

    pool = pool or questions
    bled, carried, n = [], 0, 0
    for q in questions:
        before = unrelated(q, pool)
        if before is None:
            continue
        alone = answerer.answer(q.question)
        conversation = Conversation()
        answerer.answer(before.question, conversation=conversation)
        after = answerer.answer(q.question, conversation=conversation)
        n += 1
        carried += bool(after.interpreted)
        if [s.chunk.chunk_id for s in alone.sources] != [s.chunk.chunk_id for s in after.sources]:
            bled.append(q.id)
    return {"bleed": len(bled) / max(1, n), "carried": carried, "n": n, "bled": bled}
