"""Rule-made (reference, claim, label) pairs from library sentences. label 1 = contradicts."""

from __future__ import annotations

import random
import re

OPP = """
increase decrease; increases decreases; increased decreased; increasing decreasing; increase reduce;
increases reduces; reduce raise; reduces raises; raises lowers; higher lower; more fewer; more less;
larger smaller; bigger smaller; large small; faster slower; fast slow; speedup slowdown; many few;
most least; maximum minimum; maximize minimize; maximizes minimizes; before after; earlier later;
first last; static dynamic; statically dynamically; online offline; forward backward; always never;
easy hard; easier harder; cheap expensive; cheaper costlier; accurate inaccurate; exact approximate;
sparse dense; synchronous asynchronous; synchronously asynchronously; explicit implicit;
explicitly implicitly; manual automatic; manually automatically; grow shrink; grows shrinks;
improve degrade; improves degrades; improved degraded; enable disable; enables disables;
supported unsupported; possible impossible; necessary unnecessary; required optional; horizontal vertical;
coarse fine; coarser finer; wider narrower; deeper shallower; compute-bound memory-bound;
underestimate overestimate; lossless lossy; contiguous non-contiguous; ahead behind; rows columns;
input output; inputs outputs; read write; reads writes; load store; loads stores; encoder decoder;
prefill decode; inside outside; within across; same different; all none; local global; locally globally;
high low; long short; longer shorter; better worse; best worst; increases eliminates; above below;
over under; upper lower; start end; begins ends; add remove; adds removes; added removed;
include exclude; includes excludes; allow prevent; allows prevents; avoid require; avoids requires;
succeed fail; success failure; correct incorrect; valid invalid; efficient inefficient;
efficiently inefficiently;
sequential parallel; sequentially in-parallel; serial parallel; centralized decentralized; shared private;
heavy light; idle busy; separate joint; separately jointly; independent dependent; independently jointly;
quadratic linear; quadratically linearly; constant variable; fixed flexible; regular irregular;
uniform non-uniform; homogeneous heterogeneous; increase keep; hardware software; compile-time runtime;
training inference; latency throughput; memory compute; on-chip off-chip; spatial temporal;
spatially temporally; outer inner; lazily eagerly; lazy eager; greedy exhaustive; once repeatedly;
rarely often; seldom frequently; smaller larger; cold hot; weak strong; weaker stronger; lower higher;
""".strip()

