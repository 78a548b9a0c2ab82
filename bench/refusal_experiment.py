"""Experiment: refusal signals on answerable and unanswerable questions of several files.

For every question the passages `paperdojo eval` measures (`Answerer.passages`, top 5) and the signals
refusal can use: unknown names (`Answerer.unknown_names`), the best cosine, the coverage and support
(`Answerer.support`), and `Answerer.held`, a coverage that also counts each pair of adjacent content
words of the question as a unit held only where the passage has the two words in a row (--phrases:
the support is computed from it).
Files: JSONL with either the eval format (`type` "unanswerable" for the unanswerable ones) or
`{"question", "answerable"}` (bench/refusal_probe.jsonl: 28 short answerable questions about the 27
shared PDFs and 14 about neighbouring topics, written for this check, in a style neither dev file has;
bench/refusal_probe2.jsonl: 56 casual answerable questions and 19 on uncovered neighbouring topics).
First printed: each file's refused and false refusals as `Answerer.refusal` decides them, whole and
per fixed half (`half`: crc32 of the question, even A, odd B; probe2's half B is the untouched check).

    python bench/refusal_experiment.py --home H ../shared/eval/dev.jsonl ../shared/eval/dev2.jsonl \
        bench/refusal_probe.jsonl [--floor 0.38] [--support 0.59] [--phrases --weight 0.75] [--list]

Prints per file refused/unanswerable and false refusals/answerable at the given floor and support
threshold, then the support threshold calibrated on each dev file alone and on both (the midpoint of
the widest run of thresholds maximizing refused - false among that file's questions, support alone)
and what it gives on every file.
"""

from __future__ import annotations

import argparse
import json
import zlib
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Row:
    file: str
    question: str
    answerable: bool
    unknown: bool
    cosine: float
    coverage: float
    held: float  # `Answerer.held`: the best passage's share of the content terms and phrases
    score: float  # coverage (or `held`, with --phrases) + weight * cosine
    reason: str = ""  # `Answerer.refusal` as `paperdojo ask` decides it ("" = answered)


def half(question: str) -> str:
    """The fixed half of a probe question: "A" when crc32 of its text is even, else "B"
    (refusal_probe2.jsonl: tuned on A, B kept as the untouched check)."""
    return "A" if zlib.crc32(question.encode("utf-8")) % 2 == 0 else "B"


def decided(rows: list[Row]) -> str:
    """Refused unanswerables and false refusals of `rows` by `Answerer.refusal` itself."""
    u = [r for r in rows if not r.answerable]
    a = [r for r in rows if r.answerable]
    return (f"refused {sum(1 for r in u if r.reason)}/{len(u)}, "
            f"false {sum(1 for r in a if r.reason)}/{len(a)}")


def load(path: Path) -> list[tuple[str, bool]]:
    """(question, answerable) of each line of an eval file or a probe file."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            answerable = d["answerable"] if "answerable" in d else d.get("type") != "unanswerable"
            out.append((d["question"], answerable))
    return out


def calibrate(rows: list[Row]) -> float:
    """The support threshold maximizing refused - false on `rows` (support alone), midpoint of the
    widest run of such thresholds."""
    values = sorted({r.score for r in rows})
    cuts = [(a + b) / 2 for a, b in zip(values, values[1:], strict=False)]
    gains = [sum(1 for r in rows if r.score < t and not r.answerable)
             - sum(1 for r in rows if r.score < t and r.answerable) for t in cuts]
    best = [t for t, g in zip(cuts, gains, strict=True) if g == max(gains)]
    return (best[0] + best[-1]) / 2


def counts(rows: list[Row], floor: float, threshold: float, held_floor: float) -> str:
    refused = [r.unknown or r.cosine < floor or (r.cosine < held_floor and r.held < 1.0)
               or r.score < threshold for r in rows]
    u = sum(1 for r in rows if not r.answerable)
    return (f"refused {sum(x for x, r in zip(refused, rows, strict=True) if not r.answerable)}/{u}, "
            f"false {sum(x for x, r in zip(refused, rows, strict=True) if r.answerable)}/{len(rows) - u}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", required=True)
    ap.add_argument("files", nargs="+")
    ap.add_argument("--floor", type=float, default=None, help="cosine floor (default: the settings')")
    ap.add_argument("--held-floor", type=float, default=None,
                    help="below this cosine, refused unless every term and phrase is held")
    ap.add_argument("--support", type=float, default=None, help="support threshold (default: the settings')")
    ap.add_argument("--weight", type=float, default=0.5, help="weight of the best cosine in the score")
    ap.add_argument("--phrases", action="store_true", help="coverage counts adjacent content-word pairs")
    ap.add_argument("--list", action="store_true", help="every question's values, lowest score first")
    args = ap.parse_args()

    from paperdojo.answering.answer import plain_question
    from paperdojo.answering.retrieve import content_terms
    from paperdojo.settings import Settings
    from paperdojo.workspace import Workspace

    settings = Settings(home=Path(args.home))
    answerer = Workspace(settings).answerer()
    floor = settings.min_similarity if args.floor is None else args.floor
    held_floor = settings.min_similarity_held if args.held_floor is None else args.held_floor
    threshold = settings.min_support if args.support is None else args.support
    rows: list[Row] = []
    for name in args.files:
        for question, answerable in load(Path(name)):
            query, _ = answerer.standalone(plain_question(question), None)
            hits = answerer.passages(question, k=5)
            cosine = max(h.dense for h in hits)
            held = answerer.held(query, hits)
            coverage = held if args.phrases else answerer.retriever.coverage(
                content_terms(answerer.retriever.stemmer, query), hits, shortened=answerer.shortened)
            rows.append(Row(Path(name).name, question, answerable, bool(answerer.unknown_names(question)),
                            cosine, coverage, held, coverage + args.weight * cosine,
                            answerer.refusal(plain_question(question), hits, query)))
    files = list(dict.fromkeys(r.file for r in rows))
    print("as `paperdojo ask` decides (Answerer.refusal):")
    for f in files:
        mine = [r for r in rows if r.file == f]
        halves = "; ".join(f"half {h} {decided([r for r in mine if half(r.question) == h])}" for h in "AB")
        print(f"  {f}: {decided(mine)} ({halves})")
    print(f"floor {floor}, held floor {held_floor}, threshold {threshold}, weight {args.weight}, "
          f"phrases {args.phrases}")
    for f in files:
        print(f"  {f}: {counts([r for r in rows if r.file == f], floor, threshold, held_floor)}")
    dev = [f for f in files if f.startswith("dev")]
    for on in [[f] for f in dev] + ([dev] if len(dev) > 1 else []):
        t = calibrate([r for r in rows if r.file in on])
        got = "; ".join(f"{f} {counts([r for r in rows if r.file == f], floor, t, held_floor)}"
                        for f in files)
        print(f"calibrated on {'+'.join(on)}: threshold {t:.3f} -> {got}")
    if args.list:
        for r in sorted(rows, key=lambda r: r.score):
            print(f"{r.score:.3f} cos {r.cosine:.2f} cov {r.coverage:.2f} held {r.held:.2f} "
                  f"{'A' if r.answerable else 'U'}{'n' if r.unknown else ' '}"
                  f"{'R' if r.reason else ' '}{half(r.question)} {r.file[:10]:10} {r.question[:70]}")


if __name__ == "__main__":
    main()
