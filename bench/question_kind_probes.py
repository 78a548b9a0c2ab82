"""Two kinds of short question, each a probe written before any answer was read (lead, session 14).

Definitions (bench/definition_probe.txt, 30 questions over 24 of the 27 shared papers, "What is
RadixAttention?"): does the answer open with a sentence that says what the term is, and does a top-5
passage hold one? Prints each question's term, the ranks (top 10) of passages with a defining sentence
(extract.defines), whether the answer's first sentence defines the term, and the two counts. The
detector is the answerer's own, so the counts show what the answerer can see, not truth: read the
first sentences too.

Limitations (bench/limitation_probe.txt, 16 questions, "What are the drawbacks of TASO?"): is it
refused, which section does the top passage come from, and how does the answer open?

    python bench/question_kind_probes.py --home H [--kind definition|limitation]
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from paperdojo.answering.answer import Answerer
from paperdojo.answering.extract import candidates, defines, definition_term
from paperdojo.settings import Settings
from paperdojo.workspace import Workspace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--kind", choices=["definition", "limitation"], default="definition")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    answerer = Workspace(Settings.load(home=args.home)).answerer()
    if args.kind == "limitation":
        limitations(answerer)
        return
    opens = held = 0
    questions = _questions("definition_probe.txt")
    for question in questions:
        term = definition_term(question)
        ranks = [r for r, hit in enumerate(answerer.passages(question, 10), 1)
                 if term and any(defines(c.text, term) for c in candidates([hit.chunk.text]))]
        first = answerer.answer(question).text.split(" [")[0]
        ok = bool(term) and defines(first, term)
        opens += ok
        held += bool(ranks and ranks[0] <= 5)
        print(f"{question[:50]:50s} term={term!r:34s} defining ranks={ranks[:3]} opens={ok} | {first[:120]}")
    print(f"answers opening with a defining sentence: {opens}/{len(questions)}; "
          f"a top-5 passage with one: {held}/{len(questions)}")


def _questions(name: str) -> list[str]:
    return [q for q in Path(__file__).with_name(name).read_text(encoding="utf-8").splitlines() if q.strip()]


def limitations(answerer: Answerer) -> None:
    """Each limitation question's refusal, top passage and the answer's opening; the refusal count."""
    questions = _questions("limitation_probe.txt")
    refused = 0
    for question in questions:
        answer = answerer.answer(question)
        refused += answer.refused
        top = answer.sources[0].chunk if answer.sources else None
        where = f"{top.doc_id} / {top.section[:40]}" if top else "-"
        print(f"{question[:55]:55s} refused={answer.refused} top={where} | {answer.text[:110]}")
    print(f"refused: {refused}/{len(questions)} (every question is about an indexed paper)")


if __name__ == "__main__":
    main()
