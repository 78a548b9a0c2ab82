"""Grading harness: record per-claim candidates once, score pairs with the cross-encoder, replay variants."""

import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from paperdojo.evaluation.grading import evaluate_grading, load_graded
from paperdojo.settings import Settings
from paperdojo.study.grading import alignment
from paperdojo.workspace import Workspace

records = load_graded(Path("/work/shared/eval/graded_answers.jsonl"))
ws = Workspace(Settings(home=Path(os.environ.get("XENC_HOME", "/tmp/h10xenc-home"))))
grader = ws.grader(extractive=True)
enc0 = grader.embedder.encode
memo = {}


def enc(texts, *a, **k):
    key = tuple(texts)
    if key not in memo:
        memo[key] = enc0(texts, *a, **k)
    return memo[key]


grader.embedder.encode = enc
orig = type(grader).contradicted

# records of every check: (claim, [(ref, cos, align)], lexical reasons at default)
LOG = []


def recording(self, sentences, sims, claims, ev):
    for i, s in enumerate(sentences):
        top = [(ev.sentences[j], float(sims[i, j])) for j in np.argsort(-sims[i])[:3]]
        LOG.append((s, float(claims[i]), [(r, c, alignment(s, r, self.stem)) for r, c in top]))
    return orig(self, sentences, sims, claims, ev)


CACHE = Path(os.environ.get("XENC_WORK", "/tmp/h10xenc") + "/harness_cache.pkl")


def collect():
    type(grader).contradicted = recording
    t = time.time()
    rep = evaluate_grading(grader, records)
    type(grader).contradicted = orig
    print("collect", time.time() - t, file=sys.stderr)
    return rep


def kind_of(records, rep):
    pass


def variant(probs, thr, near_cos=0.55, terms=0.2, lexical=True, cost=2.0, topk=3, model=True):
    grader.contradiction_cost = cost

    def f(self, sentences, sims, claims, ev):
        out = orig(self, sentences, sims, claims, ev) if lexical else {}
        if not model:
            return out
        for i, s in enumerate(sentences):
            if claims[i] == 0 or i in out:
                continue
            top = [(ev.sentences[j], float(sims[i, j])) for j in np.argsort(-sims[i])[:topk]]
            near = [r for r, c in top if c >= near_cos and alignment(s, r, self.stem) >= terms]
            p = max((probs.get((r, s), 0.0) for r in near), default=0.0)
            if p >= thr:
                out[i] = [f"model P={p:.2f}"]
        return out

    type(grader).contradicted = f
    rep = evaluate_grading(grader, records)
    type(grader).contradicted = orig
    grader.contradiction_cost = 2.0
    return rep


FLAGS = []
_grade0 = grader.grade


def counting_grade(q, text, with_model_answer=True):
    g = _grade0(q, text, with_model_answer)
    FLAGS.append(len(g.contradictions))
    return g


grader.grade = counting_grade


def flags_per_kind(records):
    """Mean contradicted sentences per answer, by kind and half (FLAGS filled in grading order)."""
    out, k = {}, 0
    for r in records:
        half = r["question_id"].rpartition("-")[0]
        for kind in r["answers"]:
            out.setdefault(half, {}).setdefault(kind, []).append(FLAGS[k])
            k += 1
    return {h: {kind: round(float(np.mean(v)), 2) for kind, v in d.items()} for h, d in out.items()}


KINDS = ["correct_terms", "correct_plain", "partial", "keywords", "wrong", "off_topic", "dont_know"]
ORD = [
    "correct_terms>partial",
    "correct_plain>partial",
    "partial>keywords",
    "partial>wrong",
    "partial>off_topic",
]


def row(name, rep):
    fl = flags_per_kind(records)
    FLAGS.clear()
    cells = [name]
    for part in ("dev", "dev2"):
        s = rep["split"][part]
        cells.append("/".join(f"{s['mean'][k]:.2f}" for k in KINDS[:6]))
        cells.append("/".join(f"{s['order'][o]:.2f}".replace("0.", ".").replace("1.00", "1.00") for o in ORD))
        cells.append(
            "/".join(f"{fl[part][k]:.2f}" for k in ["correct_terms", "correct_plain", "partial", "wrong"])
        )
    s = rep
    cells.append("/".join(f"{s['mean'][k]:.2f}" for k in KINDS[:6]))
    cells.append("/".join(f"{s['order'][o]:.2f}" for o in ORD))
    line = "| " + " | ".join(cells) + " |"
    print(line, flush=True)
    with open(os.environ.get("XENC_WORK", "/tmp/h10xenc") + "/rows.md", "a") as f:
        f.write(line + "\n")
    return rep