ABSOLUTE = [
    (r"\bcan\b", "always"),
    (r"\bmay\b", "must"),
    (r"\bsome\b", "all"),
    (r"\boften\b", "always"),
    (r"\busually\b", "always"),
    (r"\btypically\b", "always"),
    (r"\bmost\b", "all"),
    (r"\bmany\b", "all"),
    (r"\bseveral\b", "all"),
    (r"\bmight\b", "must"),
    (r"\bcould\b", "must"),
    (r"\bpartially\b", "entirely"),
    (r"\bpartly\b", "completely"),
    (r"\bsignificantly\b", "entirely"),
    (r"\blargely\b", "only"),
    (r"\bmainly\b", "only"),
    (r"\bmostly\b", "only"),
    (r"\bfew\b", "no"),
    (r"\breduces\b", "eliminates"),
    (r"\breduce\b", "eliminate"),
    (r"\bhelps\b", "is the only way"),
    (r"\balso\b", "only"),
]
AUX = re.compile(r"\b(is|are|was|were|can|could|does|do|did|will|would|should|must|may|might|has|have|had)\b")
NEG_REMOVE = [
    (r"\bcannot\b", "can"),
    (r"\bcan't\b", "can"),
    (r"\b(is|are|was|were|does|do|did|will|would|should|must|has|have|can|could|may) not\b", r"\1"),
    (r"\b(does|do|did)n't\b", r"\1"),
    (r"\b(is|are|was|were|has|have)n't\b", r"\1"),
    (r"\bnever\b", "always"),
    (r"\bno longer\b", "still"),
    (r"\bwithout\b", "with"),
    (r"\bneither\b", "either"),
    (r"\bnor\b", "or"),
    (r"\bno\b", "some"),
    (r"\bnone\b", "all"),
    (r"\bunlike\b", "like"),
]
SUBJECT = re.compile(
    r"(?:\\b(?:it|this|that|which|who|model|system|compiler|method|approach|scheduler|algorithm|technique|framework|kernel|design)|\\b[A-Z][A-Za-z0-9-]*[A-Z0-9][A-Za-z0-9-]*)\\s+$"
)
VERB3 = re.compile(r"\b([a-z]{3,}(?:es|s))\b")  # a present-tense verb after a subject, roughly
SYN = [
    ("uses", "employs"),
    ("use", "employ"),
    ("shows", "demonstrates"),
    ("allows", "lets"),
    ("enables", "allows"),
    ("method", "approach"),
    ("approach", "technique"),
    ("large", "big"),
    ("significant", "substantial"),
    ("improves", "boosts"),
    ("achieves", "reaches"),
    ("however", "but"),
    ("therefore", "so"),
    ("thus", "so"),
    ("in order to", "to"),
    ("utilize", "use"),
    ("utilizes", "uses"),
    ("provides", "offers"),
    ("requires", "needs"),
    ("each", "every"),
    ("performance", "speed"),
    ("quickly", "fast"),
    ("design", "architecture"),
    ("we", "the authors"),
    ("We", "The authors"),
    ("our", "their"),
    ("Our", "Their"),
    ("figure out", "determine"),
    ("determine", "work out"),
    ("consists of", "is made of"),
    ("perform", "carry out"),
    ("performs", "carries out"),
    ("obtain", "get"),
    ("obtains", "gets"),
    ("approximately", "about"),
    ("roughly", "about"),
    ("because", "since"),
    ("e.g.,", "for example"),
    ("i.e.,", "that is,"),
    ("similar", "alike"),
    ("goal", "aim"),
    ("propose", "introduce"),
]
FRAMES = [
    "In other words, {}",
    "The paper explains that {}",
    "Put simply, {}",
    "{}",
    "Basically, {}",
    "As described, {}",
    "It turns out that {}",
]
NUM = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)(\s*(?:%|x|×|times|K|M|B|GB|MB|ms|s)?)(?![\w.]*[A-Za-z]{2})")
NAME = re.compile(
    r"\b([A-Z][A-Za-z0-9-]*[A-Z0-9][A-Za-z0-9-]*|[A-Z][a-z]+[A-Z][A-Za-z]*)\b"
)  # TVM, vLLM-ish, FlashAttention
CAUSE = re.compile(
    r"^(.{15,}?),? (because|since|so that|so|which leads to|leading to|thus|therefore) (.{15,}?)([.!?]?)$"
)


def _opp_map() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for pair in OPP.replace("\n", " ").split(";"):
        w = pair.split()
        if len(w) != 2:
            continue
        a, b = (x.replace("in-parallel", "in parallel") for x in w)
        out.setdefault(a, []).append(b)
        out.setdefault(b, []).append(a)
    return out


OPPOSITE = _opp_map()


def _keep_case(src: str, dst: str) -> str:
    return dst[0].upper() + dst[1:] if src[:1].isupper() else dst


def negate_add(s: str, rng: random.Random) -> str | None:
    ms = list(AUX.finditer(s))
    if ms:
        m = rng.choice(ms)
        rest = s[m.end() :]
        if re.match(r"\s+(not|never|no)\b", rest):
            return None
        word = (
            rng.choice(["not", "not", "never"]) if m.group(1) not in ("is", "are", "was", "were") else "not"
        )
        return s[: m.end()] + " " + word + rest
    vs = [
        m
        for m in VERB3.finditer(s)
        if m.start() > 8 and not m.group(1).endswith(("ss", "us", "is")) and SUBJECT.search(s[: m.start()])
    ]
    if vs:
        m = rng.choice(vs[:3])
        v = m.group(1)
        base = v[:-2] if v.endswith(("sses", "ches", "shes", "xes", "zzes")) else v[:-1]
        if v.endswith("ies"):
            base = v[:-3] + "y"
        return s[: m.start()] + "does not " + base + s[m.end() :]
    return None


