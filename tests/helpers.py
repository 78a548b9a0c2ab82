"""Builders for the tests' own small PDFs, a real HTTP server on 127.0.0.1, and the app in a subprocess
for the browser tests."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from fpdf import FPDF

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"  # Debian's, driven by Playwright
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

Line = str | tuple[str, str]  # a body line, or ("h", heading) / ("blank", "") / ("rect", "")


# the lines of a two-column page (invented text): tests/test_reading_order.py, tests/test_orientation.py
LEFT = ["The left column opens with a sentence about loop tiling and",
        "goes on to say that tiles are chosen to fit the cache of",
        "each core, which the vole planner measures by profiling.",
        "A second paragraph of the left column explains how the",
        "planner orders the tiles so that reuse stays in registers."]
RIGHT = ["The right column opens with a sentence about data layout",
         "and says that the heron pass rewrites tensors into blocked",
         "formats, which cut cache misses by 17 percent on average.",
         "A second paragraph of the right column explains when the",
         "pass leaves a tensor alone because no kernel benefits."]


def make_pdf(path: Path, pages: list[list[Line]], header: str | None = "Proc. of the Test Conf. 2024",
             page_numbers: bool = True, title_meta: str | None = None, encrypt: str | None = None) -> Path:
    """A PDF whose pages hold exactly the given lines (one text line each), so tests know
    on which page every word is."""
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    if title_meta:
        pdf.set_title(title_meta)
    if encrypt:
        pdf.set_encryption(owner_password="owner", user_password=encrypt)
    for number, lines in enumerate(pages, 1):
        pdf.add_page()
        pdf.set_font("Helvetica", size=10)
        if header and lines:
            pdf.set_xy(20, 8)
            pdf.cell(0, 5, header)
        pdf.set_xy(20, 20)
        for line in lines:
            if isinstance(line, tuple):
                kind, text = line
                if kind == "rect":
                    pdf.rect(30, 40, 120, 150, style="F")
                    continue
                if kind == "blank":
                    pdf.ln(5)
                    continue
                pdf.set_font("Helvetica", style="B", size=12)
                pdf.cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
                pdf.set_font("Helvetica", size=10)
            else:
                pdf.set_x(20)
                pdf.multi_cell(170, 5, line, new_x="LMARGIN", new_y="NEXT")
            pdf.set_x(20)
        if page_numbers and lines:
            pdf.set_xy(100, 285)
            pdf.cell(10, 5, str(number))
    pdf.output(str(path))
    return path


def paper_pages(topic: str, n_pages: int = 3, sentences_per_page: int = 12) -> list[list[Line]]:
    """A plausible paper about `topic`: abstract, numbered sections, references."""
    pages: list[list[Line]] = []
    for p in range(n_pages):
        section = p + 1
        lines: list[Line] = []
        if p == 0:
            lines += [("h", f"A Study of {topic.title()}"), "Ada Lovelace, Example University",
                      ("h", "Abstract"), f"We study {topic} in depth and report what we found.",
                      "Our method is simple and it works well in practice."]
        name = ["Background", "Design", "Evaluation", "Discussion", "Limits", "Outlook"][(section - 1) % 6]
        lines.append(("h", f"{section} {name} of {topic.title()}"))
        for s in range(sentences_per_page):
            lines.append(f"Sentence {s} of page {p + 1} explains {topic} detail number {s}.")
        pages.append(lines)
    pages[-1] += [("h", "References"), "[1] A. Author. Some cited work. 2020.",
                  "[2] B. Author. Another cited work. 2021."]
    return pages


# two tiny papers with known sections, for retrieval and answer tests
PIPE = [[("h", "Abstract"), "We pipeline micro-batches across accelerators.",
         ("h", "1 Introduction"), "Pipeline parallelism splits the layers of a model into stages.",
         "Each stage runs on its own accelerator and micro-batches flow through the stages.",
         ("h", "2 Re-materialization"), "To save activation memory, each stage recomputes its forward pass",
         "during the backward pass instead of storing activations."]]
SHARD = [[("h", "Abstract"), "We shard tensors over a device mesh.",
          ("h", "1 Introduction"), "Tensor sharding annotations let the compiler partition each operator.",
          ("h", "2 Halo exchange"), "Convolutions with spatial partitioning need a halo exchange",
          "of border elements between neighbouring devices."]]


def home_with_pdfs(root: Path, pdfs: list[Path], embedder):  # noqa: ANN001, ANN201
    """A home under `root` (no reading list) with copies of `pdfs` ingested; returns (Settings, the
    ingest report)."""
    from conftest import make_settings

    from paperdojo.library.ingest import ingest

    folder = root / "pdfs"
    folder.mkdir(parents=True, exist_ok=True)
    for pdf in pdfs:
        shutil.copyfile(pdf, folder / pdf.name)
    settings = make_settings(root / "home")
    settings.home.mkdir(parents=True)
    settings.reading_list.write_text("")
    return settings, ingest(settings, [folder], embedder=embedder)


def two_paper_home(home: Path, embedder, reading_list: str = "", **settings_kw):  # noqa: ANN001, ANN201
    """A home with PIPE and SHARD ingested (ids "pipe" and "shard"); returns its Settings."""
    from conftest import make_settings

    from paperdojo.library.ingest import ingest

    pdfs = home / "pdfs"
    pdfs.mkdir(parents=True, exist_ok=True)
    make_pdf(pdfs / "pipe.pdf", PIPE, header=None, title_meta="Pipe: Micro-Batch Pipelining")
    make_pdf(pdfs / "shard.pdf", SHARD, header=None, title_meta="Shard: Tensor Sharding Compiler")
    settings = make_settings(home, **settings_kw)
    settings.home.mkdir(parents=True, exist_ok=True)
    settings.reading_list.write_text(reading_list)
    ingest(settings, [pdfs], embedder=embedder)
    return settings


class Route:
    """What the server answers at one path: `headers` adds headers (Location, Content-Encoding...),
    `reset` drops the connection with a TCP reset instead of answering."""

    def __init__(self, body: bytes = b"", status: int = 200, ctype: str = "application/pdf",
                 delay: float = 0.0, cut: bool = False, fail_first: int = 0,
                 headers: dict[str, str] | None = None, reset: bool = False) -> None:
        self.body, self.status, self.ctype = body, status, ctype
        self.delay, self.cut, self.fail_first = delay, cut, fail_first
        self.headers, self.reset = headers or {}, reset
        self.hits = 0


class LocalServer:
    """A real HTTP server on 127.0.0.1 with scripted routes (slow, cut short, flaky, ...)."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        routes = self.routes

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return None

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                route = routes.get(self.path)
                if route is None:
                    self.send_error(404)
                    return
                route.hits += 1
                if route.delay:
                    time.sleep(route.delay)
                if route.hits <= route.fail_first:
                    self.send_error(503)
                    return
                if route.reset:  # SO_LINGER 0: close() sends RST, as a crashing server or firewall does
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    self.connection.close()
                    return
                self.send_response(route.status)
                self.send_header("Content-Type", route.ctype)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                length = len(route.body) * (2 if route.cut else 1)
                self.send_header("Content-Length", str(length))
                self.end_headers()
                body = route.body[: len(route.body) // 2] if route.cut else route.body
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    return
                if route.cut:
                    self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def __enter__(self) -> LocalServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class RawServer:
    """A TCP server on 127.0.0.1 that answers every connection with the same raw bytes (a status line
    and headers no well-behaved server sends: two Content-Lengths, a broken chunk, no Location...),
    the body `trickle` seconds per byte when set, then closes."""

    def __init__(self, answer: bytes, trickle: float = 0.0) -> None:
        self.answer, self.trickle = answer, trickle
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}{path}"

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        try:
            conn.recv(65536)
            head, sep, body = self.answer.partition(b"\r\n\r\n")
            conn.sendall(head + sep)
            if not self.trickle:
                conn.sendall(body)
            for i in range(len(body) if self.trickle else 0):
                if self.closed.wait(self.trickle):
                    break
                conn.sendall(body[i : i + 1])
        except OSError:
            pass
        finally:
            conn.close()

    def __enter__(self) -> RawServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.closed.set()
        self.sock.close()


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (closed again before it is returned)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


