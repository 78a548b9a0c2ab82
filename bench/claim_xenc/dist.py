"""Sentences flagged per answer kind, and the ROC AUC of wrong against the other kinds.

usage: dist.py probs.json [cosine] [same_terms]; reads pairs.json and log.pkl of XENC_WORK
(collect.py) and graded_answers.jsonl.
"""

import collections
import json
import os
import pickle
import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

WORK = Path(os.environ.get("XENC_WORK", "/tmp/h10xenc"))
GRADED = Path(os.environ.get("XENC_GRADED", "/work/shared/eval/graded_answers.jsonl"))
pairs = json.loads((WORK / "pairs.json").read_text())
probs = dict(zip(map(tuple, pairs), json.loads(Path(sys.argv[1]).read_text()), strict=True))
LOG = pickle.loads((WORK / "log.pkl").read_bytes())
recs = [json.loads(line) for line in GRADED.read_text().splitlines() if line.strip()]
# which answer (kind, half) a logged claim comes from: the one text that holds it
texts = [(k, " ".join(t.split()), r["question_id"].rpartition("-")[0])
         for r in recs for k, t in r["answers"].items()]
near_cos = float(sys.argv[2]) if len(sys.argv) > 2 else 0.55
terms = float(sys.argv[3]) if len(sys.argv) > 3 else 0.2
stats = collections.defaultdict(list)
for s, cw, top in LOG:
    if cw == 0:
        continue
    ks = {(k, h) for k, t, h in texts if s in t}
    if len(ks) != 1:
        continue
    k, h = ks.pop()
    p = max((probs.get((r, s), 0) for r, c, a in top if c >= near_cos and a >= terms), default=0)
    stats[(k, h)].append(p)
for thr in (0.5, 0.7, 0.8, 0.9, 0.95, 0.98):
    line = []
    for k in ("correct_terms", "correct_plain", "partial", "wrong"):
        v = np.array(stats[(k, "dev")])
        line.append(f"{k[:9]}:{(v >= thr).sum()}/{len(v)}")
    print(thr, " ".join(line))
for h in ("dev", "dev2"):
    for k in ("correct_terms", "correct_plain", "partial"):
        a, b = stats[("wrong", h)], stats[(k, h)]
        auc = roc_auc_score([1] * len(a) + [0] * len(b), a + b)
        print(h, "AUC wrong vs", k, round(auc, 3), "median", np.median(a), np.median(b))
