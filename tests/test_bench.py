"""`paperdojo bench`'s ingest part: relative --pdf-dir folders, and ours / usual runs in pairs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import PIPE, SHARD, make_pdf

from paperdojo.cli import main
from paperdojo.evaluation import bench


@pytest.fixture
def pdf_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "pdfs"
    folder.mkdir()
    make_pdf(folder / "pipe.pdf", PIPE, header=None)
    make_pdf(folder / "shard.pdf", SHARD, header=None)
    return folder


def test_bench_takes_a_relative_pdf_dir(pdf_folder: Path, tmp_path: Path, monkeypatch, capsys) -> None:  # noqa: ANN001
    monkeypatch.chdir(tmp_path)  # "pdfs" is relative to here, not to the bench's temporary folder
    argv = ["--home", str(tmp_path / "home"), "bench", "--only", "ingest", "--pdf-dir", "pdfs",
            "--no-baseline", "--no-torch", "--pairs", "1", "--json"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["ingest"]
    assert report["pdfs"] == 2 and report["chunks"] > 0 and report["one_pdf_embedded_docs"] == 1


def test_bench_says_which_pdf_dir_is_wrong(tmp_path: Path, monkeypatch, capsys) -> None:  # noqa: ANN001
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    for folder, why in (("nowhere", "not a folder"), ("empty", "no PDF in it")):
        argv = ["--home", str(tmp_path / "home"), "bench", "--only", "ingest", "--pdf-dir", folder]
        assert main(argv) == 2
        assert f"--pdf-dir {folder}: {why}" in capsys.readouterr().err


def test_cold_ingests_alternate_ours_and_the_usual_pipeline(pdf_folder: Path) -> None:
    pytest.importorskip("langchain_community", reason="the usual pipeline needs the eval extra")
    said: list[str] = []
    report = bench.bench_ingest([pdf_folder], said.append, baseline=True, torch=False, pairs=2)
    sides = ["usual" if "usual" in s else "ours" for s in said if "pair" in s and s.endswith("...")]
    assert sides == ["ours", "usual", "ours", "usual"]
    assert report["pairs"] == 2 and len(report["pair_ratios"]) == 2
    ratios = [u / o for u, o in zip(report["baseline_cold_runs_s"], report["ours_cold_runs_s"], strict=True)]
    assert report["speedup_vs_baseline"] == pytest.approx(sorted(ratios)[0] / 2 + sorted(ratios)[1] / 2,
                                                         abs=0.02)
