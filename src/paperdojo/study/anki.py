"""Interview questions as an Anki deck (.apkg, written by genanki): the question on the front, the
cited model answer with paper, section and page on the back, tags by category and paper.

Note GUIDs come from the question id (not from the fields), and the note type and deck ids are
fixed, so importing a re-exported deck updates the cards already in Anki instead of adding copies.
`weak_questions` keeps the questions the user's progress says need work.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import genanki

from paperdojo.answering.answer import Answer, Answerer
from paperdojo.answering.retrieve import Filters
from paperdojo.study.interview import Question
from paperdojo.study.progress import Progress

# Fixed once (random 31-bit numbers): Anki knows our note type and deck by these ids. Never change them,
# or every user's next import makes a second note type and deck.
MODEL_ID = 1_709_284_117
DECK_ID = 1_385_902_646
DECK_NAME = "paperdojo interview questions"
FIELDS = ["Question", "Answer", "Sources", "Paper", "Category", "QuestionId"]
CSS = """.card { font-family: sans-serif; font-size: 18px; text-align: left; max-width: 46em; margin: auto; }
.sources { font-size: 14px; color: #555; } .cite { color: #06c; font-weight: bold; }"""
MODEL = genanki.Model(
    MODEL_ID, "paperdojo question (cited answer)",
    fields=[{"name": f} for f in FIELDS],
    templates=[{"name": "Question -> cited answer",
                "qfmt": "{{Question}}<br><small>{{Category}} &middot; {{Paper}}</small>",
                "afmt": "{{FrontSide}}<hr id=answer>{{Answer}}<div class=sources>{{Sources}}</div>"}],
    css=CSS)
OnProgress = Callable[[int, int, str], None]  # done, total, question id


@dataclass
class AnkiCard:
    """One note of the deck: the question, its fields (HTML) and tags."""
    question: Question
    fields: list[str]  # in FIELDS order, HTML (paper text escaped)
    tags: list[str] = field(default_factory=list)

    @property
    def guid(self) -> str:
        """The note's stable id, from the question id: importing the deck again updates it."""
        return note_guid(self.question.id)


def note_guid(question_id: str) -> str:
    """The note's GUID: a function of the question id only, so edits to the answer update the card."""
    return genanki.guid_for("paperdojo", question_id)


def tag(prefix: str, name: str) -> str:
    """An Anki tag (no spaces allowed): `category::Graph_scheduling`, `paper::gpipe`."""
    return f"{prefix}::{re.sub(r'[^0-9A-Za-z_.:-]+', '_', name).strip('_') or 'none'}"


def answer_html(answer: Answer) -> tuple[str, str]:
    """(answer, sources) as HTML: the text escaped with [n] highlighted, then each cited passage's paper,
    section and page (with its link when it is on the web)."""
    text = re.sub(r"\[(\d+)\]", r"<span class=cite>[\1]</span>", html.escape(answer.text))
    items = []
    for s in answer.cited:
        c = s.chunk
        pages = f"p. {c.page_start}" + (f"-{c.page_end}" if c.page_end != c.page_start else "")
        where = f"[{s.n}] <b>{html.escape(c.title)}</b>, {html.escape(c.section)}, {pages}"
        if s.url.startswith(("http://", "https://")):
            where += f' (<a href="{html.escape(s.url, quote=True)}">open</a>)'
        items.append(f"<li>{where}</li>")
    return text, f"<ul>{''.join(items)}</ul>" if items else ""


def build_cards(questions: list[Question], answerer: Answerer, progress: OnProgress | None = None
                ) -> tuple[list[AnkiCard], list[str]]:
    """One card per question the papers answer; returns (cards, ids of questions left out and why)."""
    indexed = set(answerer.retriever.index.doc_ids)
    cards, skipped = [], []
    for i, q in enumerate(questions, 1):
        papers = {p for p in q.papers if p in indexed}
        answer = answerer.answer(q.text, Filters(papers) if papers else None)
        if progress:
            progress(i, len(questions), q.id)
        if answer.refused or not answer.cited:
            skipped.append(f"{q.id}: {answer.reason or 'no cited answer'}")
            continue
        text, sources = answer_html(answer)
        shown = ", ".join(q.papers)
        cards.append(AnkiCard(q, [html.escape(q.text), text, sources, html.escape(shown),
                                  html.escape(q.category), html.escape(q.id)],
                              ["paperdojo", tag("category", q.category or "none")]
                              + [tag("paper", p) for p in q.papers]))
    return cards, skipped


def weak_questions(questions: list[Question], progress: Progress, below: float = 0.6) -> list[Question]:
    """The questions to drill: scored below `below` x 10 last time, or (not yet answered) in a category or
    on a paper whose mastery is below `below`. Without any graded answer, none is weak."""
    latest = progress.latest_scores()
    mastery = progress.mastery()
    weak_cats = {c for c, (level, _) in mastery["category"].items() if level < below}
    weak_papers = {p for p, (level, _) in mastery["paper"].items() if level < below}
    out = []
    for q in questions:
        if q.id in latest:
            if latest[q.id] < 10 * below:
                out.append(q)
        elif q.category in weak_cats or weak_papers & set(q.papers):
            out.append(q)
    return out


def write_apkg(cards: list[AnkiCard], path: Path, deck_name: str = DECK_NAME) -> Path:
    """Write the deck to `path` (.apkg); OSError when the folder cannot be written."""
    if path.suffix.lower() != ".apkg":
        raise ValueError(f"{path}: an Anki deck file ends in .apkg")
    deck = genanki.Deck(DECK_ID, deck_name, description="Interview questions answered from your papers, "
                                                        "with citations (paperdojo).")
    for card in cards:
        deck.add_note(genanki.Note(model=MODEL, fields=card.fields, tags=card.tags, guid=card.guid))
    path.parent.mkdir(parents=True, exist_ok=True)
    genanki.Package(deck).write_to_file(str(path))
    return path