def negate_remove(s: str, rng: random.Random) -> str | None:
    opts = [(p, r) for p, r in NEG_REMOVE if re.search(p, s)]
    if not opts:
        return None
    p, r = rng.choice(opts)
    return re.sub(p, r, s, count=1)


def opposite(s: str, rng: random.Random) -> str | None:
    toks = [(m, m.group(0)) for m in re.finditer(r"[A-Za-z][A-Za-z-]*", s)]
    cands = [(m, w) for m, w in toks if w.lower() in OPPOSITE]
    if not cands:
        return None
    m, w = rng.choice(cands)
    new = _keep_case(w, rng.choice(OPPOSITE[w.lower()]))
    return s[: m.start()] + new + s[m.end() :]


def number(s: str, rng: random.Random) -> str | None:
    ms = [m for m in NUM.finditer(s) if m.group(1) not in ("1", "2", "0") or m.group(2).strip()]
    if not ms:
        return None
    if len(ms) >= 2 and ms[0].group(1) != ms[1].group(1) and rng.random() < 0.4:
        a, b = ms[0], ms[1]
        return s[: a.start(1)] + b.group(1) + s[a.end(1) : b.start(1)] + a.group(1) + s[b.end(1) :]
    m = rng.choice(ms)
    v = float(m.group(1))
    f = rng.choice([0.1, 0.25, 0.5, 2, 3, 4, 10])
    nv = v * f
    if "%" in m.group(2) and nv > 100:
        nv = v / f if v / f < 100 else v / 2
    txt = f"{nv:g}" if "." in m.group(1) else str(int(round(nv))) if nv >= 1 else f"{nv:.2g}"
    if txt == m.group(1):
        return None
    return s[: m.start(1)] + txt + s[m.end(1) :]


class _Span:
    def __init__(self, a: int, b: int, text: str) -> None:
        self.a, self.b, self.text = a, b, text

    def start(self) -> int:
        return self.a

    def end(self) -> int:
        return self.b

    def group(self, _: int = 0) -> str:
        return self.text


def swap_names(s: str, rng: random.Random) -> str | None:
    names = []
    for m in NAME.finditer(s):
        if m.group(1) not in [n.group(1) for n in names] and m.start() > 0:
            names.append(m)
    if len(names) < 2:
        # two head nouns: a word after a determiner and before a function word or punctuation
        heads = [
            m
            for m in re.finditer(
                r"\b(?:the|a|an) ([a-z]{4,})"
                r"(?=\s+(?:of|in|on|for|to|and|is|are|with|from|by|at|as|that|which)\b|[,.;])",
                s,
            )
        ]
        seen, uniq = set(), []
        for m in heads:
            if m.group(1) not in seen:
                seen.add(m.group(1))
                uniq.append(m)
        uniq = [_Span(m.start(1), m.end(1), m.group(1)) for m in uniq]
        if len(uniq) < 2:
            return None
        a, b = rng.sample(uniq[:4], 2)
        if a.start() > b.start():
            a, b = b, a
    else:
        a, b = rng.sample(names[:4], 2)
        if a.start() > b.start():
            a, b = b, a
    return s[: a.start()] + b.group(0) + s[a.end() : b.start()] + a.group(0) + s[b.end() :]


def absolute(s: str, rng: random.Random) -> str | None:
    opts = [(p, r) for p, r in ABSOLUTE if re.search(p, s)]
    if opts:
        p, r = rng.choice(opts)
        return re.sub(p, r, s, count=1)
    ms = list(AUX.finditer(s))
    if ms:
        m = ms[0]
        return s[: m.end()] + " " + rng.choice(["only", "always", "entirely", "never"]) + s[m.end() :]
    return None


