"""Anki deck and citation exports: the .apkg opened as what it is (a zip holding Anki's SQLite
collection), note GUIDs stable across exports, weak-topic selection, and BibTeX / CSL-JSON that
parse back with bibtexparser / json."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from pathlib import Path

import bibtexparser
import pytest
from bibtexparser.middlewares import LatexDecodingMiddleware
from helpers import two_paper_home

from paperdojo.cli import main
from paperdojo.library import bibliography
from paperdojo.study import anki
from paperdojo.study.interview import Grade, all_questions
from paperdojo.study.progress import Progress, ProgressStore
from paperdojo.workspace import Workspace

QUESTIONS = '''
[[question]]
id = "q-bubble"
text = "How do micro-batches flow through the pipeline stages?"
papers = ["pipe"]
category = "Graph scheduling"

[[question]]
id = "q-remat"
text = "How does each stage save activation memory during the backward pass?"
papers = ["pipe"]
category = "Memory"

[[question]]
id = "q-halo"
text = "Why do convolutions with spatial partitioning need a halo exchange?"
papers = ["shard"]
category = "Sharding compilers"
'''


@pytest.fixture(scope="module")
def home(tmp_path_factory, embedder):  # noqa: ANN201
    root = tmp_path_factory.mktemp("exports")
    (root / "questions.toml").write_text(QUESTIONS)
    reading = '[[paper]]\nid = "gpipe-arxiv"\ntitle = "GPipe"\ncategory = "Graph scheduling"\n' \
              'link = "https://arxiv.org/abs/1811.06965v5"\n'
    settings = two_paper_home(root / "home", embedder, reading_list=reading,
                              questions_file=root / "questions.toml")
    return settings


def _notes(apkg: Path) -> dict[str, tuple[int, list[str], set[str]]]:
    """guid -> (note type id, fields, tags), read from the collection inside the .apkg."""
    with zipfile.ZipFile(apkg) as z:
        assert "collection.anki2" in z.namelist()
        db_path = apkg.with_suffix(".anki2")
        db_path.write_bytes(z.read("collection.anki2"))
    db = sqlite3.connect(db_path)
    rows = db.execute("SELECT guid, mid, flds, tags FROM notes").fetchall()
    decks = db.execute("SELECT decks FROM col").fetchone()[0]
    db.close()
    assert str(anki.DECK_ID) in json.loads(decks)
    return {guid: (mid, flds.split("\x1f"), set(tags.split())) for guid, mid, flds, tags in rows}


def test_anki_deck_fields_tags_and_stable_ids(home, embedder, tmp_path: Path) -> None:
    ws = Workspace(home)
    ws.embedder = embedder
    answerer = ws.answerer()
    questions = all_questions(home.questions_file, answerer, generated=False)
    cards, skipped = anki.build_cards(questions, answerer)
    assert len(cards) == 3 and not skipped
    first = _notes(anki.write_apkg(cards, tmp_path / "one.apkg"))
    assert set(first) == {anki.note_guid(q) for q in ("q-bubble", "q-remat", "q-halo")}
    mid, fields, tags = first[anki.note_guid("q-remat")]
    assert mid == anki.MODEL_ID and len(fields) == len(anki.FIELDS)
    question, answer, sources, paper, category, qid = fields
    assert question.startswith("How does each stage save activation memory") and qid == "q-remat"
    assert "[1]" in answer and "recomputes" in answer  # the cited model answer, from the paper
    assert "Pipe" in sources and "p. 1" in sources and "Re-materialization" in sources
    by_id = {q.id: q for q in questions}  # categories as the interview assigns them (library topics)
    assert tags == {"paperdojo", anki.tag("category", by_id["q-remat"].category), "paper::pipe"}
    assert category == by_id["q-remat"].category and " " not in anki.tag("category", category)
    assert first[anki.note_guid("q-halo")][2] == {"paperdojo", anki.tag("category", by_id["q-halo"].category),
                                                   "paper::shard"}

    # a second export (answers drawn on fewer passages, so some text changes): same notes, same ids
    answerer.k = 1
    again, _ = anki.build_cards(questions, answerer)
    second = _notes(anki.write_apkg(again, tmp_path / "two.apkg"))
    assert set(second) == set(first)
    assert all(second[g][0] == first[g][0] for g in first)


def test_anki_weak_topics_only(home, tmp_path: Path) -> None:
    progress = ProgressStore(tmp_path / "progress.sqlite").for_user("local")
    questions = [q for q in all_questions(home.questions_file, Workspace(home).answerer(), generated=False)]
    assert anki.weak_questions(questions, progress) == []  # nothing graded yet: nothing is weak
    by_id = {q.id: q for q in questions}
    for qid, score in [("q-bubble", 3.0), ("q-halo", 9.0)]:
        attempt = progress.record(by_id[qid], "my answer")
        progress.graded(attempt, by_id[qid], "my answer", Grade(score, [], [], 0.0, [], None))
    weak = [q.id for q in anki.weak_questions(questions, progress)]
    # q-bubble scored 3/10; q-remat is unanswered but on the paper q-bubble showed weak (pipe, 30%);
    # q-halo scored 9/10
    assert weak == ["q-bubble", "q-remat"]


def _cli_env(home, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("PAPERDOJO_READING_LIST", str(home.reading_list))
    monkeypatch.setenv("PAPERDOJO_QUESTIONS_FILE", str(home.questions_file))


def test_export_anki_cli_weak_without_progress_says_so(home, tmp_path: Path, monkeypatch) -> None:
    _cli_env(home, monkeypatch)
    code = main(["--home", str(home.home), "export", "anki", str(tmp_path / "w.apkg"), "--weak"])
    assert code == 1 and not (tmp_path / "w.apkg").exists()


def test_bibtex_round_trip_and_arxiv_eprint(home, tmp_path: Path) -> None:
    bibliography.save_metadata(home, "shard", {
        "authors": ["Müller, Jörg", "Lovelace, Ada"], "year": "2021", "venue": "Proc. of Systems & Compilers",
        "doi": "10.1145/1234.5678", "kind": "inproceedings"})
    records = Workspace(home).citation_records()
    assert [r.id for r in records] == ["gpipe-arxiv", "pipe", "shard"]
    text = bibliography.to_bibtex(records)
    parsed = bibtexparser.parse_string(text, append_middleware=[LatexDecodingMiddleware()])
    assert not parsed.failed_blocks
    entries = {e.key: e for e in parsed.entries}
    assert set(entries) == {"gpipe-arxiv", "pipe", "shard"}
    gpipe = entries["gpipe-arxiv"].fields_dict
    assert gpipe["eprint"].value == "1811.06965" and gpipe["archivePrefix"].value == "arXiv"
    assert gpipe["year"].value == "2018"  # from the arXiv id
    shard = entries["shard"]
    assert shard.entry_type == "inproceedings"
    assert shard.fields_dict["author"].value == "Müller, Jörg and Lovelace, Ada"
    assert shard.fields_dict["booktitle"].value == "Proc. of Systems & Compilers"
    assert shard.fields_dict["doi"].value == "10.1145/1234.5678"
    assert "\\&" in text  # LaTeX-encoded on the way out
    assert entries["pipe"].fields_dict["title"].value.startswith("Pipe")

    items = {i["id"]: i for i in json.loads(bibliography.to_csl_json(records))}
    assert items["gpipe-arxiv"]["number"] == "1811.06965" and items["gpipe-arxiv"]["publisher"] == "arXiv"
    assert items["shard"]["author"][0] == {"family": "Müller", "given": "Jörg"}
    assert items["shard"]["issued"] == {"date-parts": [[2021]]}
    assert items["shard"]["type"] == "paper-conference"


def test_export_bibtex_of_the_papers_an_answer_cites(home, tmp_path: Path, monkeypatch) -> None:
    _cli_env(home, monkeypatch)
    out = tmp_path / "cited.bib"
    question = "Why do convolutions with spatial partitioning need a halo exchange?"
    assert main(["--home", str(home.home), "export", "bibtex", "-o", str(out), "--cited", question]) == 0
    keys = [e.key for e in bibtexparser.parse_string(out.read_text()).entries]
    cited = list(dict.fromkeys(s.chunk.doc_id for s in Workspace(home).ask(question).cited))
    assert keys == cited and keys[0] == "shard" and "gpipe-arxiv" not in keys
    assert main(["--home", str(home.home), "export", "csl-json", "--paper", "nope"]) == 2


def test_doctor_reports_the_integrations(home, tmp_path: Path) -> None:
    from paperdojo import doctor

    mcp, anki_check, zot = doctor.check_mcp(), doctor.check_anki(home), doctor.check_zotero()
    assert mcp.ok is True and "mcp 2." in mcp.detail and "answered" in mcp.detail
    assert anki_check.ok is True and "read back" in anki_check.detail
    assert "graded answers (none yet" in anki_check.detail  # this home has no progress
    assert zot.ok in (True, None) and "pyzotero" in zot.detail
    progress = Progress.open(home)
    q = all_questions(home.questions_file, Workspace(home).answerer(), generated=False)[0]
    progress.graded(progress.record(q, "x"), q, "x", Grade(5.0, [], [], 0.0, [], None))
    assert "your 1 graded answers" in doctor.check_anki(home).detail
    found = doctor.check_progress(home)
    assert found.ok is True and "sqlite at" in found.detail and "progress of 1 users" in found.detail
