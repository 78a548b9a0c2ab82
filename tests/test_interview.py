"""Mock interviews: the question bank, grading, progress and a scripted terminal session."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import sys
from collections import Counter

import pexpect
import pytest
from helpers import two_paper_home

from paperdojo.answering.answer import Answerer
from paperdojo.answering.retrieve import Retriever
from paperdojo.library import store
from paperdojo.settings import PROJECT_ROOT
from paperdojo.study.interview import Grader, Progress, Question, generated_questions, load_bank, pick

QUESTIONS = """
[[question]]
id = "pipe-memory"
text = "Why does each pipeline stage recompute its forward pass during the backward pass?"
papers = ["pipe"]
category = "Graph scheduling"
difficulty = 1

[[question]]
id = "shard-halo"
text = "What is a halo exchange and when do sharded convolutions need it?"
papers = ["shard"]
category = "Data layout"

[[question]]
id = "pipe-stages"
text = "How does pipeline parallelism place the layers of a model on accelerators?"
papers = ["pipe"]
category = "Graph scheduling"
"""
GOOD = ("To save activation memory, each stage recomputes its forward pass during the backward pass "
        "instead of storing activations, trading extra compute for memory.")


@pytest.fixture(scope="module")
def home(tmp_path_factory, embedder):
    root = tmp_path_factory.mktemp("interview")
    (root / "questions.toml").write_text(QUESTIONS)
    settings = two_paper_home(root, embedder, questions_file=root / "questions.toml")
    grader = Grader(Answerer(Retriever(store.load_index(settings.index_dir), embedder)))
    return settings, grader


def test_our_question_bank():
    bank = load_bank(PROJECT_ROOT / "ingest" / "questions.toml")
    counts = Counter(q.category for q in bank)
    assert len(counts) == 6 and min(counts.values()) >= 3
    assert len({q.id for q in bank}) == len(bank) and all(q.papers and q.text.endswith("?") for q in bank)
    assert pick(bank, {"data layout"}, set(), None) == [q for q in bank if q.category == "Data layout"]


def test_grading_orders_answers(home):
    _, grader = home
    q = Question("q", "Why does each pipeline stage recompute its forward pass during the backward pass?",
                 ["pipe"], "Graph scheduling")
    good = grader.grade(q, GOOD)
    partial = grader.grade(q, "It recomputes things.")
    off = grader.grade(q, "Convolutions exchange border elements between neighbouring devices.")
    empty = grader.grade(q, "   ")
    assert good.score > partial.score > off.score >= empty.score == 0.0
    assert good.covered and good.model_answer.text and "[1]" in good.model_answer.text
    assert all(c.hit.chunk.doc_id == "pipe" for c in good.covered + good.missing)
    assert empty.reasons == ["no answer given"]
    assert any("very short" in r for r in partial.reasons)


def test_generated_questions(home):
    _, grader = home
    r = grader.retriever
    made = generated_questions(r.index.manifest["docs"], r.chunks)
    assert {q.text for q in made} >= {'In Pipe, what is "Re-materialization" about, and why does it matter?',
                                      'In Shard, what is "Halo exchange" about, and why does it matter?'}
    assert not any("Introduction" in q.text or "Abstract" in q.text for q in made)


def test_progress_schedule_and_export(home, tmp_path):
    _, grader = home
    progress = Progress(tmp_path / "p.sqlite")
    qs = load_bank(home[0].questions_file)
    first = progress.next_question(qs, set())
    attempt = progress.record(first, "")
    progress.update_answer(attempt, "half typed")
    assert sqlite3.connect(tmp_path / "p.sqlite").execute("SELECT answer FROM attempts").fetchone()[0] \
        == "half typed"
    progress.graded(attempt, first, "Nothing useful here.", grader.grade(first, "Nothing useful here."))
    mastery = progress.mastery()
    assert first.category in mastery["category"] and mastery["category"][first.category][1] == 1
    # a weak category comes back before a strong one among unseen questions
    nxt = progress.next_question(qs, {first.id})
    assert nxt.category == first.category
    md = progress.export_markdown()
    assert first.text in md and "Nothing useful here." in md and "/10" in md


def spawn(settings, *args):
    env = {**os.environ, "PAPERDOJO_HOME": str(settings.home), "PAPERDOJO_READING_LIST":
           str(settings.reading_list), "PAPERDOJO_QUESTIONS_FILE": str(settings.questions_file),
           "COLUMNS": "200", "TERM": "dumb"}
    return pexpect.spawn(sys.executable, ["-m", "paperdojo.cli", *args], env=env, encoding="utf-8",
                         timeout=120, dimensions=(50, 200))


def answer(child, text: str) -> float:
    child.expect(r"Question \d of 3")
    child.expect("> ")
    for line in filter(None, [text]):
        child.sendline(line)
    child.sendline("")
    child.expect(r"Score: ([\d.]+)/10")
    return float(child.match.group(1))


def test_terminal_interview_session(home, tmp_path):
    settings, _ = home
    export = tmp_path / "session.md"
    child = spawn(settings, "interview", "-n", "3", "--bank-only", "--export", str(export))
    scores = {}
    scores["good"] = answer(child, GOOD)
    child.expect("Model answer")
    scores["partial"] = answer(child, "Something about devices.")
    scores["empty"] = answer(child, "")
    child.expect("Missed:")
    child.expect(pexpect.EOF)
    assert scores["good"] > scores["partial"] > scores["empty"] == 0.0
    rows = sqlite3.connect(settings.progress_db).execute(
        "SELECT answer, score, missing FROM attempts ORDER BY id").fetchall()
    assert [r[0] for r in rows[-3:]] == [GOOD, "Something about devices.", ""]
    assert [r[1] for r in rows[-3:]] == [scores["good"], scores["partial"], 0.0]
    assert json.loads(rows[-1][2])  # the empty answer missed every concept
    assert GOOD in export.read_text()
    progress = spawn(settings, "progress", "--json")
    progress.expect(pexpect.EOF)
    mastery = json.loads(re.search(r"\{.*\}", progress.before, re.S).group(0))
    assert set(mastery["category"]) == {"Graph scheduling", "Data layout"}


def test_closed_terminal_loses_nothing(home):
    settings, _ = home
    child = spawn(settings, "interview", "-n", "1", "--bank-only")
    child.expect("> ")
    child.sendline("First line of an answer I am still typing")
    child.expect("  ")  # the continuation prompt: the line was taken
    child.close(force=True)  # the terminal goes away mid-answer
    last = sqlite3.connect(settings.progress_db).execute(
        "SELECT answer, score FROM attempts ORDER BY id DESC LIMIT 1").fetchone()
    assert last == ("First line of an answer I am still typing", None)
