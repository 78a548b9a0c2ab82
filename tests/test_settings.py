"""Where settings come from: flags, then PAPERDOJO_* variables, then the home's paperdojo.toml."""

from __future__ import annotations

from pathlib import Path

import pytest

from paperdojo.settings import Settings, config_file


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
