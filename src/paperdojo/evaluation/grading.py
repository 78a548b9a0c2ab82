"""Grading measured like retrieval: answers of known quality, and how often the grader orders them right.

Input: JSONL in the format of `graded_answers.jsonl`, one record per question:
`{"id", "question_id", "question", "papers": [doc ids], "answers": {kind: text}}`, the kinds being
correct_terms, correct_plain, partial, keywords, wrong, off_topic, dont_know (others are graded and
averaged too). Output: the mean score per kind, and per pair of the contract ("a>b") the share of
questions where kind a scored strictly above kind b. The contract (from graded_answers.md): both
correct kinds above partial; partial above keywords, wrong and off_topic.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from paperdojo.study.interview import Grader, Question
from paperdojo.util import jsonl_records

log = logging.getLogger(__name__)

CONTRACT = [("correct_terms", "partial"), ("correct_plain", "partial"), ("partial", "keywords"),
            ("partial", "wrong"), ("partial", "off_topic"), ("correct_terms", "keywords"),
            ("correct_plain", "keywords"), ("correct_terms", "wrong"), ("correct_plain", "wrong")]


def load_graded(path: Path) -> list[dict]:
    """The records of a graded-answers file; ValueError naming the line when one is malformed."""
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    records = []
    for n, record in jsonl_records(path):
        missing = {"question", "answers"} - set(record)
        if missing or not isinstance(record.get("answers"), dict):
            raise ValueError(f"{path}:{n}: needs question and answers {{kind: text}}; lacks "
                             f"{', '.join(sorted(missing)) or 'a dict of answers'}")
        records.append(record)
    if not records:
        raise ValueError(f"{path}: no records")
    return records


def summarize(scores: list[dict[str, float]]) -> dict:
    """{"mean": {kind: mean score}, "order": {"a>b": share of questions}, "n": questions}."""
    kinds = sorted({k for s in scores for k in s})
    mean = {k: round(sum(s[k] for s in scores if k in s) / sum(k in s for s in scores), 3) for k in kinds}
    order = {}
    for a, b in CONTRACT:
        both = [s for s in scores if a in s and b in s]
        if both:
            order[f"{a}>{b}"] = round(sum(s[a] > s[b] for s in both) / len(both), 3)
    return {"mean": mean, "order": order, "n": len(scores)}


def evaluate_grading(grader: Grader, records: list[dict],
                     progress: Callable[[int, int], None] | None = None) -> dict:
    """Grade every answer of every record; the summary over all records and per question file
    (the part of `question_id` before its last dash, e.g. "dev" and "dev2"), plus each score."""
    scores: list[dict[str, float]] = []
    for n, record in enumerate(records, 1):
        q = Question(record.get("question_id") or record.get("id") or f"graded-{n}", record["question"],
                     list(record.get("papers", [])), "")
        scores.append({kind: grader.grade(q, text, with_model_answer=False).score
                       for kind, text in record["answers"].items()})
        if progress:
            progress(n, len(records))
    report = summarize(scores)
    groups: dict[str, list[dict[str, float]]] = {}
    for record, s in zip(records, scores, strict=True):
        groups.setdefault(str(record.get("question_id", "")).rpartition("-")[0] or "all", []).append(s)
    if len(groups) > 1:
        report["split"] = {name: summarize(group) for name, group in sorted(groups.items())}
    report["scores"] = {r.get("id") or r.get("question_id") or str(i): s
                        for i, (r, s) in enumerate(zip(records, scores, strict=True), 1)}
    return report