def cause_swap(s: str, rng: random.Random) -> str | None:
    m = CAUSE.match(s.rstrip())
    if not m:
        return None
    a, conn, b, end = m.groups()
    a2 = a[0].lower() + a[1:] if not NAME.match(a.split()[0]) else a
    return b[0].upper() + b[1:] + " " + conn + " " + a2 + (end or ".")


CONTRA = [
    ("neg_add", negate_add, 2),
    ("neg_remove", negate_remove, 2),
    ("opposite", opposite, 4),
    ("number", number, 2),
    ("swap", swap_names, 2),
    ("absolute", absolute, 2),
    ("cause", cause_swap, 1),
]


def drop_clause(s: str, rng: random.Random) -> str | None:
    parts = re.split(r"(?<=,)\s+|\s+(?=\bwhich\b|\bwhile\b|\bwhere\b)", s)
    if len(parts) < 3:
        return None
    i = rng.randrange(1, len(parts))
    out = " ".join(p for j, p in enumerate(parts) if j != i).strip().rstrip(",")
    return out if out.endswith((".", "!", "?")) else out + "."


def synonyms(s: str, rng: random.Random) -> str | None:
    opts = [(a, b) for a, b in SYN if re.search(rf"\b{re.escape(a)}\b", s)]
    if not opts:
        return None
    out = s
    for a, b in rng.sample(opts, min(len(opts), rng.randint(1, 3))):
        out = re.sub(rf"\b{re.escape(a)}\b", b, out, count=1)
    return out


def frame(s: str, rng: random.Random) -> str | None:
    f = rng.choice(FRAMES)
    body = s if f == "{}" or NAME.match(s.split()[0]) else s[0].lower() + s[1:]
    return f.format(body)


def truncate(s: str, rng: random.Random) -> str | None:
    w = s.split()
    if len(w) < 12:
        return None
    k = rng.randint(int(len(w) * 0.5), int(len(w) * 0.8))
    return " ".join(w[:k]).rstrip(",;:") + "."


FAITHFUL = [("drop_clause", drop_clause, 2), ("synonyms", synonyms, 3), ("frame", frame, 2)]


def pick(rules, rng):
    names = [r for r in rules for _ in range(r[2])]
    return rng.sample(names, len(names))


def faithful_edits(s: str, rng: random.Random, k: int) -> str:
    out = s
    for _ in range(k):
        name, fn, _ = rng.choice(FAITHFUL)
        new = fn(out, rng)
        if new:
            out = new
    return out


CROSS = False


def make_pairs(
    sentences: list[str], neighbours: list[int], rng: random.Random
) -> list[tuple[str, str, int, str]]:
    """(reference, claim, label, rule) for each sentence: one contradicting variant (0-2 faithful edits
    stacked, in either order), one faithful variant, and the nearest other sentence as consistent."""
    out = []
    for i, s in enumerate(sentences):
        if len(s.split()) > 60:
            continue
        done = set()
        for name, fn, _ in pick(CONTRA, rng):
            if name in done:
                continue
            new = fn(s, rng)
            if new and new != s:
                k = rng.choice([0, 0, 1, 2])
                if rng.random() < 0.5:
                    for _ in range(k):
                        g = rng.choice([synonyms, frame])(new, rng)
                        new = g or new
                else:
                    pre = faithful_edits(s, rng, k)
                    new2 = fn(pre, rng)
                    new = new2 if new2 and new2 != pre else new
                out.append((s, new, 1, name))
                break
        f = faithful_edits(s, rng, rng.choice([1, 1, 2, 3]))
        out.append((s, f, 0, "faithful" if f != s else "identity"))
        j = neighbours[i]
        if j >= 0 and CROSS:
            # the claim in other words: a contradicting edit of the nearest other sentence, which
            # restates much of this one; the sentence itself stays the premise
            for name, fn, _ in pick(CONTRA, rng):
                new = fn(sentences[j], rng)
                if new and new != sentences[j]:
                    out.append((s, new, 1, "cross_" + name))
                    break
        if j >= 0:
            if rng.random() < 0.5:
                out.append((s, sentences[j], 0, "neighbour"))
            else:
                out.append((sentences[j], s, 0, "neighbour"))
    return out
