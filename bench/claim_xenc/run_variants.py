"""usage: run_variants.py probs.json label 'thr,near,terms,lexical,cost' ..."""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
import harness as H

pairs = json.loads(Path(os.environ.get("XENC_WORK", "/tmp/h10xenc") + "/pairs.json").read_text())
probs = dict(zip(map(tuple, pairs), json.loads(Path(sys.argv[1]).read_text()), strict=False))
for spec in sys.argv[3:]:
    thr, near, terms, lexical, cost = spec.split(",")
    rep = H.variant(probs, float(thr), float(near), float(terms), lexical == "1", float(cost))
    H.row(
        f"{sys.argv[2]} P>={thr}, cos {near}, terms {terms}, "
        f"{'+ lexical checks' if lexical == '1' else 'no lexical checks'}, cost {cost}",
        rep,
    )
    work = Path(os.environ.get("XENC_WORK", "/tmp/h10xenc"))
    out = work / f"rep_{sys.argv[2]}_{spec.replace(',', '_')}.json"
    out.write_text(json.dumps(rep))
