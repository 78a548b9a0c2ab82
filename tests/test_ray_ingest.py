"""`ingest --ray`: a real local Ray cluster (2 CPUs, started here), compared with the local ingest.

Nothing is mocked: the same PDFs go through the local pipeline and through Ray Data (parse tasks, an
embedding actor pool); both must write the same chunks and vectors. One run has its embedding actor
killed (SIGKILL) while it works, and must still end in a complete index (Ray restarts the actor and
retries its rows).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import make_settings
from helpers import make_pdf, paper_pages

from paperdojo.library import store
from paperdojo.library.ingest import ingest

ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install -e '.[ray]')")
from paperdojo.library.ray_ingest import RayStage  # noqa: E402

TOPICS = ["tensor compilers", "pipeline parallelism", "kernel fusion", "activation recomputation"]


@pytest.fixture(scope="module")
def cluster():  # noqa: ANN201
    """A local Ray cluster of 2 CPUs whose processes are children of this test process."""
    temp = tempfile.mkdtemp(prefix="pdray-", dir="/tmp")  # short: Ray's socket paths have a length limit
    ray.init(address="local", num_cpus=2, include_dashboard=False, _temp_dir=temp,
             object_store_memory=200 * 2**20, logging_level="WARNING", log_to_driver=False)
    yield
    ray.shutdown()
    shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory) -> Path:  # noqa: ANN001
    folder = tmp_path_factory.mktemp("ray-pdfs")
    for topic in TOPICS:
        make_pdf(folder / f"{topic.split()[0]}.pdf", paper_pages(topic, 4, 14))
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 this is not a PDF at all")
    # no title of its own (no metadata, the page starts with "Abstract"): called by its file's name
    make_pdf(folder / "download (1).pdf", [[("h", "Abstract"), "The ocelot tiler chooses tile sizes for "
                                           "kernels on small accelerators."]], header=None)
    return folder


@pytest.fixture(scope="module")
def local(pdfs: Path, embedder, tmp_path_factory):  # noqa: ANN001, ANN201
    settings = make_settings(tmp_path_factory.mktemp("local") / "home")
    settings.home.mkdir(parents=True, exist_ok=True)
    settings.reading_list.write_text("")
    report = ingest(settings, [pdfs], embedder=embedder)
    return settings, report


def _generation(settings) -> tuple[dict, list[dict], np.ndarray]:  # noqa: ANN001
    gen = store.current_generation(settings.index_dir)
    assert gen is not None
    manifest = json.loads((gen / "manifest.json").read_text())
    index = store.load_index(settings.index_dir, full_check=True)  # every file's sha256 checked
    return manifest, [c.to_json() for c in index.chunks], np.load(gen / "vectors.npy")


def _same_index(ray_settings, local_settings) -> None:  # noqa: ANN001
    m_ray, c_ray, v_ray = _generation(ray_settings)
    m_loc, c_loc, v_loc = _generation(local_settings)
    assert c_ray == c_loc  # ids, text, pages, sections, character offsets
    assert v_ray.shape == v_loc.shape
    np.testing.assert_allclose(v_ray, v_loc, atol=1e-5)
    strip = ("file",)  # the home's own cache path
    docs = {k: {f: v for f, v in d.items() if f not in strip} for k, d in m_ray["docs"].items()}
    assert docs == {k: {f: v for f, v in d.items() if f not in strip} for k, d in m_loc["docs"].items()}
    assert m_ray["fingerprint"] == m_loc["fingerprint"] and m_ray["model"] == m_loc["model"]
    for doc_id, doc in m_ray["docs"].items():  # the per-paper parts, too
        if doc["status"] == "indexed":
            ray_part = store.load_part(ray_settings.index_dir, doc_id, doc["key"])
            local_part = store.load_part(local_settings.index_dir, doc_id, doc["key"])
            assert ray_part and local_part
            assert ray_part[1] == local_part[1]
            assert ray_part[0].to_json() == local_part[0].to_json()


def _ray_home(root: Path):  # noqa: ANN202
    settings = make_settings(root / "home")
    settings.home.mkdir(parents=True, exist_ok=True)
    settings.reading_list.write_text("")
    return settings


def test_ray_ingest_writes_the_same_index_as_the_local_one(cluster, pdfs, local, tmp_path):  # noqa: ANN001
    local_settings, local_report = local
    settings = _ray_home(tmp_path)
    report = ingest(settings, [pdfs], stage=RayStage())
    statuses = {d.id: d.status for d in report.docs}
    assert statuses == {d.id: d.status for d in local_report.docs}
    assert statuses["broken"] == "failed"
    assert sum(s == "indexed" for s in statuses.values()) == len(TOPICS) + 1
    assert report.embedded_docs == len(TOPICS) + 1 and report.wrote_index
    assert "download (1)" in {d.title for d in report.docs}  # named as the local ingest names it
    _same_index(settings, local_settings)
    # the rest of the system cannot tell: a warm local re-run reuses every part the Ray run wrote
    again = ingest(settings, [pdfs])
    assert again.embedded_docs == 0 and again.reused_docs == len(TOPICS) + 1


def _descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _working_actor() -> int | None:
    """The pid of our embedding actor while it runs a task (its process title ends in `.submit`)."""
    for pid in _descendants(os.getpid()):
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
        except OSError:
            continue
        if title.startswith("ray::MapWorker(Map(_EmbedRows))") and title.rstrip().endswith(".submit"):
            return pid
    return None


def test_a_killed_embedding_actor_still_ends_in_a_complete_index(cluster, pdfs, local, tmp_path):  # noqa: ANN001
    local_settings, _ = local
    settings = _ray_home(tmp_path)
    killed: list[int] = []
    done = threading.Event()

    def kill_when_working() -> None:
        while not done.is_set() and not killed:
            pid = _working_actor()
            if pid:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            done.wait(0.05)

    killer = threading.Thread(target=kill_when_working, daemon=True)
    killer.start()
    try:
        report = ingest(settings, [pdfs], stage=RayStage(max_retries=3))
    finally:
        done.set()
        killer.join()
    assert killed, "the embedding actor was never seen at work (nothing was killed)"
    assert sum(d.status == "indexed" for d in report.docs) == len(TOPICS) + 1
    _same_index(settings, local_settings)


@pytest.mark.shared
def test_ray_and_local_ingest_agree_on_shared_papers(cluster, shared, embedder, tmp_path):  # noqa: ANN001
    """The two smallest PDFs of the shared corpus (the whole corpus is compared by hand, see docs/ray.md)."""
    folder = tmp_path / "pdfs"
    folder.mkdir()
    for pdf in sorted((shared / "corpus" / "pdf").glob("*.pdf"), key=lambda p: p.stat().st_size)[:2]:
        os.symlink(pdf, folder / pdf.name)
    local_settings = _ray_home(tmp_path / "local")
    ingest(local_settings, [folder], embedder=embedder)
    settings = _ray_home(tmp_path / "ray")
    report = ingest(settings, [folder], stage=RayStage())
    assert sum(d.status == "indexed" for d in report.docs) == 2
    _same_index(settings, local_settings)
