"""Downloads against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import time

import pytest
from helpers import LocalServer, RawServer, Route, make_pdf, paper_pages

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


# --------------------------------------------------------------------------- every failure is one paper's
@pytest.fixture
def bad_server(tmp_path):
    """One route per kind of failure a user meets in the wild."""
    with LocalServer() as srv:
        srv.routes.update({
            "/loop-a": Route(status=302, headers={"Location": "/loop-b"}),
            "/loop-b": Route(status=302, headers={"Location": "/loop-a"}),
            "/gzip.pdf": Route(b"%PDF-1.4 this body is not gzip at all " * 20,
                               headers={"Content-Encoding": "gzip"}),
            "/reset.pdf": Route(reset=True),
            "/bad-location": Route(status=302, headers={"Location": "http://[::1/x.pdf"}),
        })
        yield srv


def fetch_error(server, settings, path) -> str:
    with pytest.raises(FetchError) as info:
        fetch(server, settings, path)
    assert not list(settings.pdf_dir.glob("*")) and not list(settings.ingest_dir.glob(".download-*"))
    return str(info.value)


def test_redirect_loop_is_a_fetch_error(bad_server, settings):
    assert "redirects in a loop" in fetch_error(bad_server, settings, "/loop-a")
    assert bad_server.routes["/loop-a"].hits >= 10  # httpx followed it, then gave up


def test_body_claiming_gzip_is_a_fetch_error(bad_server, settings):
    reason = fetch_error(bad_server, settings, "/gzip.pdf")
    assert "cannot be decoded" in reason and "gzip" in reason and "drop it at" in reason


def test_connection_reset_is_a_fetch_error(bad_server, settings):
    reason = fetch_error(bad_server, settings, "/reset.pdf")
    assert "connection" in reason and "--retry" in reason and "(2 attempts)" in reason


@pytest.mark.parametrize("url", ["http://a\x01b.example/x.pdf", "http://" + "a" * 300 + ".example/x.pdf"])
def test_invalid_url_is_a_fetch_error(settings, url):
    with make_client(settings) as client, pytest.raises(FetchError, match="not a usable link"):
        download(Plan("pdf", url), "doc", settings, client)


def test_redirect_to_an_invalid_url_is_a_fetch_error(bad_server, settings):
    assert "not a usable link" in fetch_error(bad_server, settings, "/bad-location")


WRITE_REFUSED = """
import resource, signal, sys
sys.path.insert(0, {tests!r})
from conftest import make_settings
from pathlib import Path
from paperdojo.library.fetch import FetchError, download, make_client
from paperdojo.library.sources import Plan
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead of killing us
resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 10, 64 << 10))
settings = make_settings(Path({home!r}))
with make_client(settings) as client:
    try:
        download(Plan("pdf", {url!r}), "big", settings, client)
    except FetchError as exc:
        print("REASON", exc)
