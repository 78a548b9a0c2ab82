import json
import os
from pathlib import Path

from paperdojo.library.chunk import sentence_spans
from paperdojo.settings import Settings
from paperdojo.study.concepts import is_prose
from paperdojo.workspace import Workspace

s = Settings(home=Path(os.environ.get("XENC_HOME", "/tmp/h10xenc-home")))
ws = Workspace(s)
ans = ws.answerer()
out, seen = [], set()
for c in ans.retriever.chunks:
    t = c.text
    for a, b in sentence_spans(t, 0, len(t)):
        x = " ".join(t[a:b].split())
        if x not in seen and is_prose(x, c.section):
            seen.add(x)
            out.append({"doc": c.doc_id, "s": x})
print(len(out))
Path(os.environ.get("XENC_WORK", "/tmp/h10xenc") + "/sents.json").write_text(json.dumps(out))
