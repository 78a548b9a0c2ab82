from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from paperdojo.library.embed import Embedder  # noqa: E402
from paperdojo.settings import Settings  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def make_settings(home: Path, **kw: object) -> Settings:
    reading_list = kw.pop("reading_list", home / "papers.toml")
    defaults = dict(home=home, reading_list=reading_list, http_timeout=2.0, http_retries=2,
                    parse_workers=0)
    return Settings(**{**defaults, **kw})


def empty_home(home: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """make_settings for a new home with an empty reading list, which the CLI finds through
    PAPERDOJO_READING_LIST (set for the test)."""
    settings = make_settings(home)
    settings.home.mkdir()
    settings.reading_list.write_text("")
    monkeypatch.setenv("PAPERDOJO_READING_LIST", str(settings.reading_list))
    return settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "home")


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """One loaded MiniLM for the whole run (the bundled weights, offline)."""
    return Embedder(Settings())


@pytest.fixture(scope="session")
def shared() -> Path:
    if not (SHARED / "corpus").is_dir():
        pytest.skip(f"the shared corpus is not at {SHARED} (it sits beside the checkout in CI)")
    return SHARED


@pytest.fixture(scope="session")
def refusal_answerer(shared, embedder, tmp_path_factory):
    """The Answerer of a home of four shared PDFs (TVM, SGLang, ZeRO, FlashAttention-3), ingested once
    a run: the library of the refusal tests (test_refusal_casual.py, test_refusal_framing.py) and of
    test_definitions.py."""
    from helpers import home_with_pdfs

    from paperdojo.workspace import Workspace

    pdfs = [shared / "corpus" / "pdf" / "tvm.pdf"] + [shared / "corpus" / "extra" / f"{n}.pdf"
                                                      for n in ("sglang", "zero", "flashattention-3")]
    settings, report = home_with_pdfs(tmp_path_factory.mktemp("refusal"), pdfs, embedder)
    assert report.count("indexed") == 4
    return Workspace(settings).answerer()


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server (tests/postgres.py) for the session, stopped at the end."""
    from postgres import PostgresServer, pg_bin

    found = pg_bin()
    if found is None:
        pytest.skip("PostgreSQL's initdb/pg_ctl are not installed (Debian: apt-get install postgresql; "
                    "scripts/test.sh does)")
    server = PostgresServer(found)
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def progress_backend(request, tmp_path: Path) -> dict:
    """Settings overrides naming an empty progress store of each kind: {"data_dir": ...} for SQLite,
    {"progress_url": ...} for a fresh database on the test PostgreSQL server."""
    if request.param == "sqlite":
        return {"data_dir": tmp_path / "userdata"}
    server = request.getfixturevalue("postgres_server")
    return {"data_dir": tmp_path / "userdata", "progress_url": server.database()}
