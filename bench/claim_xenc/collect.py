import json
import os
import pickle
import sys
from pathlib import Path

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
import harness as H

rep = H.collect()
H.row("main today (lexical checks, same_terms 0.2)", rep)
pairs = sorted({(r, s) for s, cw, top in H.LOG if cw > 0 for r, c, a in top if c >= 0.40})
WORK = Path(os.environ.get("XENC_WORK", "/tmp/h10xenc"))
(WORK / "pairs.json").write_text(json.dumps(pairs))
(WORK / "log.pkl").write_bytes(pickle.dumps(H.LOG))
(WORK / "base_rep.json").write_text(json.dumps(rep))
print(len(pairs), "pairs")
