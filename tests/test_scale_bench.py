"""`paperdojo bench --only scale` end to end at a small size, with an ANN index so recall means something."""

from __future__ import annotations

import json

import pytest
from conftest import make_settings
from test_store import _library

from paperdojo.cli import main
from paperdojo.evaluation import scale


def test_scale_bench_reports_every_field_and_recall_against_exact_hybrid(tmp_path, capsys, monkeypatch):
    home = tmp_path / "home"
    settings = make_settings(home)
    home.mkdir()
    settings.reading_list.write_text("")
    _library(settings.index_dir, 1500)  # the papers whose sentences the synthetic library recombines
    monkeypatch.setenv("PAPERDOJO_INDEX_TYPE", "ivfpq")  # approximate dense search even at this size
    monkeypatch.setenv("PAPERDOJO_READING_LIST", str(settings.reading_list))
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    assert main(["--home", str(home), "bench", "--only", "scale", "--sizes", "6000", "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    (row,) = report["scale"]
    assert set(row) == {"passages", "build_s", "disk_mb", "start_s", "rss_mb", "query_p50_ms", "query_p95_ms",
                        "recall@10"}
    assert row["passages"] == 6000
    assert row["recall@10"] >= 0.95
    assert row["build_s"] > 0 and row["disk_mb"] > 0 and row["start_s"] > 0 and row["rss_mb"] > 50
    assert 0 < row["query_p50_ms"] <= row["query_p95_ms"]
    assert not list(tmp_path.glob("paperdojo-scale-*"))  # the synthetic libraries are removed


def test_scale_bench_without_an_index_says_what_to_do(tmp_path):
    settings = make_settings(tmp_path / "home")
    with pytest.raises(scale.ScaleBenchError, match="recombines the sentences of an indexed library.*ingest"):
        scale.bench_scale(settings, [1000], print)
