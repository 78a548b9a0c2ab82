"""Mock interviews: the question bank, grading, progress and a scripted terminal session."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import sys
from collections import Counter

import numpy as np
import pexpect
import pytest
from helpers import PIPE_QUESTION, two_paper_home

from paperdojo.answering.answer import Answerer
from paperdojo.answering.retrieve import Retriever
from paperdojo.library import store
from paperdojo.settings import PROJECT_ROOT
from paperdojo.study.interview import (
    Grader,
    Question,
    all_questions,
    beyond_topic,
    generated_questions,
    generic_heading,
    load_bank,
    pick,
)
from paperdojo.study.progress import ProgressStore

QUESTIONS = PIPE_QUESTION + """
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
    partial = grader.grade(q, "It recomputes the activations later.")
    off = grader.grade(q, "Convolutions exchange border elements between neighbouring devices.")
    empty = grader.grade(q, "   ")
    assert good.score > partial.score > off.score >= empty.score == 0.0
    assert good.covered and good.model_answer.text and "[1]" in good.model_answer.text
    assert all(c.hit.chunk.doc_id == "pipe" for c in good.covered + good.missing)
    assert all(c.earned_by and c.sentence for c in good.covered)  # which words earned it, and where
    assert empty.reasons == ["no answer given"]
    # the concepts as a bare list earn little; the same facts reversed cost points
    listed = grader.grade(q, ", ".join(c.phrase for c in good.covered + good.missing))
    assert listed.score < good.score / 2
    assert grader.grade(q, "I don't know.").score == 0.0
    assert any("very short" in r for r in partial.reasons)


def test_generated_questions(home):
    _, grader = home
    r = grader.retriever
    made = generated_questions(r.index.manifest["docs"], r.chunks)
    assert {q.text for q in made} >= {'In Pipe, what is "Re-materialization" about, and why does it matter?',
                                      'In Shard, what is "Halo exchange" about, and why does it matter?'}
    assert not any("Introduction" in q.text or "Abstract" in q.text for q in made)


@pytest.mark.parametrize(("name", "generic"), [
    ("Background and Motivation", True), ("Challenges and Proposed Solutions", True),
    ("End-to-End Performance", True), ("Ablation Studies", True), ("CONCLUSIONS AND FUTURE WORK", True),
    ("KV Cache Manager", False), ("Memory Efficiency", False), ("Re-materialization", False),
    ("Performance of the Halo Exchange", False),
])
def test_generic_headings_make_no_question(name, generic):
    assert generic_heading(name) is generic


def test_progress_schedule_and_export(home, tmp_path):
    _, grader = home
    progress = ProgressStore(tmp_path / "p.sqlite").for_user("local")
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


def spawn(settings, *args, env: dict | None = None):
    env = {**os.environ, "PAPERDOJO_HOME": str(settings.home), "PAPERDOJO_READING_LIST":
           str(settings.reading_list), "PAPERDOJO_QUESTIONS_FILE": str(settings.questions_file),
           "COLUMNS": "200", "TERM": "dumb", **(env or {})}
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
    # an empty answer asks before anything is recorded; "n" goes back to the answer, "y" skips
    child.expect(r"Question \d of 3")
    child.expect("> ")
    child.sendline("")
    child.expect("skip this question\\? \\[y/N\\]")
    child.sendline("n")
    child.expect("> ")
    child.sendline("")
    child.expect("skip this question")
    child.sendline("y")
    child.expect("skipped: nothing recorded")
    child.expect(pexpect.EOF)
    assert scores["good"] > scores["partial"]
    rows = sqlite3.connect(settings.progress_db).execute(
        "SELECT answer, score, status FROM attempts ORDER BY id").fetchall()
    assert rows[-3:] == [(GOOD, scores["good"], "graded"), ("Something about devices.", scores["partial"],
                                                             "graded"), ("", None, "skipped")]
    assert GOOD in export.read_text()
    progress = spawn(settings, "progress", "--json")
    progress.expect(pexpect.EOF)
    mastery = json.loads(re.search(r"\{.*\}", progress.before, re.S).group(0))
    library = {q.papers[0]: q.category for q in all_questions(settings.questions_file, home[1].answerer)}
    assert set(mastery["category"]) <= set(library.values()) and set(mastery["paper"]) <= {"pipe", "shard"}