"""


def test_file_system_refusing_the_write_is_a_fetch_error(tmp_path):
    """A file system that refuses the write (here: the kernel's file size limit, EFBIG, as a full
    disk gives ENOSPC) fails the download with a reason, in a process of its own."""
    import subprocess
    import sys
    from pathlib import Path

    with LocalServer() as srv:
        srv.routes["/big.pdf"] = Route(b"%PDF-1.4\n" + b"0" * (256 << 10) + b"\n%%EOF\n")
        script = WRITE_REFUSED.format(tests=str(Path(__file__).parent), home=str(tmp_path / "home"),
                                      url=srv.url("/big.pdf"))
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert "REASON cannot save the download" in proc.stdout, proc.stderr[-2000:]
    assert "larger than this file system or process allows" in proc.stdout and "--retry" in proc.stdout
    assert not list((tmp_path / "home" / "ingest").glob(".download-*"))  # nothing half-written left


def test_landing_page_is_not_the_paper(settings):
    landing = (b'<!DOCTYPE html><html><head><meta name="citation_title" content="A Paper">'
               b'<meta name="citation_doi" content="10.1145/1"></head><body><h2>Abstract</h2>'
               b"<p>We study things.</p><a>Access through your institution</a> <a>Purchase this article"
               b"</a></body></html>")
    no_meta = (b"<html><body><h1>A Paper</h1><h2>Abstract</h2><p>We study things.</p>"
               b"<button>Buy this article</button></body></html>")
    post = b"<html><body><h1>Layouts</h1><p>An abstract idea. Subscribe to our newsletter.</p></body></html>"
    with LocalServer() as srv:
        srv.routes.update({"/doi/10.1145/1": Route(landing, ctype="text/html"),
                           "/article/2": Route(no_meta, ctype="text/html"),
                           "/post/": Route(post, ctype="text/html")})
        for path, kind in [("/doi/10.1145/1", "pdf"), ("/doi/10.1145/1", "auto"), ("/article/2", "auto")]:
            with make_client(settings) as client, pytest.raises(FetchError) as info:
                download(Plan(kind, srv.url(path)), "doc", settings, client)
            assert str(info.value).startswith("a landing page, not the paper: download the PDF and add it")
        with make_client(settings) as client:  # a blog post is still read as a web page
            assert download(Plan("auto", srv.url("/post/")), "post", settings, client).kind == "html"


def _answer(status: str, *headers: str, body: bytes = b"") -> bytes:
    return "\r\n".join([f"HTTP/1.1 {status}", *headers, "", ""]).encode() + body


RAW = {  # what a server sends -> words the reason must hold (what happened, what to do)
    "huge Content-Length": (_answer("200 OK", "Content-Type: application/pdf", "Content-Length: 99999999999",
                                    body=b"%PDF-1.4\n"),
                            ["announces 95367 MiB", "PAPERDOJO_MAX_DOWNLOAD_MB", "drop it at"]),
    "two Content-Lengths": (_answer("200 OK", "Content-Length: 10", "Content-Length: 20", body=b"%PDF-1.4\n"),
                            ["not valid HTTP", "--retry", "drop it at"]),
    "bad chunk": (_answer("200 OK", "Transfer-Encoding: chunked", body=b"zz\r\nabc\r\n0\r\n\r\n"),
                  ["not valid HTTP", "drop it at"]),
    "not HTTP at all": (b"SSH-2.0-OpenSSH_9.0\r\n",
                        ["closed the connection without answering", "drop it at"]),
    "redirect without Location": (_answer("302 Found", "Content-Length: 0"), ["no Location", "drop it at"]),
    "redirect to ftp": (_answer("302 Found", "Location: ftp://example.org/x.pdf", "Content-Length: 0"),
                        ["redirects to ftp://example.org/x.pdf", "not a usable link", "drop it at"]),
    "redirect to a file": (_answer("302 Found", "Location: file:///etc/passwd", "Content-Length: 0"),
                           ["redirects to file:", "drop it at"]),
    "HTTP 451": (_answer("451 Unavailable For Legal Reasons", "Content-Length: 0"),
                 ["HTTP 451 (Unavailable For Legal Reasons)", "drop it at"]),
    "a gzip file": (_answer("200 OK", "Content-Type: application/gzip", "Content-Length: 10",
                            body=b"\x1f\x8b\x08\x00garbag"), ["a gzip archive", "unpack it"]),
    "cut short, no length": (_answer("200 OK", "Content-Type: application/pdf", "Connection: close",
                                     body=b"%PDF-1.4\n1 0 obj << >> endobj\n"), ["cut short", "drop it at"]),
    "HTTP 404": (_answer("404 Not Found", "Content-Length: 0"), ["dead link: HTTP 404", "drop it at"]),
    "HTTP 403": (_answer("403 Forbidden", "Content-Length: 0"), ["access denied", "drop it at"]),
    "redirect to a host that is not there": (
        _answer("302 Found", "Location: http://no-such-host.invalid/x.pdf", "Content-Length: 0"),
        ["no-such-host.invalid", "redirects", "drop it at"]),
}


@pytest.mark.parametrize("case", list(RAW))
def test_every_broken_answer_is_one_sentence_to_act_on(settings, case):
    answer, words = RAW[case]
    with RawServer(answer) as srv, make_client(settings) as client, pytest.raises(FetchError) as info:
        download(Plan("pdf", srv.url("/x.pdf")), "doc", settings, client)
    for word in words:
        assert word in str(info.value), str(info.value)
    assert not list(settings.pdf_dir.glob("*")) and not list(settings.ingest_dir.glob(".download-*"))


@pytest.mark.parametrize(("body", "words"), [
    (b"", ["the file is empty", "drop it at"]),
    (b"PK\x03\x04" + b"x" * 60, ["a zip archive", "unpack it"]),
    (b"\x89PNG\r\n\x1a\n" + b"x" * 60, ["a PNG image", "drop it at"]),
])
def test_a_link_of_unknown_kind_that_sends_no_pdf_says_what_came(settings, body, words):
    """A link not ending in .pdf ("auto") whose server sends an empty body, an archive or an image
    named "application/pdf": what came and what to do ("neither a PDF nor a web page" said neither)."""
    answer = _answer("200 OK", "Content-Type: application/pdf", f"Content-Length: {len(body)}", body=body)
    with RawServer(answer) as srv, make_client(settings) as client, pytest.raises(FetchError) as info:
        download(Plan("auto", srv.url("/download?id=7")), "doc", settings, client)
    for word in words:
        assert word in str(info.value), str(info.value)
    assert not list(settings.pdf_dir.glob("*")) and not list(settings.ingest_dir.glob(".download-*"))


def test_a_trickling_server_meets_the_deadline(tmp_path):
    """A server sending one byte every 0.2 s never trips the read timeout; the whole download is
    bounded by settings.http_deadline."""
    from conftest import make_settings

    settings = make_settings(tmp_path / "home", http_deadline=1.0)
    body = b"%PDF-1.4\n" + b"0" * 400 + b"\n%%EOF\n"
    answer = _answer("200 OK", "Content-Type: application/pdf", f"Content-Length: {len(body)}", body=body)
    started = time.monotonic()
    with RawServer(answer, trickle=0.2) as srv, make_client(settings) as client, \
            pytest.raises(FetchError, match="sends too slowly") as info:
        download(Plan("pdf", srv.url("/x.pdf")), "doc", settings, client)
    assert time.monotonic() - started < 10 and "PAPERDOJO_HTTP_DEADLINE" in str(info.value)
    assert not list(settings.ingest_dir.glob(".download-*"))


def test_https_to_a_plain_http_server_says_so(server, settings):
    with make_client(settings) as client, pytest.raises(FetchError) as info:
        download(Plan("pdf", server.url("/good.pdf").replace("http://", "https://")), "doc", settings, client)
    assert "secure (https) connection" in str(info.value) and "try http://" in str(info.value)


@pytest.mark.parametrize("url", ["http://例え.invalid/paper.pdf", "http://no-such-host.invalid/a%20paper.pdf"])
def test_a_host_that_is_not_there_is_not_called_a_redirect(settings, url):
    """httpx writes an IDN host as punycode and escapes the path: that is the same address, not one
    the link 'redirects' to."""
    with make_client(settings) as client, pytest.raises(FetchError) as info:
        download(Plan("pdf", url), "doc", settings, client)
    reason = str(info.value)
    assert "cannot connect" in reason and "redirects" not in reason and "check the address" in reason
