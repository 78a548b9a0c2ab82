"""`paperdojo doctor`: check each configured part (index, embedder, reranker, language model) for real.

Each check does the actual thing (loads the index, embeds a sentence, asks the model for a word)
and says what works and what to do about what does not.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from paperdojo.answering.llm import LLM, LLMError, bundled_gguf
from paperdojo.library import store
from paperdojo.settings import Settings, config_file


@dataclass
class Check:
    """One check's verdict: True passed, False failed, None not configured (nothing to check);
    `detail` says what was found or what is wrong."""
    name: str
    ok: bool | None  # None: not configured, nothing to check
    detail: str


def _timed(started: float) -> str:
    return f"{(time.perf_counter() - started) * 1000:.0f} ms"


def check_settings(settings: Settings) -> Check:
    """Where the home is and whether a settings file was read (always passes)."""
    path = config_file(settings.home)
    source = f"settings file {path}" if path.exists() else f"no settings file ({path}); env and defaults"
    return Check("settings", True, f"home {settings.home}; {source}")


def check_index(settings: Settings) -> Check:
    """Loads the current index generation with every file hashed; fails with the
    IndexProblem's message, passes with its papers, passages, index kind and embedding model."""
    try:
        index = store.load_index(settings.index_dir, full_check=True)  # every file hashed
    except store.IndexProblem as exc:
        return Check("index", False, str(exc))
    docs = index.manifest.get("docs", {})
    indexed = sum(d.get("status") == "indexed" for d in docs.values())
    kind, model = index.manifest.get("index_type", "flat"), index.manifest.get("model", "?")
    return Check("index", True, f"{indexed} papers, {len(index.chunks)} passages, {kind} index of vectors "
                                f"by {model} ({settings.index_dir})")


def check_embedder(settings: Settings) -> Check:
    """Loads the embedding model and embeds one query; fails with the loading error,
    passes with the vector size and the time taken."""
    from paperdojo.library.embed import Embedder

    started = time.perf_counter()
    embedder = Embedder(settings)
    try:
        vec = embedder.encode(["how does pipeline parallelism work?"])
    except Exception as exc:  # noqa: BLE001 - any loading failure is the finding
        return Check("embedder", False, f"{settings.embed_model}: {exc}")
    return Check("embedder", True, f"{embedder.model_id}: {vec.shape[1]} dims, loaded and ran in "
                                   f"{_timed(started)}")


def check_reranker(settings: Settings) -> Check:
    """Loads the configured cross-encoder (not configured: None)."""
    if not settings.reranker:
        return Check("reranker", None, "none configured (settings.reranker)")
    from paperdojo.answering.retrieve import Reranker

    reranker = Reranker(settings.reranker)
    if not reranker.available():
        return Check("reranker", False, f"{settings.reranker}: {reranker.error}")
    return Check("reranker", True, f"{settings.reranker} loaded")


def check_llm(settings: Settings) -> Check:
    """Asks the configured language model for one word, streamed: passes with the time to the
    first words and in all; fails with the LLMError (extractive provider: None)."""
    if settings.llm_provider == "extractive":
        return Check("language model", None, "none: answers are extractive (set llm_provider to openai, "
                                             "ollama or llamacpp for written answers)")
    llm = LLM(settings)
    started = time.perf_counter()
    try:
        found = llm.check()
        first, pieces = None, []
        for piece in llm.stream([{"role": "user", "content": "Reply with the single word: ready"}]):
            first = first or _timed(started)
            pieces.append(piece)
    except LLMError as exc:
        return Check("language model", False, f"{llm.label}: {exc}")
    said = "".join(pieces).strip().replace("\n", " ")[:60]
    return Check("language model", True, f"{llm.label}: {found}; first words after {first}, all in "
                                         f"{_timed(started)}: {said!r}")


def check_ocr(settings: Settings) -> Check:
    """OCR of scanned pages: reads a word drawn with Pillow, as a scanned page would give it."""
    if not settings.ocr:
        return Check("OCR", None, "off (settings.ocr, PAPERDOJO_OCR=0): scanned pages are skipped")
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    from paperdojo.library.parse import ocr

    font: ImageFont.FreeTypeFont | ImageFont.ImageFont
    try:
        font = ImageFont.truetype("DejaVuSans.ttf", 40)
    except OSError:
        font = ImageFont.load_default(size=40)
    image = Image.new("L", (640, 120), 255)
    ImageDraw.Draw(image).text((30, 30), "paperdojo reads scans", fill=0, font=font)
    started = time.perf_counter()
    try:
        found = " ".join(text for text, _ in ocr.read_lines(np.stack([np.asarray(image)] * 3, axis=-1)))
    except Exception as exc:  # noqa: BLE001 - any loading failure is the finding
        return Check("OCR", False, f"rapidocr-onnxruntime: {exc}")
    return Check("OCR", "scans" in found, f"rapidocr-onnxruntime read {found!r} in {_timed(started)}")