def test_closed_terminal_loses_nothing(home):
    settings, _ = home
    child = spawn(settings, "interview", "-n", "1", "--bank-only")
    child.expect(r"Mock interview: 1 question\.\s")  # one question, not "1 questions"
    child.expect("> ")
    child.sendline("First line of an answer I am still typing")
    child.expect("  ")  # the continuation prompt: the line was taken
    child.close(force=True)  # the terminal goes away mid-answer
    last = sqlite3.connect(settings.progress_db).execute(
        "SELECT answer, score FROM attempts ORDER BY id DESC LIMIT 1").fetchone()
    assert last == ("First line of an answer I am still typing", None)
    # the next session offers the draft back, shows it, and grades it with what is typed next
    child = spawn(settings, "interview", "-n", "1", "--bank-only")
    child.expect("An unfinished answer")
    child.expect("First line of an answer I am still typing")
    child.expect(r"Continue it\? \[Y/n\]")
    child.sendline("")
    child.expect("your answer so far")
    child.expect("  ")
    child.sendline("and the second line.")
    child.sendline("")
    child.expect(r"Score: ([\d.]+)/10")
    child.expect(pexpect.EOF)
    last = sqlite3.connect(settings.progress_db).execute(
        "SELECT answer, status FROM attempts ORDER BY id DESC LIMIT 1").fetchone()
    assert last == ("First line of an answer I am still typing\nand the second line.", "graded")


def test_library_categories_drive_the_interview(home):
    """Papers without a category got the nearest topic; a category set by the user is drilled."""
    settings, grader = home
    from paperdojo.library import catalog
    from paperdojo.library.topics import BUILTIN_TOPICS

    auto = {p.id: p.category for p in catalog.load_catalog(settings)}
    assert set(auto) == {"pipe", "shard"} and set(auto.values()) <= set(BUILTIN_TOPICS)
    child = spawn(settings, "papers", "--set-category", "shard", "Sharding drills")
    child.expect(pexpect.EOF)
    assert {p.id: p.category for p in catalog.load_catalog(settings)}["shard"] == "Sharding drills"
    unknown = spawn(settings, "interview", "--category", "Data layout")
    unknown.expect("no indexed paper is in 'Data layout'; the library's categories: .*Sharding drills")
    unknown.expect(pexpect.EOF)
    child = spawn(settings, "interview", "-n", "1", "--bank-only", "--category", "sharding drills")
    child.expect(r"Question 1 of 1.*\(Sharding drills")
    child.expect("halo exchange")
    child.sendeof()
    child.expect(pexpect.EOF)


def test_cli_two_users_progress_stays_apart(home, progress_backend):
    """Ada answers in the terminal as `--user ada`; Bob and the local user see none of it; an unknown
    user is refused when accounts exist (SQLite and PostgreSQL)."""
    settings, _ = home
    env = {"PAPERDOJO_DATA_DIR": str(progress_backend["data_dir"]),
           "PAPERDOJO_PROGRESS_URL": progress_backend.get("progress_url", "")}
    users = spawn(settings, "users", "add", "ada", "--password-stdin", env=env)
    users.sendline("pw-ada")
    users.expect(pexpect.EOF)
    child = spawn(settings, "interview", "-n", "1", "--bank-only", "--user", "ada", env=env)
    child.expect("> ")
    child.sendline(GOOD)
    child.sendline("")
    child.expect(r"Score: ([\d.]+)/10")
    score = float(child.match.group(1))
    child.expect(pexpect.EOF)

    def mastery(*args: str) -> tuple[dict, str]:
        run = spawn(settings, "progress", "--json", *args, env=env)
        run.expect(pexpect.EOF)
        found = re.search(r"\{.*\}", run.before, re.S)
        return (json.loads(found.group(0)) if found else {}), run.before

    ada, _ = mastery("--user", "ada")
    assert [n for _, n in ada["category"].values()] == [1]
    assert round(list(ada["category"].values())[0][0] * 10, 1) == score
    assert mastery("--user", "local")[0] == {"category": {}, "paper": {}}
    env["PAPERDOJO_USER"] = "ada"  # the environment names the user too
    assert mastery()[0] == ada
    refused, text = mastery("--user", "bob")
    assert refused == {} and "no user 'bob'; the users are: ada" in " ".join(text.split())


