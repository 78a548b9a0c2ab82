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
    reason: str = ""  # `Answerer.refusal` with the grasp floor off ("" = answered)
    grasp: float = 0.0  # `Answerer.grasp`: refused below the grasp floor when `reason` is ""
    unheld: str = ""  # the specific words no top passage holds (`Answerer.unheld`)


def half(question: str) -> str:
    """The fixed half of a probe question: "A" when crc32 of its text is even, else "B"
    (refusal_probe2.jsonl: tuned on A, B kept as the untouched check)."""
    return "A" if zlib.crc32(question.encode("utf-8")) % 2 == 0 else "B"


def decided(rows: list[Row], grasp_floor: float = 0.0) -> str:
    """Refused unanswerables and false refusals of `rows` by `Answerer.refusal` itself (its last
    rule, the grasp floor, applied at `grasp_floor`)."""
    u = [r for r in rows if not r.answerable]
    a = [r for r in rows if r.answerable]
    return (f"refused {sum(1 for r in u if refused(r, grasp_floor))}/{len(u)}, "
            f"false {sum(1 for r in a if refused(r, grasp_floor))}/{len(a)}")


def refused(row: Row, grasp_floor: float) -> bool:
    """Whether `Answerer.refusal` refuses the row with its grasp floor at `grasp_floor`."""
    return bool(row.reason) or row.grasp < grasp_floor


TIE = 0.005  # grasp values closer than this are not told apart by the floor (`calibrate_grasp`)


def calibrate_grasp(rows: list[Row]) -> float:
    """The grasp floor that refuses the most unanswerables among `rows` not refused otherwise with no
    answerable among them refused: the midpoint between the lowest answerable's grasp and the highest
    unanswerable's below it, an unanswerable within `TIE` of the answerable (or of one such) counted
    with it; 0 when none is below. Not `calibrate`'s refused - false: a floor that buys two refusals
    with one false refusal is not wanted (h14refuse, docs/measurements.md)."""
    open_ = [r for r in rows if not r.reason]
    top = min((r.grasp for r in open_ if r.answerable), default=float("inf"))
    below = sorted((r.grasp for r in open_ if not r.answerable and r.grasp < top), reverse=True)
    while below and top - below[0] < TIE:
        top = below.pop(0)
    return (below[0] + top) / 2 if below else 0.0


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
    ap.add_argument("--grasp-floor", type=float, default=None,
                    help="refuse below this `Answerer.grasp` (default: the settings' min_grasp)")
    ap.add_argument("--floors", default="", help="comma-separated grasp floors: each file's figures at each")
    ap.add_argument("--choose", nargs="*", default=None,
                    help="files (whole) the grasp floor is calibrated on, with refusal_probe2's half A")
    args = ap.parse_args()

    from paperdojo.answering.answer import plain_question
    from paperdojo.answering.retrieve import content_terms
    from paperdojo.settings import Settings
    from paperdojo.workspace import Workspace

    settings = Settings(home=Path(args.home))
    answerer = Workspace(settings).answerer()
    grasp_floor = settings.min_grasp if args.grasp_floor is None else args.grasp_floor
    from paperdojo.answering.answer import Grasp
    answerer.grasping = Grasp(settings.unheld_zipf, settings.unheld_weight, 0.0)  # the floor applied here
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
            grasp, words = answerer.grasp(query, hits)
            if answerer.names_a_paper(plain_question(question)):
                grasp = float("inf")  # `refusal` does not apply the grasp floor to a named paper's question
            rows.append(Row(Path(name).name, question, answerable, bool(answerer.unknown_names(question)),
                            cosine, coverage, held, coverage + args.weight * cosine,
                            answerer.refusal(plain_question(question), hits, query), grasp,
                            " ".join(words[:3])))
    files = list(dict.fromkeys(r.file for r in rows))
    if args.choose is not None:
        chosen = [r for r in rows if r.file in {Path(c).name for c in args.choose}
                  or (r.file == "refusal_probe2.jsonl" and half(r.question) == "A")]
        grasp_floor = calibrate_grasp(chosen)
        print(f"grasp floor calibrated on {' + '.join(args.choose)} + refusal_probe2 half A: "
              f"{grasp_floor:.3f}")
    for floor_now, label in ((0.0, "without the grasp floor"),
                             (grasp_floor, f"grasp floor {grasp_floor:.3f}")):
        print(f"as `paperdojo ask` decides (Answerer.refusal), {label}:")
        for f in files:
            mine = [r for r in rows if r.file == f]
            halves = "; ".join(f"half {h} {decided([r for r in mine if half(r.question) == h], floor_now)}"
                               for h in "AB")
            print(f"  {f}: {decided(mine, floor_now)} ({halves})")
    for value in [float(v) for v in args.floors.split(",") if v]:
        print(f"grasp floor {value:.3f}: " + "; ".join(
            f"{f} {decided([r for r in rows if r.file == f], value)}" for f in files))
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
            print(f"{r.score:.3f} grasp {r.grasp:.3f} cos {r.cosine:.2f} cov {r.coverage:.2f} "
                  f"held {r.held:.2f} unheld '{r.unheld}' "
                  f"{'A' if r.answerable else 'U'}{'n' if r.unknown else ' '}"
                  f"{'R' if r.reason else ' '}{half(r.question)} {r.file[:10]:10} {r.question[:70]}")


if __name__ == "__main__":
    main()
