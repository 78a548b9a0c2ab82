"""The settings file: `--home`'s paperdojo.toml is the one read, and a bad file or value is one line
that names it (found by h12break: `--home H` read $PAPERDOJO_HOME's file or none, an unknown key was
ignored without a word, a TOML error did not say which file)."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from paperdojo.cli import main
from paperdojo.settings import Settings, config_file

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def homes(tmp_path, monkeypatch):
    """Two homes: `given` (passed as --home) and `env` ($PAPERDOJO_HOME), each with its own file."""
    given, env = tmp_path / "given", tmp_path / "env"
    for home, k in ((given, 7), (env, 9)):
        home.mkdir()
        (home / "paperdojo.toml").write_text(f"merge_chunks = {k}\n")
    monkeypatch.setenv("PAPERDOJO_HOME", str(env))
    monkeypatch.delenv("PAPERDOJO_CONFIG", raising=False)
    monkeypatch.delenv("PAPERDOJO_MERGE_CHUNKS", raising=False)
    return given, env


@pytest.mark.parametrize(("content", "said"), [
    ('llm_provider = "openai\n', "is not valid TOML"),
    ('chunk_tokens = "many"\n', "chunk_tokens = 'many'"),
    ('llm_provider = "gpt9"\n', "llm_provider = 'gpt9'"),
])
def test_a_bad_file_or_value_is_named(homes, content, said):
    given, _ = homes
    (given / "paperdojo.toml").write_text(content)
    with pytest.raises(ValueError, match=said) as caught:
        Settings.load(home=given)
    assert str(given / "paperdojo.toml") in str(caught.value)
    assert "errors.pydantic.dev" not in str(caught.value)
    assert main(["--home", str(given), "papers"]) == 2


@pytest.mark.parametrize("command", [["papers"], ["ask", "How does GPipe keep memory low?"], ["search", "x"]])
def test_a_home_that_is_a_file_is_said_to_be_one(tmp_path, monkeypatch, capsys, command):
    """`--home notes.txt` (a file): the error says the home is a file, not an errno about a
    paperdojo.toml inside it."""
    monkeypatch.delenv("PAPERDOJO_CONFIG", raising=False)
    home = tmp_path / "notes.txt"
    home.write_text("my notes")
    assert main(["--home", str(home), *command]) == 2
    said = " ".join(capsys.readouterr().err.split())
    assert f"the home {home} is a file, not a folder" in said and "Errno" not in said


def test_an_unknown_key_is_warned_about(homes, caplog):
    given, _ = homes
    (given / "paperdojo.toml").write_text("merge_chunk = 3\nmerge_chunks = 4\n")
    with caplog.at_level(logging.WARNING):
        settings = Settings.load(home=given)
    assert settings.merge_chunks == 4
    assert "'merge_chunk' is no setting" in caplog.text and "merge_chunks'" not in caplog.text


def test_the_app_says_which_file_is_bad(homes):
    given, _ = homes
    (given / "paperdojo.toml").write_text("app_port = [\n")
    run = subprocess.run([sys.executable, str(ROOT / "app.py"), "--home", str(given), "--port", "1"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode != 0
    assert "not valid TOML" in run.stderr and "Traceback" not in run.stderr, run.stderr[-2000:]


def test_the_settings_file_of_the_home_given_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PAPERDOJO_CONFIG", raising=False)
    monkeypatch.delenv("PAPERDOJO_BM25_WEIGHT", raising=False)
    other = tmp_path / "env-home"  # $PAPERDOJO_HOME names another home: --home wins, and its file
    other.mkdir()
    (other / "paperdojo.toml").write_text("bm25_weight = 0.9\nmerge_chunks = 3\n", encoding="utf-8")
    monkeypatch.setenv("PAPERDOJO_HOME", str(other))
    home = tmp_path / "flag-home"
    home.mkdir()
    (home / "paperdojo.toml").write_text("bm25_weight = 0.7\n", encoding="utf-8")

    settings = Settings.load(home=home)
    assert config_file(settings.home) == home / "paperdojo.toml"
    assert settings.bm25_weight == 0.7
    assert settings.merge_chunks == Settings.model_fields["merge_chunks"].default  # not the other file's
    assert Settings.load().bm25_weight == 0.9  # no flag: the file of $PAPERDOJO_HOME

    monkeypatch.setenv("PAPERDOJO_BM25_WEIGHT", "0.3")  # the environment over the file
    assert Settings.load(home=home).bm25_weight == 0.3
    assert Settings.load(home=home, bm25_weight=0.1).bm25_weight == 0.1  # a flag over both

    explicit = tmp_path / "elsewhere.toml"  # $PAPERDOJO_CONFIG names the file outright
    explicit.write_text("merge_chunks = 4\n", encoding="utf-8")
    monkeypatch.setenv("PAPERDOJO_CONFIG", str(explicit))
    assert Settings.load(home=home).merge_chunks == 4