@contextlib.contextmanager
def app_server(home: Path, env: dict[str, str], *flags: str, timeout: float = 300) -> Iterator[str]:
    """app.py on a free loopback port (`env` over os.environ, `flags` after --port), its output in
    home/app.log; yields the URL once it answers. Fails the test with the log's tail when the app
    exits first, or when it does not answer in `timeout` s (start-up under a shared machine's load,
    30 on 2 cores, took > 120 s). Terminated on exit."""
    import pytest

    port = free_port()
    with open(home / "app.log", "w") as log:
        proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--port", str(port), *flags],
                                env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}/"
            deadline = time.time() + timeout
            while time.time() < deadline:
                try:
                    urllib.request.urlopen(url, timeout=2)
                    break
                except OSError:
                    assert proc.poll() is None, (home / "app.log").read_text()[-3000:]
                    time.sleep(0.5)
            else:
                pytest.fail(f"the app did not start in {timeout:.0f} s")
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=20)


class LlamaServer:
    """The real llama.cpp server (llama-cpp-python[server]) on 127.0.0.1 with the bundled SmolLM2."""

    ALIAS = "smollm2"

    def __init__(self, log_path: Path, n_ctx: int = 2048) -> None:
        import subprocess
        import sys

        from paperdojo.answering.llm import bundled_gguf

        self.port = free_port()
        self.log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(bundled_gguf()), "--model_alias",
             self.ALIAS, "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(n_ctx)],
            stdout=self.log, stderr=subprocess.STDOUT)
        if not wait_for(self.up, 120, 0.3):
            self.stop()
            raise RuntimeError(f"the llama.cpp server did not start: {log_path.read_text()[-2000:]}")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def up(self) -> bool:
        import urllib.request

        if self.proc.poll() is not None:
            raise RuntimeError("the llama.cpp server exited")
        try:
            with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as resp:
                return resp.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(10)
        self.log.close()


def make_scanned_pdf(path: Path, pages: list[list[str]]) -> Path:
    """A PDF of images only, as a scanner makes: each page's lines are drawn with Pillow into a
    200 dpi letter-size image that is the page's only content (no text layer)."""
    from PIL import Image, ImageDraw, ImageFont

    try:  # Debian's fonts-dejavu (Pillow's own default font sets words too tight for OCR)
        font = ImageFont.truetype("DejaVuSans.ttf", 30)
    except OSError:
        font = ImageFont.load_default(size=30)
    pdf = FPDF(format="letter", unit="pt")
    for lines in pages:
        image = Image.new("L", (1700, 2200), 255)
        draw = ImageDraw.Draw(image)
        for i, line in enumerate(lines):
            draw.text((150, 200 + 60 * i), line, fill=0, font=font)
        pdf.add_page()
        pdf.image(image, x=0, y=0, w=612, h=792)
    pdf.output(str(path))
    return path


# the interview question the pipeline paper of `paper_pages("pipeline stages")` answers (a bank entry)
PIPE_QUESTION = """
[[question]]
id = "pipe-memory"
text = "Why does each pipeline stage recompute its forward pass during the backward pass?"
papers = ["pipe"]
category = "Graph scheduling"
difficulty = 1
"""
