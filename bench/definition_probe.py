"""Short definition questions ("What is RadixAttention?"): does the answer open with a sentence that
says what the term is, and does a top-5 passage hold one? Written before any answer was read
(lead, session 14); the 30 questions of bench/definition_probe.txt span 24 of the 27 shared papers.

    python bench/definition_probe.py --home H [--questions bench/definition_probe.txt]

Prints each question's term, the ranks (top 10) of passages with a defining sentence
(extract.defines), whether the answer's first sentence defines the term, and the two counts. The
detector is the answerer's own, so the counts show what the answerer can see, not truth: read the
first sentences too.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from paperdojo.answering.extract import candidates, defines, definition_term
from paperdojo.settings import Settings
from paperdojo.workspace import Workspace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--questions", type=Path, default=Path(__file__).with_name("definition_probe.txt"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    answerer = Workspace(Settings.load(home=args.home)).answerer()
    opens = held = 0
    questions = [q for q in args.questions.read_text(encoding="utf-8").splitlines() if q.strip()]
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


if __name__ == "__main__":
    main()
