import json
import os
import random
import sys
import time
import zlib
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
import claim_pairs as gen
from xenc_model import XEnc, tokenizer

torch.set_num_threads(2)
torch.manual_seed(0)
N = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
EPOCHS = float(sys.argv[2]) if len(sys.argv) > 2 else 1
OUT = sys.argv[3] if len(sys.argv) > 3 else os.environ.get("XENC_WORK", "/tmp/h10xenc") + "/xenc.pt"
MAXLEN, BATCH, LR = 96, 16, 8e-5
WORK = Path(os.environ.get("XENC_WORK", "/tmp/h10xenc"))
d = [x["s"] for x in json.loads((WORK / "sents.json").read_text())]
d = [s for s in d if 8 <= len(s.split()) <= 60]
rng = random.Random(0)
sents = rng.sample(d, min(N, len(d)))
tok = tokenizer()
model = XEnc()
t0 = time.time()
# nearest other sentence by the untrained MiniLM (mean pooling), as a consistent pair
with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
    vecs = []
    for i in range(0, len(sents), 64):
        enc = tok(sents[i : i + 64], padding=True, truncation=True, max_length=64, return_tensors="pt")
        vecs.append(torch.nn.functional.normalize(model.pooled(**enc).float(), dim=-1))
    V = torch.cat(vecs).numpy()
S = V @ V.T
np.fill_diagonal(S, -1)
S[S > 0.92] = -1  # near-duplicates are no "other" sentence
nb = [int(j) if S[i, j] > 0.55 else -1 for i, j in enumerate(S.argmax(1))]
gen.CROSS = True
print(f"neighbours in {time.time() - t0:.0f}s, {sum(j >= 0 for j in nb)} with one", flush=True)
held = [zlib.crc32(s.encode()) % 5 == 0 for s in sents]
pairs = gen.make_pairs(sents, nb, random.Random(1))
sent_held = {s: h for s, h in zip(sents, held, strict=False)}
train = [
    p for p in pairs if not sent_held.get(p[0], sent_held.get(p[1], False)) and not sent_held.get(p[1], False)
]
test = [p for p in pairs if sent_held.get(p[0], False) or sent_held.get(p[1], False)]
print("pairs", len(pairs), "train", len(train), "test", len(test), Counter(p[3] for p in train), flush=True)
random.Random(2).shuffle(train)
steps = int(len(train) * EPOCHS / BATCH)
opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.01)
sched = torch.optim.lr_scheduler.LambdaLR(
    opt, lambda s: min(1.0, (s + 1) / (0.1 * steps)) * max(0.0, 1 - s / steps)
)


def pairs(b):
    """A batch of (premise, claim, label) rows as the model's input, cut to MAXLEN tokens."""
    return tok([p[0] for p in b], [p[1] for p in b], padding=True, truncation="longest_first",
               max_length=MAXLEN, return_tensors="pt")


model.train()
t0 = time.time()
for step in range(steps):
    b = [train[(step * BATCH + k) % len(train)] for k in range(BATCH)]
    enc = pairs(b)
    y = torch.tensor([p[2] for p in b])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(**enc)
    loss = torch.nn.functional.cross_entropy(logits.float(), y)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    sched.step()
    opt.zero_grad()
    if step % 50 == 0:
        print(f"step {step}/{steps} loss {loss.item():.3f} {time.time() - t0:.0f}s", flush=True)
print(f"trained in {time.time() - t0:.0f}s", flush=True)
model.eval()
probs = []
with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
    for i in range(0, len(test), 64):
        b = test[i : i + 64]
        enc = pairs(b)
        probs += torch.softmax(model(**enc).float(), -1)[:, 1].tolist()
acc = defaultdict(list)
for p, pr in zip(test, probs, strict=False):
    acc[p[3]].append((pr >= 0.5) == bool(p[2]))
    acc["ALL"].append((pr >= 0.5) == bool(p[2]))
for k, v in sorted(acc.items()):
    print(f"held-out {k}: {np.mean(v):.3f} (n={len(v)})")
torch.save(model.state_dict(), OUT)
