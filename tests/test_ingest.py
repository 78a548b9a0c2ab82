"""The whole ingest: reading list + local folder -> index, incremental, robust to bad inputs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import empty_home, make_settings
from helpers import LocalServer, Route, make_pdf, paper_pages, wait_for

from paperdojo.cli import main
from paperdojo.library import catalog, store
from paperdojo.library.chunk import embedding_text
from paperdojo.library.ingest import IngestError, ingest

READING_LIST = """
[[paper]]
id = "alpha"
title = "Alpha Paper"
category = "Graph scheduling"
link = "{base}/alpha.pdf"

[[paper]]
id = "locked"
title = "A Paywalled Paper"
category = "Graph scheduling"
link = "https://ieeexplore.ieee.org/document/1"

[[paper]]
id = "dead"
title = "Dead Link"
category = "Data layout"
link = "{base}/dead.pdf"

[[paper]]
id = "trap"
title = "Captcha Instead Of PDF"
category = "Data layout"
link = "{base}/trap.pdf"

[[paper]]
id = "post"
title = "A Blog Post"
category = "Data layout"
link = "{base}/post/"
kind = "html"
"""


@pytest.fixture
def world(tmp_path):
    """A reading list served on 127.0.0.1 and a folder of local PDFs, good and bad."""
    alpha = make_pdf(tmp_path / "srv-alpha.pdf", paper_pages("alpha scheduling")).read_bytes()
    local = tmp_path / "local"
    local.mkdir()
    make_pdf(local / "beta.pdf", paper_pages("beta layouts"), title_meta="Beta: Data Layouts at Scale")
    make_pdf(local / "mixed.pdf", [paper_pages("gamma")[0], [("rect", "")], paper_pages("gamma")[1]])
    make_pdf(local / "scanned.pdf", [[("rect", "")], [("rect", "")]], header=None)
    make_pdf(local / "encrypted.pdf", paper_pages("secret"), encrypt="pw")
    (local / "empty.pdf").write_bytes(b"")
    (local / "saved-page.pdf").write_bytes(b"<!DOCTYPE html><html><body>Are you a robot?</body></html>")
    (local / "corrupt.pdf").write_bytes(b"%PDF-1.5\n" + os.urandom(3000) + b"\n%%EOF\n")
    with LocalServer() as srv:
        srv.routes.update({
            "/alpha.pdf": Route(alpha),
            "/trap.pdf": Route(b"<html><body>captcha</body></html>", ctype="text/html"),
            "/post/": Route(b"<html><head><title>Blog</title></head><body><h1>Warp layouts</h1>"
                            b"<p>Blocked layouts assign contiguous elements to each warp.</p></body></html>",
                            ctype="text/html"),
        })
        settings = make_settings(tmp_path / "home")
        settings.home.mkdir()
        settings.reading_list.write_text(READING_LIST.format(base=srv.base))
        yield settings, local, srv


def by_id(report):
    return {d.id: d for d in report.docs}


def test_ingest_end_to_end(world, embedder):
    settings, local, srv = world
    report = ingest(settings, [local], embedder=embedder)
    docs = by_id(report)
    assert {k: v.status for k, v in docs.items()} == {
        "alpha": "indexed", "locked": "missing", "dead": "failed", "trap": "failed", "post": "indexed",
        "beta": "indexed", "mixed": "indexed", "corrupt": "failed", "empty": "failed",
        "encrypted": "failed", "saved-page": "failed", "scanned": "failed"}
    assert str(settings.pdf_dir / "locked.pdf") in docs["locked"].reason
    assert "dead link: HTTP 404" in docs["dead"].reason
    assert "HTML page where a PDF was expected" in docs["trap"].reason
    assert "empty" in docs["empty"].reason and "encrypted" in docs["encrypted"].reason
    assert "HTML page where a PDF" in docs["saved-page"].reason
    assert "image-only" in docs["scanned"].reason and "broken PDF" in docs["corrupt"].reason
    assert any("page(s) 2" in w for w in docs["mixed"].warnings)
    assert docs["beta"].title == "Beta: Data Layouts at Scale" and docs["beta"].origin == "user"

    index = store.load_index(settings.index_dir)
    assert index.manifest["model"] == embedder.model_id and index.manifest["dim"] == 384
    assert index.faiss.ntotal == len(index.chunks) == report.total_chunks
    assert {c.doc_id for c in index.chunks} == {"alpha", "post", "beta", "mixed"}
    hit = next(c for c in index.chunks if "Sentence 3 of page 2 explains alpha" in c.text)
    assert (hit.doc_id, hit.title, hit.section) == ("alpha", "Alpha Paper", "2 Design of Alpha Scheduling")
    assert hit.page_start == hit.page_end == 2
    text = index.doc_texts()["alpha"]["text"]
    assert text[hit.char_start : hit.char_end] == hit.text
    assert all(c.section and c.page_start >= 1 for c in index.chunks)

    # the vectors are the model's: a query finds the right chunk
    query = embedder.encode(["Warp layouts: blocked layouts give contiguous elements to a warp"])
    _, ids = index.faiss.search(query, 1)
    assert index.chunks[ids[0][0]].doc_id == "post"

    # nothing changed: nothing parsed, embedded or written
    again = ingest(settings, [local], embedder=embedder)
    assert (again.embedded_docs, again.wrote_index, again.reused_docs) == (0, False, 4)
    assert again.seconds < 5
    assert srv.routes["/alpha.pdf"].hits == 1  # the cache is used, no second download


def test_incremental_changes(world, embedder):
    settings, local, _ = world
    ingest(settings, [local], embedder=embedder)
    make_pdf(local / "beta.pdf", paper_pages("beta layouts revised", n_pages=4))
    report = ingest(settings, [local], embedder=embedder)
    assert report.embedded_docs == 1 and by_id(report)["beta"].pages == 4 and report.wrote_index

    catalog.remove_paper(settings, "mixed")
    (local / "mixed.pdf").unlink()
    (settings.pdf_dir / "mixed.pdf").unlink()
    report = ingest(settings, [local], embedder=embedder)
    index = store.load_index(settings.index_dir)
    assert "mixed" not in {c.doc_id for c in index.chunks} and report.embedded_docs == 0
    assert not (settings.index_dir / "parts" / "mixed").exists()

    settings.chunk_tokens = 64  # a change of chunk settings re-embeds everything
    report = ingest(settings, [local], embedder=embedder)
    assert report.embedded_docs == 3 and report.reused_docs == 0


def test_only_and_unknown(world, embedder):
    settings, local, _ = world
    ingest(settings, [local], embedder=embedder)
    report = ingest(settings, only=["post"], embedder=embedder, rebuild=True)
    assert report.embedded_docs == 1 and by_id(report)["beta"].status == "indexed"
    assert len({c.doc_id for c in store.load_index(settings.index_dir).chunks}) == 4
    with pytest.raises(IngestError, match="no paper nope"):
        ingest(settings, only=["nope"], embedder=embedder)


def test_failed_download_is_not_retried_at_once(world, embedder):
    settings, local, srv = world
    ingest(settings, embedder=embedder)
    srv.routes["/dead.pdf"] = Route(make_pdf(settings.home / "d.pdf", paper_pages("dead")).read_bytes())
    assert by_id(ingest(settings, embedder=embedder))["dead"].status == "failed"
    assert by_id(ingest(settings, retry=True, embedder=embedder))["dead"].status == "indexed"


def test_corrupt_index_is_named_and_rebuilt(world, embedder):
    settings, local, _ = world
    ingest(settings, [local], embedder=embedder)
    gen = store.current_generation(settings.index_dir)
    with open(gen / "faiss.index", "r+b") as fh:
        fh.seek(100)
        fh.write(b"\x00garbage\x00")
    with pytest.raises(store.IndexCorrupt, match=r"faiss.index is damaged.*paperdojo ingest --rebuild"):
        store.load_index(settings.index_dir)
    (gen / "manifest.json").write_text("{not json")
    with pytest.raises(store.IndexCorrupt, match="manifest"):
        store.load_index(settings.index_dir)
    part = next((settings.index_dir / "parts" / "beta").glob("*.npy"))
    part.write_bytes(b"broken")
    report = ingest(settings, [local], embedder=embedder)
    assert report.wrote_index and report.embedded_docs == 1  # only the damaged part is made again
    assert store.load_index(settings.index_dir).faiss.ntotal == report.total_chunks


def test_no_index_and_busy(settings):
    with pytest.raises(store.IndexMissing, match="paperdojo ingest"):
        store.load_index(settings.index_dir)
    with store.writer_lock(settings.index_dir), pytest.raises(store.IndexBusy, match="another ingest"):
        ingest(settings)


def test_kill_9_mid_ingest_then_resume(tmp_path, embedder):
    local = tmp_path / "pdfs"
    local.mkdir()
    for i in range(8):
        make_pdf(local / f"paper{i}.pdf", paper_pages(f"topic {i}", n_pages=6, sentences_per_page=40))
    settings = make_settings(tmp_path / "home", parse_workers=1)
    settings.home.mkdir()
    settings.reading_list.write_text("")
    env = {**os.environ, "PAPERDOJO_HOME": str(settings.home),
           "PAPERDOJO_READING_LIST": str(settings.reading_list)}
    # a first, complete index of two papers; then the kill lands while six more are added
    first = tmp_path / "first"
    first.mkdir()
    for i in range(2):
        (first / f"paper{i}.pdf").write_bytes((local / f"paper{i}.pdf").read_bytes())
    ingest(settings, [first], embedder=embedder)
    before = store.load_index(settings.index_dir)
    proc = subprocess.Popen([sys.executable, "-m", "paperdojo.cli", "ingest", "--pdf-dir", str(local)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parts = settings.index_dir / "parts"
    assert wait_for(lambda: len(list(parts.glob("*/*.json"))) >= 3, timeout=120), "ingest never started"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(list(parts.glob("*/*.json"))) < 8, "the kill came too late to test anything"
    after_kill = store.load_index(settings.index_dir)  # the previous generation, whole
    assert after_kill.manifest["docs"] == before.manifest["docs"]
    started = time.perf_counter()
    report = ingest(settings, [local], embedder=embedder)
    assert report.count("indexed") == 8 and report.reused_docs >= 3
    index = store.load_index(settings.index_dir)
    assert index.faiss.ntotal == len(index.chunks) == report.total_chunks
    assert {c.doc_id for c in index.chunks} == {f"paper{i}" for i in range(8)}
    assert not list(settings.index_dir.glob(".tmp-gen-*"))
    assert time.perf_counter() - started < 120
    vecs = np.stack([index.faiss.reconstruct(i) for i in range(3)])
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)


def test_cli(world, embedder, capsys, monkeypatch):
    settings, local, _ = world
    monkeypatch.setenv("PAPERDOJO_READING_LIST", str(settings.reading_list))
    home = str(settings.home)
    assert main(["--home", home, "papers", "--json"]) == 0
    assert '"status": "missing"' in capsys.readouterr().out
    assert main(["--home", home, "add", str(local / "beta.pdf"), "--category", "Layouts"]) == 0
    out = capsys.readouterr().out
    assert "indexed" in out and "Beta: Data Layouts at Scale" in out
    assert main(["--home", home, "ingest", "--only", "nope"]) == 2
    assert "no paper nope" in capsys.readouterr().err
    assert main(["--home", home, "add", "not a link"]) == 2


def test_script_without_main_guard_still_indexes(tmp_path):
    """Spawned parser workers re-import an unguarded script and die; parsing falls back in-process."""
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    for i in range(2):
        make_pdf(pdfs / f"p{i}.pdf", paper_pages(f"guard {i}"))
    script = tmp_path / "unguarded.py"
    script.write_text(
        "from pathlib import Path\n"
        "from paperdojo.library.ingest import ingest\n"
        "from paperdojo.settings import Settings\n"
        f"home = Path({str(tmp_path / 'home')!r})\n"
        "home.mkdir(exist_ok=True)\n"
        "(home / 'rl.toml').write_text('')\n"
        "s = Settings(home=home, reading_list=home / 'rl.toml', parse_workers=1)\n"
        f"r = ingest(s, [Path({str(pdfs)!r})])\n"
        "print('INDEXED', r.count('indexed'))\n")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert "INDEXED 2" in proc.stdout, proc.stderr[-2000:]
    assert "parsing" in proc.stderr and "in this process" in proc.stderr


def test_embedding_cache_reembeds_only_changed_text(tmp_path, embedder):
    """Other chunk settings re-chunk every paper; chunks whose text did not change keep their vectors."""
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    make_pdf(pdfs / "pipe.pdf", paper_pages("pipeline stages", n_pages=4, sentences_per_page=20))
    settings = make_settings(tmp_path / "home", chunk_overlap_tokens=32)
    settings.home.mkdir(parents=True)
    settings.reading_list.write_text("")
    first = ingest(settings, [pdfs], embedder=embedder)
    assert first.cached_vectors == 0 and first.embedded_chunks > 5
    # without overlap, chunks start where they did but end sooner: some texts are the same
    changed = settings.model_copy(update={"chunk_overlap_tokens": 0})
    second = ingest(changed, [pdfs], embedder=embedder)
    assert second.embedded_docs == 1 and 0 < second.cached_vectors < second.embedded_chunks
    index = store.load_index(changed.index_dir)
    fresh = embedder.encode_bulk([embedding_text(c, True) for c in index.chunks])
    # each cached vector is its own text's: bfloat16 bulk vectors vary with their batch by < 1e-3,
    # another chunk's vector would sit at cosine < 0.99
    assert np.einsum("ij,ij->i", index.faiss.reconstruct_n(0, len(index.chunks)), fresh).min() > 0.9999
    third = ingest(changed, [pdfs], embedder=embedder, rebuild=True)  # a rebuild trusts no cache
    assert third.cached_vectors == 0 and third.embedded_chunks == second.embedded_chunks


# --------------------------------------------------------------------------- one bad link fails one paper
BATCH = """
import json, resource, signal, sys
sys.path.insert(0, {tests!r})
from pathlib import Path
from conftest import make_settings
from paperdojo.library import store
from paperdojo.library.ingest import ingest
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an over-long write fails with EFBIG instead of killing us
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))  # a file system refusing the big write
settings = make_settings(Path({home!r}))
report = ingest(settings)
index = store.load_index(settings.index_dir)
print(json.dumps({{"docs": {{d.id: [d.status, d.reason] for d in report.docs}},
                  "indexed": sorted({{c.doc_id for c in index.chunks}})}}))