def check_local_llm() -> Check:
    """Whether llama-cpp-python is installed (None when not) and the bundled GGUF file
    is there (False when not)."""
    if importlib.util.find_spec("llama_cpp") is None:
        return Check("local model", None, "llama-cpp-python not installed "
                                          "(pip install 'paperdojo[local-llm]')")
    try:
        return Check("local model", True, f"llama-cpp-python installed; bundled model {bundled_gguf()}")
    except LLMError as exc:
        return Check("local model", False, str(exc))


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def check_mcp() -> Check:
    """The MCP SDK (2.x) is there and a server answers its own client (in process)."""
    try:
        import anyio
        from mcp import Client
        from mcp.server.mcpserver import MCPServer
    except ImportError as exc:
        return Check("MCP server", False, f"the MCP SDK (mcp >= 2) is not usable: {exc}; "
                                          "reinstall with scripts/setup.sh")
    server = MCPServer("doctor")
    server.add_tool(lambda: "pong", name="ping")

    async def round_trip() -> list[str]:
        async with Client(server) as client:
            return [t.name for t in (await client.list_tools()).tools]

    try:
        tools = anyio.run(round_trip)
    except Exception as exc:  # noqa: BLE001 - any SDK failure is the finding
        return Check("MCP server", False, f"mcp {_version('mcp')}: a test server did not answer: {exc!r}")
    return Check("MCP server", tools == ["ping"], f"mcp {_version('mcp')}: a test server answered its "
                 "client; `paperdojo mcp` serves stdio, `--http PORT` serves http://127.0.0.1:PORT/mcp")


def check_anki(settings: Settings) -> Check:
    """genanki writes a deck that opens as Anki's zip + SQLite (checked by reading it back);
    the detail also says how many answers drive `export anki --weak`."""
    import sqlite3
    import tempfile
    import zipfile

    try:
        import genanki
    except ImportError as exc:
        return Check("Anki export", False, f"genanki is not installed: {exc}")
    model = genanki.Model(1, "doctor", fields=[{"name": "Q"}], templates=[{"name": "c", "qfmt": "{{Q}}",
                                                                          "afmt": "{{Q}}"}])
    deck = genanki.Deck(2, "doctor")
    deck.add_note(genanki.Note(model=model, fields=["ok"]))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "doctor.apkg"
        try:
            genanki.Package(deck).write_to_file(str(path))
            with zipfile.ZipFile(path) as z:
                (Path(tmp) / "c.anki2").write_bytes(z.read("collection.anki2"))
            db = sqlite3.connect(Path(tmp) / "c.anki2")
            notes = db.execute("SELECT count(*) FROM notes").fetchone()[0]
            db.close()
        except (OSError, zipfile.BadZipFile, sqlite3.Error, KeyError) as exc:
            return Check("Anki export", False, f"genanki {_version('genanki')} wrote no readable deck: {exc}")
    graded = 0
    if settings.progress_url or settings.progress_db.exists():
        from paperdojo.study.progress import Progress

        with contextlib.suppress(ValueError):  # an unreachable store: check_progress says why
            graded = Progress.open(settings).graded_count()
    weak = (f"--weak draws on your {graded} graded answers" if graded
            else "--weak needs graded answers (none yet: `paperdojo interview`)")
    return Check("Anki export", notes == 1, f"genanki {_version('genanki')}: a test deck written and read "
                 f"back; {weak}; bibtexparser {_version('bibtexparser')} for BibTeX")


def check_zotero() -> Check:
    """pyzotero is there; is Zotero's local API answering, or a data folder in the usual place?"""
    import httpx

    if importlib.util.find_spec("pyzotero") is None:
        return Check("Zotero import", False, "pyzotero is not installed (reinstall with scripts/setup.sh)")
    found = [str(p) for p in (Path.home() / "Zotero", Path.home() / "zotero")
             if (p / "zotero.sqlite").is_file()]
    folder = f"data folder {found[0]} (--data-dir)" if found else "no data folder at ~/Zotero"
    try:
        reply = httpx.get("http://localhost:23119/connector/ping", timeout=1.0)
        running = reply.status_code == 200
    except httpx.HTTPError:
        running = False
    api = ("Zotero is running: --local can use its local API" if running else
           "Zotero's local API is not answering on localhost:23119 (start Zotero 7 and allow other "
           "applications to communicate with it, for --local)")
    return Check("Zotero import", True if (running or found) else None,
                 f"pyzotero {_version('pyzotero')}; {folder}; {api}")


def check_progress(settings: Settings) -> Check:
    """The progress store answers (SQLite or PostgreSQL), and who has an account."""
    from paperdojo.study.accounts import Accounts
    from paperdojo.study.progress import ProgressStore

    if not settings.progress_url and not settings.progress_db.exists():  # do not create it here
        return Check("Progress and accounts", True, f"no progress yet (SQLite at {settings.progress_db} "
                     f"once you answer); {len(Accounts(settings.users_file).list())} accounts")
    try:
        store = ProgressStore.from_settings(settings)
        users = store.users()
        store.close()
        accounts = [a.name for a in Accounts(settings.users_file).list()]
    except ValueError as exc:
        return Check("Progress and accounts", False, str(exc))
    who = (f"{len(accounts)} accounts: the app asks for a login" if accounts
           else "no accounts: single user ('local'); `paperdojo users add NAME` adds one")
    return Check("Progress and accounts", True, f"{store.kind} at {store.where}, progress of {len(users)} "
                 f"users; {who}")


def run(settings: Settings) -> Iterator[Check]:
    """Every check in order, each run when the caller asks for it (the slow ones load models)."""
    yield check_settings(settings)
    yield check_index(settings)
    yield check_embedder(settings)
    yield check_reranker(settings)
    yield check_llm(settings)
    yield check_ocr(settings)
    yield check_local_llm()
    yield check_mcp()
    yield check_anki(settings)
    yield check_progress(settings)
    yield check_zotero()
