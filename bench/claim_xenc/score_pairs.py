"""Score (ref, claim) pairs with a trained cross-encoder state dict.

usage: score_pairs.py model.pt pairs.json out.json
"""

import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from xenc_model import XEnc, tokenizer  # noqa: E402

torch.set_num_threads(2)
tok = tokenizer()
model = XEnc()
model.load_state_dict(torch.load(sys.argv[1]))
model.eval()
pairs = json.loads(Path(sys.argv[2]).read_text())
order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
probs = [0.0] * len(pairs)
t = time.time()
with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
    for i in range(0, len(order), 32):
        idx = order[i : i + 32]
        enc = tok(
            [pairs[j][0] for j in idx],
            [pairs[j][1] for j in idx],
            padding=True,
            truncation="longest_first",
            max_length=96,
            return_tensors="pt",
        )
        for j, p in zip(idx, torch.softmax(model(**enc).float(), -1)[:, 1].tolist(), strict=False):
            probs[j] = p
print(f"{len(pairs)} pairs in {time.time() - t:.0f}s", file=sys.stderr)
Path(sys.argv[3]).write_text(json.dumps(probs))
