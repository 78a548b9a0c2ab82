"""Downloads against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import pytest
from helpers import LocalServer, Route, make_pdf, paper_pages

from paperdojo.library.fetch import FetchError, download, make_client
from paperdojo.library.sources import Plan


@pytest.fixture
def server(tmp_path):
    good = make_pdf(tmp_path / "good.pdf", paper_pages("fusion")).read_bytes()
    with LocalServer() as srv:
        srv.routes.update({
            "/good.pdf": Route(good),
            "/paywall.pdf": Route(b"<!DOCTYPE html><html><body>Sign in</body></html>", ctype="text/html"),
            "/slow.pdf": Route(good, delay=3.0),
            "/cut.pdf": Route(good, cut=True),
            "/flaky.pdf": Route(good, fail_first=1),
            "/post/": Route(b"<html><body><h1>Post</h1><p>Text.</p></body></html>", ctype="text/html"),
            "/cover.pdf": Route(b"%PDF-1.4\nno end marker"),
        })
        srv.good = good
        yield srv


def fetch(server, settings, path, kind="pdf"):
    with make_client(settings) as client:
        return download(Plan(kind, server.url(path)), "doc", settings, client)


def test_good_pdf(server, settings):
    got = fetch(server, settings, "/good.pdf")
    assert got.path == settings.pdf_dir / "doc.pdf" and got.path.read_bytes() == server.good
    assert len(got.sha256) == 64 and got.kind == "pdf"


def test_dead_link(server, settings):
    with pytest.raises(FetchError, match="dead link: HTTP 404"):
        fetch(server, settings, "/gone.pdf")


def test_html_instead_of_pdf(server, settings):
    with pytest.raises(FetchError, match="HTML page where a PDF was expected.*drop it at"):
        fetch(server, settings, "/paywall.pdf")
    assert not list(settings.pdf_dir.glob("*")) and not list(settings.ingest_dir.glob(".download-*"))


def test_timeout(server, settings):
    settings.http_timeout = 0.5
    with pytest.raises(FetchError, match=r"timed out after 0.5 s .*\(2 attempts\)"):
        fetch(server, settings, "/slow.pdf")


def test_body_cut_short(server, settings):
    with pytest.raises(FetchError, match="closed before the whole body arrived"):
        fetch(server, settings, "/cut.pdf")
    assert not (settings.pdf_dir / "doc.pdf").exists()


def test_pdf_without_end_is_refused(server, settings):
    with pytest.raises(FetchError, match="cut short"):
        fetch(server, settings, "/cover.pdf")


def test_retry_after_503(server, settings):
    assert fetch(server, settings, "/flaky.pdf").path.exists()
    assert server.routes["/flaky.pdf"].hits == 2


def test_auto_kind_takes_html_posts(server, settings):
    got = fetch(server, settings, "/post/", kind="auto")
    assert got.kind == "html" and got.path == settings.pages_dir / "doc.html"


def test_sends_user_agent(server, settings):
    with make_client(settings) as client:
        assert client.headers["user-agent"].startswith("paperdojo/")