"""

BAD_LINKS = {  # id -> (route or link, the words its reason must hold)
    "loop": ("/loop-a", "redirects in a loop"),
    "gzip": ("/gzip.pdf", "cannot be decoded"),
    "reset": ("/reset.pdf", "the connection broke"),
    "badurl": ("http://[::1/x.pdf", "not a usable link"),
    "badredirect": ("/bad-location", "not a usable link"),
    "toobig": ("/big.pdf", "cannot save the download"),
    "nowhere": ("/nowhere.pdf", "no Location"),
    "ftpredirect": ("/to-ftp.pdf", "redirects to ftp://"),
    "tls": ("https:/good1.pdf", "secure (https) connection"),  # https to the plain-http server
}


def test_batch_with_one_bad_link_of_each_kind(tmp_path):
    """Two good papers and one bad link of each kind: the two are indexed, each bad link fails
    alone with its own reason, and the index is written."""
    good = {name: make_pdf(tmp_path / f"{name}.pdf", paper_pages(f"{name} scheduling")).read_bytes()
            for name in ("good1", "good2")}
    with LocalServer() as srv:
        srv.routes.update({
            "/good1.pdf": Route(good["good1"]), "/good2.pdf": Route(good["good2"]),
            "/loop-a": Route(status=302, headers={"Location": "/loop-b"}),
            "/loop-b": Route(status=302, headers={"Location": "/loop-a"}),
            "/gzip.pdf": Route(b"%PDF-1.4 not gzip " * 50, headers={"Content-Encoding": "gzip"}),
            "/reset.pdf": Route(reset=True),
            "/bad-location": Route(status=302, headers={"Location": "http://[::1/x.pdf"}),
            "/big.pdf": Route(b"%PDF-1.4\n" + b"0" * (4 << 20) + b"\n%%EOF\n"),
            "/nowhere.pdf": Route(status=302),
            "/to-ftp.pdf": Route(status=302, headers={"Location": "ftp://example.org/x.pdf"}),
        })
        entries = {"good1": srv.url("/good1.pdf"), "good2": srv.url("/good2.pdf")}
        for pid, (link, _) in BAD_LINKS.items():
            if link.startswith("https:/"):  # the same server asked for TLS it does not speak
                entries[pid] = srv.url(link.removeprefix("https:")).replace("http:", "https:")
            else:
                entries[pid] = link if link.startswith("http") else srv.url(link)
        home = tmp_path / "home"
        home.mkdir()
        (home / "papers.toml").write_text("".join(
            f'[[paper]]\nid = "{pid}"\ncategory = "C"\nlink = "{link}"\nkind = "pdf"\n\n'
            for pid, link in entries.items()))
        script = BATCH.format(tests=str(Path(__file__).parent), home=str(home))
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0 and proc.stdout.strip(), proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["indexed"] == ["good1", "good2"]
    for pid, (_, words) in BAD_LINKS.items():
        status, reason = result["docs"][pid]
        assert status == "failed" and words in reason, (pid, reason)
    assert "Traceback" not in proc.stderr


def test_cli_add_of_a_bad_link_says_why(tmp_path, capsys, monkeypatch):
    """`paperdojo add` of a redirect loop: the reason, no traceback, a non-zero exit code."""
    settings = empty_home(tmp_path / "home", monkeypatch)
    with LocalServer() as srv:
        srv.routes.update({"/loop-a.pdf": Route(status=302, headers={"Location": "/loop-b.pdf"}),
                           "/loop-b.pdf": Route(status=302, headers={"Location": "/loop-a.pdf"})})
        code = main(["--home", str(settings.home), "add", srv.url("/loop-a.pdf")])
    captured = capsys.readouterr()
    assert code != 0
    assert "redirects in a loop" in captured.out + captured.err
    assert "Traceback" not in captured.out + captured.err
