"""A watched folder: add, change, rename and delete a PDF; the index follows each time."""

from __future__ import annotations

import os
import threading
import time

from conftest import empty_home, make_settings
from helpers import make_pdf, paper_pages, wait_for

from paperdojo.cli import main
from paperdojo.library import catalog, store, watch

FOLLOW_S = 30  # generous for a loaded 2-core machine; measured times are printed


def _indexed(settings) -> dict[str, dict]:
    try:
        docs = (store.read_manifest(settings.index_dir) or {}).get("docs", {})
    except store.IndexProblem:
        return {}
    return {pid: d for pid, d in docs.items() if d["status"] == "indexed"}


def test_watched_folder_follows_add_change_rename_delete(tmp_path, embedder):
    settings = make_settings(tmp_path / "home")
    settings.home.mkdir()
    settings.reading_list.write_text("")
    folder = tmp_path / "papers"
    folder.mkdir()
    folders = watch.remember(settings, [folder])
    syncs: list[tuple[float, object]] = []  # (when the sync started, its report)

    def run_sync() -> None:
        started = time.time()
        syncs.append((started, watch.sync(settings, folders, embedder=embedder)))

    stop = threading.Event()
    thread = threading.Thread(target=watch.watch, args=(folders, run_sync, stop),
                              kwargs={"debounce_ms": 400, "retry_ms": 500}, daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: syncs, FOLLOW_S), "the first sync never ran"

        # add
        t0 = time.time()
        make_pdf(folder / "Heron Allocator.pdf", paper_pages("heron allocation"))
        assert wait_for(lambda: "heron-allocator" in _indexed(settings), FOLLOW_S), "not indexed"
        print(f"add followed in {time.time() - t0:.1f} s")
        [cov] = watch.folder_status(settings, folders)
        assert cov.coverage == "1 of 1 files indexed"

        # change: the same path, new content
        t0 = time.time()
        tmp = tmp_path / "new.pdf"
        make_pdf(tmp, paper_pages("heron allocation revised", n_pages=5))
        os.replace(tmp, folder / "Heron Allocator.pdf")
        assert wait_for(lambda: _indexed(settings).get("heron-allocator", {}).get("pages") == 5, FOLLOW_S)
        print(f"change followed in {time.time() - t0:.1f} s")
        parts = settings.index_dir / "parts"
        assert wait_for(lambda: len(list(parts.rglob("*.npy"))) == 1, FOLLOW_S)  # the old version pruned
        parts_before = sorted(parts.rglob("*.npy"))

        # rename: recognized by its sha256, nothing embedded again
        t0 = time.time()
        os.rename(folder / "Heron Allocator.pdf", folder / "heron-final.pdf")
        renamed = str((folder / "heron-final.pdf").resolve())
        assert wait_for(lambda: any(p.file == renamed for p in catalog.load_catalog(settings)), FOLLOW_S)
        assert wait_for(lambda: any(when >= t0 for when, _ in syncs) and not _busy(syncs, t0), FOLLOW_S)
        after = [report for when, report in syncs if when >= t0]
        assert after and all(r.embedded_chunks == 0 and r.embedded_docs == 0 for r in after)
        print(f"rename followed in {time.time() - t0:.1f} s")
        assert [p.id for p in catalog.load_catalog(settings)] == ["heron-allocator"]
        assert list(_indexed(settings)) == ["heron-allocator"]
        assert sorted(parts.rglob("*.npy")) == parts_before
        [cov] = watch.folder_status(settings, folders)
        assert cov.coverage == "1 of 1 files indexed" and cov.files[0].path.endswith("heron-final.pdf")

        # delete: the paper leaves the library and the index
        t0 = time.time()
        (folder / "heron-final.pdf").unlink()
        assert wait_for(lambda: not _indexed(settings) and store.current_generation(settings.index_dir)
                        and not store.load_index(settings.index_dir).chunks, FOLLOW_S)
        print(f"delete followed in {time.time() - t0:.1f} s")
        assert catalog.load_catalog(settings) == [] and not list(settings.pdf_dir.glob("*.pdf"))
    finally:
        stop.set()
        thread.join(15)
    assert not thread.is_alive()


def _busy(syncs, t0) -> bool:
    """True while a sync started after t0 may still be followed by another one for the same change."""
    return time.time() - max(when for when, _ in syncs) < 1.0


def test_cli_watch_once_and_papers_coverage(tmp_path, embedder, capsys, monkeypatch):
    settings = empty_home(tmp_path / "home", monkeypatch)
    folder = tmp_path / "papers"
    folder.mkdir()
    make_pdf(folder / "good.pdf", paper_pages("ibis graphs"))
    (folder / "broken.pdf").write_bytes(b"%PDF-1.5\nno end")
    home = str(settings.home)
    assert main(["--home", home, "watch", str(folder), "--once"]) == 0
    assert "1 of 2 files indexed" in capsys.readouterr().err
    assert main(["--home", home, "papers"]) == 0
    out = capsys.readouterr().out
    assert "1 of 2 files indexed" in out and "broken.pdf" in out and "cut short" in out
    assert main(["--home", home, "watch", "--status", "--json"]) == 0
    assert '"indexed": 1' in capsys.readouterr().out
    assert main(["--home", home, "watch", str(tmp_path / "nope")]) == 2
