"""Worker processes die with the process that started them, even when it is killed with `kill -9`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers import make_pdf, paper_pages

from paperdojo.library.embed import cpu_has_amx_bf16

# the parent: an embedder with two workers and a parse pool, a PDF in flight; then it sleeps
PARENT = textwrap.dedent("""
    import multiprocessing, sys, time
    from pathlib import Path
    from paperdojo.library import ingest
    from paperdojo.library.catalog import Paper
    from paperdojo.library.embed import Embedder
    from paperdojo.settings import Settings

    if __name__ == "__main__":
        home, pdf, backend = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
        settings = Settings(home=home, reading_list=home / "papers.toml", embed_workers=2,
                            parse_workers=1, embed_backend=backend)
        embedder = Embedder(settings)
        embedder.start_workers()
        jobs = [(Paper(f"p{i}", "", "x", origin="user"), pdf) for i in range(3)]
        docs = ingest._parsed_docs(settings, jobs)
        next(docs)  # the parse pool is up, the other papers still queued in it
        embedder.encode_bulk(["warm up the workers"] * 40)
        print(" ".join(str(p.pid) for p in multiprocessing.active_children()), flush=True)
        time.sleep(600)
""")


def _alive(pid: int) -> bool:
    """A process that exists and is not a zombie (a zombie has exited; init reaps it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.mark.parametrize("backend", ["onnx-int8", "torch-bf16"])  # spawned; forked by a forkserver
def test_workers_exit_when_the_parent_is_killed(tmp_path, backend):
    if not Path("/proc").is_dir():
        pytest.skip("needs /proc to see processes")
    if backend == "torch-bf16" and not cpu_has_amx_bf16():
        pytest.skip("bfloat16 workers run only on a CPU with AMX")
    home = tmp_path / "home"
    home.mkdir()
    (home / "papers.toml").write_text("")
    pdf = make_pdf(tmp_path / "p.pdf", paper_pages("tiling", n_pages=2))
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    proc = subprocess.Popen([sys.executable, str(script), str(home), str(pdf), backend],
                            stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PAPERDOJO_HOME": str(home)})
    try:
        line = proc.stdout.readline()
        workers = [int(x) for x in line.split()]
        assert len(workers) >= 3, f"expected 2 embedding workers and a parser, saw {line!r}"
        assert all(_alive(pid) for pid in workers)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.1)
    left = [pid for pid in workers if _alive(pid)]
    for pid in left:  # do not leave them behind even when the test fails
        os.kill(pid, signal.SIGKILL)
    assert not left, f"workers {left} outlived their parent by 5 s"