def test_topics_are_sets_of_examples_and_the_reading_list_needs_a_margin():
    """Issue 16: a topic scores by its nearest examples; a reading-list category wins only by
    LIST_MARGIN over the best built-in topic (ZeRO went to "Data layout" by one title's words)."""
    import numpy as np

    from paperdojo.library import catalog
    from paperdojo.library.topics import (
        BUILTIN_TOPICS,
        LIST_MARGIN,
        Topic,
        choose,
        topic_examples,
        topic_scores,
    )

    papers = [catalog.Paper(id="a", title="Zero-Memory Direct Convolutions", category="Data layout"),
              catalog.Paper(id="b", title="TVM", category="End-to-end ML compiler frameworks"),
              catalog.Paper(id="c", title="Mine", category="Data layout", origin="user")]
    found = {t.name: t for t in topic_examples(papers)}
    layout = found["Data layout"]  # the user's paper "c" adds no example
    assert layout.from_list and layout.examples == ["Data layout: Zero-Memory Direct Convolutions"]
    compilers = found["End-to-end ML compiler frameworks"]
    assert compilers.from_list and len(compilers.examples) == 1 + len(BUILTIN_TOPICS[compilers.name])
    assert not found["Distributed training"].from_list
    # scores: mean of the 2 nearest examples of each topic
    examples = np.eye(3, dtype=np.float32)
    paper = np.array([[0.6, 0.8, 0.0]], dtype=np.float32)
    assert np.allclose(topic_scores(paper, examples, [0, 0, 1], 2), [[0.7, 0.0]])
    topics = [Topic("List", ["x"], True), Topic("Built-in", ["y"], False)]
    assert choose(np.array([[0.60, 0.58]]), topics)[0][0] == "Built-in"  # within the margin
    assert choose(np.array([[0.58 + LIST_MARGIN + 0.01, 0.58]]), topics)[0][0] == "List"


def test_mastery_names_papers_by_title(home, embedder):
    """The app's mastery table names a paper by its short title (and its id when that differs), not
    by its id alone ("orca", "pagedattention": found by a newcomer)."""
    from paperdojo.app.interview import mastery_rows
    from paperdojo.workspace import Workspace

    settings, grader = home
    ws = Workspace(settings)
    ws.embedder = embedder
    progress = ws.progress("titles")
    q = next(q for q in load_bank(settings.questions_file) if q.papers == ["pipe"])
    attempt = progress.record(q, GOOD)
    progress.graded(attempt, q, GOOD, grader.grade(q, GOOD))
    ws.answerer().retriever.index.manifest["docs"]["pipe"]["title"] = "Pipelines Explained: Micro-Batches"
    rows = {r[1]: r for r in mastery_rows(ws, "titles") if r[0] == "paper"}
    assert "Pipelines Explained (pipe)" in rows and rows["Pipelines Explained (pipe)"][3] == 1


def test_no_next_question_says_why():
    from paperdojo.app.interview import no_question

    assert "no interview question yet" in no_question(0, 0, False)
    assert "pick other topics" in no_question(12, 0, True)
    done = no_question(3, 3, False)  # a small library, every question asked, no filter set
    assert "all 3 questions the library's papers give" in done and "filters" not in done
    assert "with these filters" in no_question(12, 4, True)
    one = no_question(1, 1, False)  # a one-paper library can give a single question (seen: "all 1 questions")
    assert "the only question the library's papers give" in one and "all 1" not in one


