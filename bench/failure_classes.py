"""Experiment: why each question of an eval file loses key points, by class (issue 13, h12held).

For every question, the passages `paperdojo eval` measures (`Answerer.passages`, top 5) and the
extractive answer (`Answerer.answer`), then one class per question and one per key point:

- unanswerable: refused, or "unrefused unanswerable";
- answerable and refused: "false refusal" (with the refusal's reason);
- gold page not in the top 5: "retrieval miss";
- otherwise each key point is "answered" (in the answer), "answer miss" (in the top-5 passages, as
  eval caps them, but not in the answer) or "passage miss" (a gold page is in the top 5, the key point
  is not in those passages);
- "unreadable": the answer's sentences that are not prose or repeat one (evaluate.readability).

    python bench/failure_classes.py --home H bench/heldout.jsonl [../shared/eval/dev2.jsonl ...] [--list]

Prints the counts per file (questions and key points per class) and with --list one line per question.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", required=True)
    ap.add_argument("files", nargs="+")
    ap.add_argument("--list", action="store_true", help="one line per question")
    args = ap.parse_args()

    from paperdojo.evaluation.evaluate import JUNK, _capped, kp_found, load_questions, readability
    from paperdojo.settings import Settings
    from paperdojo.workspace import Workspace

    answerer = Workspace(Settings(home=Path(args.home))).answerer()
    for name in args.files:
        questions, points = Counter(), Counter()
        lines = []
        for q in load_questions(Path(name)):
            top5 = answerer.passages(q.question, k=5)
            ans = answerer.answer(q.question)
            read = readability(ans.text) if not ans.refused else {}
            unreadable = sum(read.get(k, 0) for k in (*JUNK, "fragments"))
            points["unreadable sentences"] += unreadable
            if not q.answerable:
                kind = "refused unanswerable" if ans.refused else "unrefused unanswerable"
                questions[kind] += 1
                lines.append(f"{q.id} {q.type}: {kind}")
                continue
            in_passages = kp_found(q.key_points, _capped(top5))
            in_answer = kp_found(q.key_points, ans.text) if not ans.refused else [False] * len(q.key_points)
            page = any(q.on_gold_page(h) for h in top5)
            if ans.refused:
                kind, detail = "false refusal", ans.reason
                points["false refusal"] += len(q.key_points)
            elif not page:
                kind, detail = "retrieval miss", ""
                points["retrieval miss"] += len(q.key_points) - sum(in_answer)
                points["answered"] += sum(in_answer)
            else:
                kind = "answered" if all(in_answer) else "partly answered"
                missed = [kp[0] for kp, p, a in zip(q.key_points, in_passages, in_answer, strict=True)
                          if p and not a]
                absent = [kp[0] for kp, p, a in zip(q.key_points, in_passages, in_answer, strict=True)
                          if not p and not a]
                points["answered"] += sum(in_answer)
                points["answer miss"] += len(missed)
                points["passage miss"] += len(absent)
                detail = f"answer miss {missed}; passage miss {absent}" if missed or absent else ""
            questions[kind] += 1
            lines.append(f"{q.id} {q.type}: {kind} {sum(in_answer)}/{len(q.key_points)} {detail}"
                         + (f" unreadable {unreadable}" if unreadable else ""))
        print(f"{Path(name).name}: questions {dict(questions)}; key points {dict(points)}")
        if args.list:
            print("\n".join(f"  {line}" for line in lines))


if __name__ == "__main__":
    main()
