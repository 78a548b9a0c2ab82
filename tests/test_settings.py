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
from paperdojo.settings import Settings

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


def test_the_given_homes_file_is_read(homes):
    given, env = homes
    assert Settings.load(home=given).merge_chunks == 7
    assert Settings.load().merge_chunks == 9  # no --home: $PAPERDOJO_HOME's
    assert Settings.load(home=given, merge_chunks=3).merge_chunks == 3  # a flag wins


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