def test_the_model_answer_quotes_no_figure_or_code_pointer(tmp_path, embedder):
    """The interview's model answer goes through the answering path's prose filters: a sentence that
    points at pseudo-code, a figure or a table the reader cannot see ("The pseudo-code shows ...") is
    never quoted, and a lead-in pointer ("As shown in Figure 3, ") is cut from the claim it opens."""
    from conftest import make_settings
    from helpers import make_pdf

    from paperdojo.library.ingest import ingest

    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    lines = ["Wren recomputes the forward pass of each pipeline stage during the backward pass.",
             "The pseudo-code shows how each wren stage recomputes its forward pass.",
             "The top figure shows the recompute schedule of the wren stages.",
             "As shown in Figure 3, recomputing the forward pass halves the activation memory.",
             "Each wren stage stores only its input activations between the two passes.",
             "The tables show the activation memory of each wren stage."]
    make_pdf(pdfs / "wren.pdf", [[("h", "Abstract"), *lines]],
             header=None, title_meta="Wren: Recomputing Pipeline Stages")
    settings = make_settings(tmp_path / "home")
    settings.home.mkdir(parents=True)
    settings.reading_list.write_text("")
    ingest(settings, [pdfs], embedder=embedder)
    grader = Grader(Answerer(Retriever(store.load_index(settings.index_dir), embedder)))
    q = Question("wren", "Why does each wren stage recompute its forward pass during the backward pass?",
                 ["wren"], "Graph scheduling")
    model = grader.grade(q, "It recomputes activations to save memory.").model_answer
    assert model.text and not model.refused
    for pointer in ("pseudo-code shows", "figure shows", "tables show", "As shown in"):
        assert pointer not in model.text, model.text
    assert "Recomputing the forward pass halves the activation memory. [1]" in model.text, model.text


def test_a_number_the_question_gives_is_no_contradiction(home):
    """An answer may repeat a number the question states ("256 vs 257 tokens") even when the papers
    never print it; a number found in neither still costs (held-out graded answers, h13grade)."""
    _, grader = home
    q = Question("q37", "Why does each pipeline stage recompute its forward pass when the batch is cut "
                 "into 37 micro-batches?", ["pipe"], "Graph scheduling")
    said = "With 37 micro-batches, each stage recomputes its forward pass during the backward pass."
    invented = said.replace("37", "41")
    assert not grader.grade(q, said).contradictions
    assert grader.grade(q, invented).contradictions == [invented]


def test_dont_know_in_other_words_scores_zero(home):
    _, grader = home
    q = Question("q", "Why does each pipeline stage recompute its forward pass during the backward pass?",
                 ["pipe"], "Graph scheduling")
    for text in ["Can't recall, sorry.", "That's beyond what I know about pipelines.", "dunno",
                 "I haven't read that paper.", "No clue. Pass."]:
        grade = grader.grade(q, text)
        assert grade.score == 0.0 and "do not know" in grade.reasons[0], text


def test_closeness_beyond_the_papers_topic(home):
    """A claim is compared with the key sentences also without their common direction, the mean
    vector of the question's papers (interview.beyond_topic; h14grade): what two sentences share
    only by being about the same paper does not count there."""
    _, grader = home
    topic = np.array([1.0, 0.0, 0.0])
    a = np.array([[0.8, 0.6, 0.0]])  # the paper's topic plus one point
    b = np.array([[0.8, 0.0, 0.6]])  # the same topic plus another point
    assert float(a[0] @ b[0]) > 0.6 and float(beyond_topic(a, topic)[0] @ beyond_topic(b, topic)[0]) < 1e-6
    assert np.allclose(beyond_topic(a, None), a) and np.allclose(beyond_topic(a, topic), [[0.0, 1.0, 0.0]])
    q = Question("q", "Why does each pipeline stage recompute its forward pass during the backward pass?",
                 ["pipe"], "Graph scheduling")
    ev = grader.evidence(q)
    rows = grader.retriever.chunks.rows_of_docs({"pipe"})
    assert rows and all(grader.retriever.chunks[r].doc_id == "pipe" for r in rows)
    mean = np.asarray(grader.retriever.vectors[np.array(rows)]).mean(axis=0)
    assert ev.topic is not None and np.allclose(ev.topic, mean / np.linalg.norm(mean), atol=1e-5)
    assert ev.key_beyond is not None and np.allclose(ev.key_beyond @ ev.topic, 0.0, atol=1e-5)
