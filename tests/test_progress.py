"""Each user's progress is their own, in SQLite and in a real PostgreSQL server (tests/postgres.py):
attempts, drafts, the review schedule, mastery; concurrent writers from two processes; a progress
database from before accounts keeps working (its rows belong to the local user)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest
from conftest import make_settings

from paperdojo.study.accounts import LOCAL_USER, AccountError
from paperdojo.study.interview import Grade, Question
from paperdojo.study.progress import Progress, ProgressError, ProgressStore

Q1 = Question("q-pipe", "Why does each stage recompute its forward pass?", ["pipe"], "Graph scheduling")
Q2 = Question("q-halo", "What is a halo exchange?", ["shard"], "Data layout")


def grade(score: float) -> Grade:
    return Grade(score, [], [], 0.0, [], None)  # type: ignore[arg-type] - no model answer needed here


def answered(progress: Progress, q: Question, text: str, score: float) -> int:
    attempt = progress.record(q, "")
    progress.update_answer(attempt, text)
    progress.graded(attempt, q, text, grade(score))
    return attempt


def test_each_user_sees_only_their_own_progress(tmp_path, progress_backend):
    settings = make_settings(tmp_path / "home", **progress_backend)
    store = ProgressStore.from_settings(settings)
    assert store.kind == ("postgresql" if "progress_url" in progress_backend else "sqlite")
    ada, bob = store.for_user("ada"), store.for_user("bob")
    answered(ada, Q1, "Ada recomputes activations to save memory.", 9.0)
    answered(bob, Q1, "Bob does not know much.", 2.0)
    bob_draft = bob.record(Q2, "")
    bob.update_answer(bob_draft, "Bob's half-typed answer")

    assert ada.latest_scores() == {"q-pipe": 9.0} and bob.latest_scores() == {"q-pipe": 2.0}
    assert ada.mastery()["category"] == {"Graph scheduling": (0.9, 1)}
    assert bob.mastery()["category"] == {"Graph scheduling": (0.2, 1)}
    assert ada.drafts() == [] and [(a, q.id, t) for a, q, t in bob.drafts()] == \
        [(bob_draft, "q-halo", "Bob's half-typed answer")]
    assert "Ada recomputes" in ada.export_markdown() and "Bob" not in ada.export_markdown()
    assert ada.graded_count() == 1 and store.for_user("carol").graded_count() == 0
    # the schedule is per user: Q1 is reviewed for both, but only Ada has it scheduled far ahead
    assert ada.next_question([Q1, Q2], set()) == Q2  # unseen before a question not yet due
    carol = store.for_user("carol")
    assert carol.next_question([Q1, Q2], set()) is not None and carol.mastery()["category"] == {}
    # an attempt of another user is never changed, and says so
    with pytest.raises(ProgressError, match="no attempt"):
        ada.update_answer(bob_draft, "Ada overwrites Bob")
    with pytest.raises(ProgressError):
        ada.graded(bob_draft, Q2, "x", grade(10.0))
    assert bob.drafts()[0][2] == "Bob's half-typed answer" and ada.latest_scores() == {"q-pipe": 9.0}
    assert sorted(store.users()) == ["ada", "bob"]
    # the same rows from a second store (another process would open its own)
    again = ProgressStore.from_settings(settings)
    assert again.for_user("bob").latest_scores() == {"q-pipe": 2.0}
    again.close()
    store.close()


def test_preferences_are_per_user_and_survive_a_new_store(tmp_path, progress_backend):
    """A kept choice (the interview's categories) comes back from another store on the same database
    (a reloaded page, another process), overwritten in place, and is never another user's."""
    settings = make_settings(tmp_path / "home", **progress_backend)
    store = ProgressStore.from_settings(settings)
    ada, bob = store.for_user("ada"), store.for_user("bob")
    assert ada.preference("interview_categories", []) == []
    ada.set_preference("interview_categories", ["Graph scheduling"])
    ada.set_preference("interview_categories", ["Graph scheduling", "Data layout"])
    bob.set_preference("interview_categories", ["Data layout"])
    again = ProgressStore.from_settings(settings)
    assert again.for_user("ada").preference("interview_categories") == ["Graph scheduling", "Data layout"]
    assert again.for_user("bob").preference("interview_categories") == ["Data layout"]
    assert again.for_user("carol").preference("interview_categories") is None
    again.close()
    store.close()


def test_invalid_user_and_unreachable_store(tmp_path, progress_backend):
    settings = make_settings(tmp_path / "home", **progress_backend)
    store = ProgressStore.from_settings(settings)
    with pytest.raises(AccountError, match="not a valid user name"):
        store.for_user("Robert'); DROP TABLE attempts;--")
    store.close()
    with pytest.raises(ProgressError, match="only postgresql"):
        ProgressStore(url="mysql://x@localhost/db")
    with pytest.raises(ProgressError, match="cannot reach the progress database") as err:
        ProgressStore(url=f"postgresql://someone:secret@/nothing?host={tmp_path}")
    assert "secret" not in str(err.value)


WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from paperdojo.study.interview import Grade, Question
    from paperdojo.study.progress import ProgressStore

    target, start, n, me = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    store = ProgressStore(url=target) if target.startswith("postgresql") else ProgressStore(Path(target))
    shared = Question("shared", "The same question", ["pipe"], "Graph scheduling")
    own = Question("own-" + me, "A question of one writer", ["pipe"], "Graph scheduling")
    progress = store.for_user("ada")
    time.sleep(max(0.0, start - time.time()))
    for i in range(n):
        for q in (shared, own):
            attempt = progress.record(q, "")
            progress.update_answer(attempt, f"{me} {i}")
            progress.graded(attempt, q, f"{me} {i}", Grade(float(i % 10), [], [], 0.0, [], None))
    print("done", me)
""")


def test_two_processes_write_at_once(tmp_path, progress_backend):
    """Two processes grade answers of one user at the same moment (the same question's card too):
    nothing is lost, nothing fails on a lock."""
    settings = make_settings(tmp_path / "home", **progress_backend)
    store = ProgressStore.from_settings(settings)  # the schema, created once
    target = settings.progress_url or str(settings.progress_db)
    start, n = time.time() + 8, 25
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, target, str(start), str(n), me],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for me in ("one", "two")]
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0 and out.startswith("done"), err[-3000:]
    rows = store.rows("SELECT question_id, count(*), count(score) FROM attempts WHERE user_name = 'ada' "
                      "GROUP BY question_id ORDER BY question_id")
    assert [tuple(r) for r in rows] == [("own-one", n, n), ("own-two", n, n), ("shared", 2 * n, 2 * n)]
    cards = store.rows("SELECT question_id, card FROM cards WHERE user_name = 'ada' ORDER BY question_id")
    assert [c[0] for c in cards] == ["own-one", "own-two", "shared"] and all(json.loads(c[1]) for c in cards)
    store.close()


OLD_SCHEMA = """
CREATE TABLE attempts (
    id INTEGER PRIMARY KEY, session TEXT, question_id TEXT, question TEXT, category TEXT,
    papers TEXT, answer TEXT, score REAL, covered TEXT, missing TEXT, created TEXT);
CREATE TABLE cards (question_id TEXT PRIMARY KEY, card TEXT, due TEXT);
"""


def test_a_progress_database_from_before_accounts_keeps_working(tmp_path):
    """The single-user file of earlier versions (no user, cards keyed by question, even no status):
    its attempts, drafts and schedule become the local user's; a new user starts empty."""
    from fsrs import Card

    path = tmp_path / "userdata" / "progress.sqlite"
    path.parent.mkdir()
    db = sqlite3.connect(path)
    db.executescript(OLD_SCHEMA)
    db.execute("INSERT INTO attempts (session, question_id, question, category, papers, answer, score, "
               "created) VALUES ('s', 'q-pipe', ?, 'Graph scheduling', '[\"pipe\"]', 'old answer', 7.5, "
               "'2026-01-01T00:00:00+00:00')", (Q1.text,))
    db.execute("INSERT INTO attempts (session, question_id, question, category, papers, answer, created) "
               "VALUES ('s', 'q-halo', ?, 'Data layout', '[\"shard\"]', 'an old draft', "
               "'2026-01-02T00:00:00+00:00')", (Q2.text,))
    card = Card()
    db.execute("INSERT INTO cards VALUES ('q-pipe', ?, ?)", (card.to_json(), "2999-01-01T00:00:00+00:00"))
    db.commit()
    db.close()

    settings = make_settings(tmp_path / "home", data_dir=tmp_path / "userdata")
    local = Progress.open(settings)  # settings.user defaults to the local user
    assert local.user == LOCAL_USER
    assert local.latest_scores() == {"q-pipe": 7.5}
    assert [(q.id, text) for _, q, text in local.drafts()] == [("q-halo", "an old draft")]
    assert local.next_question([Q1, Q2], set()) == Q2  # q-pipe is scheduled in 2999: its card survived
    answered(local, Q1, "a new answer", 9.0)  # the migrated card is reviewed again, in place
    assert local.latest_scores() == {"q-pipe": 9.0}
    assert Progress.open(settings, "ada").latest_scores() == {}
    columns = {r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(cards)")}
    assert "user_name" in columns
