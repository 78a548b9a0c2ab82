"""A handle on one paperdojo home for every front end: the loaded index, retriever, answerer and grader.

Loads lazily and follows the index: every use checks the live generation (index/CURRENT, one
small file) and, when an ingest (this app's or a shell's) made a newer one, loads it while the old
one keeps answering, then switches in one assignment. Counts, filters and the Library are read from
the same loaded generation as the answers. Index problems become messages a person can act on.
The Gradio app, the MCP server and the `paperdojo` command all go through this: none of them
builds a store, retriever, embedder, answerer or grader itself (tests/test_layout.py checks).
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from paperdojo.answering.answer import Answer, Answerer, Conversation
from paperdojo.answering.llm import LLMError, from_settings
from paperdojo.answering.retrieve import Filters, Retriever, SectionHit, find_sections, merge_chunks
from paperdojo.answering.sentence_vectors import SentenceVectors
from paperdojo.library import catalog, ingest, store
from paperdojo.library.embed import Embedder
from paperdojo.records import Chunk, ParsedDoc
from paperdojo.settings import Settings
from paperdojo.util import counted

if TYPE_CHECKING:  # bibliography and watch are imported on use: the CLI's `progress` needs neither
    from paperdojo.library import bibliography, watch
    from paperdojo.study.accounts import Accounts
    from paperdojo.study.interview import Grader
    from paperdojo.study.progress import Progress, ProgressStore

log = logging.getLogger(__name__)


class NotFound(ValueError, LookupError):
    """A paper, page or passage the live index does not hold; the message says what exists."""


READ_ONLY = ("this server serves the index read-only (app_read_only): update it with `paperdojo ingest` or "
             "`paperdojo add` on the machine that holds the home; the app switches to the new index itself")


@dataclass(frozen=True)
class LibraryView:
    """What a reader shows about the library, read from one index generation: its name ("" without
    an index), whether it is usable with the header's sentence (what it holds, or what is wrong),
    every catalog paper with its status in it, and the answerer over it. A page builds its header,
    filters, Library counts and table from one view, so they never mix two generations."""

    generation: str
    ok: bool
    message: str
    papers: tuple[ingest.DocStatus, ...]
    answerer: Answerer | None = field(default=None, repr=False, compare=False)  # None without an index

    @property
    def indexed(self) -> list[ingest.DocStatus]:
        """The papers the generation holds, in catalog order."""
        return [d for d in self.papers if d.status == "indexed"]


class Workspace:
    """One home's index, progress store and accounts, shared by the app's sessions (thread-safe)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.embedder = Embedder(settings)
        self.sentences = SentenceVectors(self.embedder)  # kept across generations (same model)
        self._warm: threading.Event | None = None  # set: stop filling sentence vectors
        self._answerer: Answerer | None = None
        self._generation = ""  # the name of the loaded generation, e.g. "gen-000007"
        self._live_status = ("", "")  # (generation, header sentence) of `live_status`
        self._interview: Grader | None = None  # over the loaded generation, built on first use
        self._progress_store: ProgressStore | None = None  # opened on first use
        self._progress: dict[str, Progress] = {}  # user name -> Progress (one session per user and process)
        self._accounts: Accounts | None = None
        # the documents of one generation (its answerer, its documents, each read on use)
        self._docs: tuple[Answerer, Mapping[str, dict]] | None = None
        self._lock = threading.Lock()  # guards the swap of the loaded generation
        self._loading = threading.Lock()  # one loader at a time; the others keep the old generation
        self.ingest_lock = threading.Lock()

    def live_generation(self) -> str:
        """The name of the generation index/CURRENT points to now ("" when there is no index)."""
        gen = store.current_generation(self.settings.index_dir)
        return gen.name if gen else ""

    @property
    def generation(self) -> str:
        """The name of the loaded generation (what answers, counts, filters and Library come from)."""
        return self._generation

    def answerer(self) -> Answerer:
        """The answerer over the newest complete index generation.

        A newer generation is loaded, then swapped in atomically (answers already running finish on
        the one they started with). A caller that finds another thread loading it waits for that
        load (at most `generation_wait_s`, then it gets the loaded one): were it served the old
        generation, one browser session's answer and its header, filters and Library, asked for
        together on a page load after a shell's `paperdojo add`, would come from two generations.
        Raises IndexProblem when there is no usable index at all (a newer generation that fails to
        load keeps the old one, logged).
        """
        live = self.live_generation()
        current = self._answerer
        if current is not None and live in ("", self._generation):
            return current
        if current is None:
            self._loading.acquire()
        elif not self._loading.acquire(timeout=self.settings.generation_wait_s):
            log.warning("index generation %s is still loading after %.0f s; answering from %s", live,
                        self.settings.generation_wait_s, self._generation)
            return current
        try:
            if self._answerer is not None and self.live_generation() == self._generation:
                return self._answerer  # loaded by the thread we waited for
            try:
                answerer, name = self._load()
            except store.IndexProblem:
                if self._answerer is None:
                    raise
                log.exception("the new index generation could not be loaded; keeping %s", self._generation)
                return self._answerer
            with self._lock:
                before = self._generation
                self._answerer, self._generation, self._interview = answerer, name, None
                self._docs = None
            # a switch is news; the first load is not (servers log what they serve; one command is quiet)
            log.log(logging.INFO if before else logging.DEBUG, "now serving index generation %s%s", name,
                    f" (was {before})" if before else "")
        finally:
            self._loading.release()
        if self._warm is not None:  # after the release: callers waiting for the switch need not wait for this
            self._fill_sentences(answerer)
        return answerer

    def _load(self) -> tuple[Answerer, str]:
        s = self.settings
        index = store.load_index(s.index_dir)
        retriever = Retriever.from_settings(index, self.embedder, s)
        if self.sentences.inner is not retriever.embedder:  # an index built through another backend:
            self.sentences = SentenceVectors(retriever.embedder)  # its sentences are embedded alike
        answerer = Answerer.from_settings(retriever, s, sentences=self.sentences)
        # the index's files stay open (SQLite, memory maps), so they are read on demand even after a
        # newer generation replaced them
        return answerer, index.path.name

    def served(self) -> tuple[Answerer, str]:
        """The answerer over the newest generation and that generation's name, taken together (a
        switch between reading the two cannot pair one generation's answerer with another's name).
        Raises IndexProblem without a usable index."""
        self.answerer()
        with self._lock:
            if self._answerer is None:  # pragma: no cover - answerer() raised or set it
                raise store.IndexProblem("no index loaded")
            return self._answerer, self._generation

    def view(self) -> LibraryView:
        """The library as the newest generation has it (see LibraryView), read from one answerer."""
        try:
            answerer, generation = self.served()
        except store.IndexProblem as exc:
            return LibraryView("", False, str(exc), tuple(self._statuses({})))
        docs = answerer.retriever.index.manifest.get("docs", {})
        indexed = sum(d.get("status") == "indexed" for d in docs.values())
        chunks = len(answerer.retriever.chunks)
        message = f"{counted(indexed, 'paper')}, {counted(chunks, 'passage')} indexed"
        return LibraryView(generation, True, message, tuple(self._statuses(docs)), answerer)

    def live_status(self) -> str:
        """The header's sentence for the generation index/CURRENT points to now, read from its manifest
        alone ("2 papers, 10 passages indexed"): what a page shows the moment it loads, while `view`
        may still be loading a generation a shell's `paperdojo add` just wrote (3 s for two small
        papers, more for a large library; the page showed the app's start-up counts meanwhile).
        Remembered per generation; without a usable index, `view`'s sentence (what is wrong)."""
        gen = store.current_generation(self.settings.index_dir)
        if gen is not None and self._live_status[0] == gen.name:
            return self._live_status[1]
        try:
            manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8")) if gen else None
        except (OSError, ValueError):
            manifest = None
        if manifest is None or "n_chunks" not in manifest or gen is None:
            return self.view().message
        indexed = sum(d.get("status") == "indexed" for d in manifest.get("docs", {}).values())
        message = f"{counted(indexed, 'paper')}, {counted(int(manifest['n_chunks']), 'passage')} indexed"
        self._live_status = (gen.name, message)
        return message

    def status(self) -> tuple[bool, str]:
        """Is there a usable index, and a sentence saying what it holds or what is wrong."""
        view = self.view()
        return view.ok, view.message

    def grader(self, extractive: bool = False) -> Grader:
        """The interview grader over the live index (study.interview.Grader), kept while the
        generation stays; with `extractive`, a new one over `extractive_answerer()` (no language
        model: what `paperdojo eval --grading` measures). Raises IndexProblem without an index."""
        from paperdojo.study.interview import Grader

        if extractive:
            return Grader(self.extractive_answerer())
        answerer = self.answerer()
        with self._lock:
            if self._interview is None or self._interview.answerer is not answerer:
                self._interview = Grader(answerer)
            return self._interview

    def interview(self, user: str | None = None):  # noqa: ANN201 - (Grader, Progress, questions)
        """The grader over the live index, `user`'s progress (default settings.user) and the questions.

        Raises IndexProblem without an index, ProgressError when the progress store cannot be reached."""
        from paperdojo.study.interview import all_questions

        grader = self.grader()
        return grader, self.progress(user), all_questions(self.settings.questions_file, grader.answerer)

    def progress(self, user: str | None = None) -> Progress:
        """`user`'s progress (default settings.user) in the one progress store of this process
        (SQLite in the home, or PostgreSQL when settings.progress_url is set)."""
        from paperdojo.study.progress import ProgressStore

        name = user or self.settings.user
        with self._lock:
            if self._progress_store is None:
                self._progress_store = ProgressStore.from_settings(self.settings)
            if name not in self._progress:
                self._progress[name] = self._progress_store.for_user(name)
            return self._progress[name]

    @property
    def accounts(self) -> Accounts:
        """The users file of this home (re-read when it changes)."""
        from paperdojo.study.accounts import Accounts

        if self._accounts is None:
            self._accounts = Accounts(self.settings.users_file)
        return self._accounts

    def login(self, user: str, password: str) -> bool:
        """True when `user` is an account with this password (never writes: apps serve read-only)."""
        return self.accounts.verify(user, password)

    def user_for(self, login: str | None, multi_user: bool) -> str:
        """Whose progress a request reads and writes: the logged-in account when the app requires a
        login (`multi_user`), else LOCAL_USER. AccountError for a login whose account was removed."""
        from paperdojo.study.accounts import LOCAL_USER, AccountError

        if not multi_user:
            return LOCAL_USER
        if not login or login not in self.accounts:
            raise AccountError(f"the account {login!r} no longer exists: ask for a new one and log in again")
        return login

    def warm_up(self, sentences: bool = True) -> tuple[bool, str]:
        """Load the index and run one query, so the first user does not wait for torch; with
        `sentences`, a background thread then embeds every quotable sentence (answering.
        sentence_vectors), again after each switch to a newer generation, so answers only embed the
        question. For long-lived processes (the app, the MCP server).

        The language model (if any) is checked too, so a wrong URL or model name shows at start-up.
        """
        ok, message = self.status()
        if ok:
            answerer = self.answerer()
            llm, answerer.llm = answerer.llm, None  # the warm-up query needs no model
            try:
                answerer.answer("warm up: how does pipeline parallelism work?")
            finally:
                answerer.llm = llm
            if sentences and self._warm is None:
                self._warm = threading.Event()
                self._fill_sentences(answerer)
        return ok, message

    def _fill_sentences(self, answerer: Answerer) -> None:
        """Embed `answerer`'s quotable sentences in a daemon thread (stopped by `stop_warming`)."""
        stop = self._warm
        # 8 at a time stays in this process (one thread), resting as long as it worked: the first
        # questions asked right after start-up keep the CPU
        threading.Thread(target=self.sentences.warm, args=(answerer.quotable_sentences(), stop, 8, 1.0),
                         name="paperdojo-sentence-vectors", daemon=True).start()

    def stop_warming(self) -> None:
        """Stop filling sentence vectors (the ones held stay)."""
        if self._warm is not None:
            self._warm.set()

    def answer_mode(self) -> str:
        """A line for the UI: who writes the answers, and whether that works right now."""
        llm = from_settings(self.settings)
        if llm is None:
            return "Answers: extractive: sentences quoted from the papers (no language model configured)"
        try:
            found = llm.check()
        except LLMError as exc:
            return f"Answers: extractive: the language model {llm.label} is not usable: {exc}"
        return (f"Answers: written by {llm.label} ({found}) from the cited passages; citations are "
                "checked, and the extractive answer stands in when the model fails")

    def reload(self) -> None:
        """Switch to the newest index generation now (answerer() also does on its own); without
        any usable index there is nothing to switch to, and the next answerer() call says why."""
        with contextlib.suppress(store.IndexProblem):
            self.answerer()

    def citation_records(self, ids: list[str] | None = None) -> list[bibliography.Record]:
        """Citation records of the library's papers (or of `ids`, in that order; NotFound for an
        unknown id), completed from the indexed first pages when there is an index."""
        from paperdojo.library import bibliography

        papers = {p.id: p for p in catalog.load_catalog(self.settings)}
        unknown = [i for i in ids or [] if i not in papers]
        if unknown:
            raise NotFound(f"no paper {', '.join(unknown)} in the library; `paperdojo papers` lists them")
        texts: Mapping[str, dict] = {}
        docs: Mapping[str, dict] = {}
        with contextlib.suppress(store.IndexProblem):
            index = self.served()[0].retriever.index  # texts and statuses of one generation
            texts, docs = index.doc_texts(), index.manifest.get("docs", {})
        statuses = {d.id: d for d in self._statuses(docs)}
        stored = bibliography.load_metadata(self.settings)
        out = []
        for pid in ids or list(papers):
            doc, status = texts.get(pid), statuses.get(pid)
            first = ParsedDoc.from_json(doc).page_text(1) if doc and doc.get("pages") else ""
            if status and status.file.endswith(".pdf") and not bibliography.identifiers_in(first)[0]:
                first += "\n" + bibliography.first_page_text(Path(status.file))  # the margin's arXiv stamp
            out.append(bibliography.record_for(papers[pid], status.title if status else "", first,
                                               stored.get(pid)))
        return out

    # ----------------------------------------------------------------- reading the live index
    def ask(self, question: str, filters: Filters | None = None, k: int | None = None) -> Answer:
        """The cited answer (EmptyQuery for a blank question, IndexProblem without an index)."""
        return self.answerer().answer(question, filters, k)

    def stream(self, question: str, filters: Filters | None = None, k: int | None = None,
               conversation: Conversation | None = None) -> Iterator[str | Answer]:
        """The answer as it is written: a language model's text pieces, then the checked Answer
        (Answerer.stream; extractive: the Answer alone). `k`: passages to draw on (default 5);
        `conversation`: the chat a follow-up belongs to. EmptyQuery, IndexProblem as `ask`."""
        return self.answerer().stream(question, filters, k, conversation)

    def extractive_answerer(self) -> Answerer:
        """A new answerer over the loaded passages that only quotes sentences (no language model,
        whatever the settings say), sharing the sentence vectors: the "extractive, same passages"
        column of `paperdojo eval` and the grader it measures. IndexProblem without an index."""
        s = self.settings
        return Answerer(self.answerer().retriever, s.min_similarity, min_support=s.min_support,
                        sentences=self.sentences, min_similarity_held=s.min_similarity_held)

    def query_embedder(self) -> Embedder:
        """The embedder that searches the loaded index: the settings' model through the backend the
        index was built with (Embedder.matching). IndexProblem without an index."""
        return self.answerer().retriever.embedder

    def manifest(self) -> dict:
        """The newest generation's manifest ({"docs": {paper id: status record}, ...},
        library.store): the served one when this workspace has loaded an index (the same generation
        as its answers), else read from its small file without loading the index; {} when there is
        no readable index."""
        if self._answerer is not None:
            with contextlib.suppress(store.IndexProblem):
                return self.served()[0].retriever.index.manifest
        try:
            return store.read_manifest(self.settings.index_dir) or {}
        except store.IndexProblem:
            return {}

    def close(self) -> None:
        """Stop filling sentence vectors and the embedder's worker processes (they start again on use)."""
        self.stop_warming()
        self.embedder.close()

    def search_sections(self, topic: str, k: int = 8, filters: Filters | None = None) -> list[SectionHit]:
        """The sections that discuss `topic`, best first (see retrieve.find_sections)."""
        return find_sections(self.answerer().retriever, topic, k, filters)

    def indexed_ids(self) -> list[str]:
        """The ids of the papers the live index holds, in index order."""
        return _indexed(self.answerer())

    def check_paper(self, doc_id: str, answerer: Answerer | None = None) -> str:
        """`doc_id` when the live index (or `answerer`'s) holds it, else NotFound naming the ids
        that exist."""
        ids = _indexed(answerer or self.answerer())
        if doc_id not in ids:
            shown = ", ".join(ids[:40]) + (" ..." if len(ids) > 40 else "")
            raise NotFound(f"no indexed paper {doc_id!r}; the index holds: {shown or 'nothing'}")
        return doc_id

    def check_filters(self, filters: Filters | None) -> None:
        """NotFound naming what exists when `filters` name a paper the live index does not hold or
        a category none of its papers is in (categories match in any case, as the retriever does):
        a typo is said as one, not answered "the papers do not cover this"."""
        if not filters:
            return
        answerer = self.answerer()
        for doc_id in sorted(filters.papers):
            self.check_paper(doc_id, answerer)
        held = sorted({c for c in answerer.retriever.category.values() if c})
        unknown = sorted(c for c in filters.categories if c.lower() not in {h.lower() for h in held})
        if unknown:
            raise NotFound(f"no indexed paper is in {', '.join(map(repr, unknown))}; the library's "
                           f"categories: {', '.join(held) or 'none'} (change one with `paperdojo papers "
                           "--set-category ID NAME`)")

    def parsed(self, doc_id: str) -> ParsedDoc:
        """A paper's cleaned text with its pages and sections (NotFound for an unknown id)."""
        answerer = self.answerer()
        self.check_paper(doc_id, answerer)
        with self._lock:  # the texts of the generation that said the paper is there
            if self._docs is None or self._docs[0] is not answerer:
                self._docs = (answerer, answerer.retriever.index.doc_texts())
            data = self._docs[1].get(doc_id)
        if data is None:
            raise NotFound(f"the index has no text for {doc_id!r}; rebuild it with `paperdojo ingest`")
        return ParsedDoc.from_json(data)

    def page_text(self, doc_id: str, page: int) -> str:
        """The text of page `page` (1-based, as a PDF viewer counts) of a paper."""
        doc = self.parsed(doc_id)
        if not 1 <= page <= len(doc.pages):
            raise NotFound(f"{doc_id} has pages 1 to {len(doc.pages)}, not {page}")
        return doc.page_text(page)

    def chunk(self, chunk_id: str) -> Chunk:
        """The passage with this id (`doc:char_start-char_end`, as sources and hits carry it)."""
        chunks = self.answerer().retriever.chunks
        doc_id, _, span = chunk_id.rpartition(":")
        start, _, end = span.partition("-")
        if doc_id and start.isdigit() and end.isdigit():
            inside = chunks.within(doc_id, int(start), int(end))
            exact = [c for c in inside if (c.char_start, c.char_end) == (int(start), int(end))]
            if exact:
                return exact[0]
            # a source that joined neighbouring chunks: doc:first_start-last_end
            if inside and (inside[0].char_start, max(c.char_end for c in inside)) == (int(start), int(end)):
                return merge_chunks(inside)
        raise NotFound(f"no passage {chunk_id!r}: passage ids look like 'gpipe:10470-12165' and come "
                       "from the sources of an answer or a search")

    def papers(self) -> list[ingest.DocStatus]:
        """Every catalog paper with its status in the newest generation (missing when never ingested)."""
        return list(self.view().papers)

    def _statuses(self, docs: Mapping[str, dict]) -> list[ingest.DocStatus]:
        """Every catalog paper with its status in a generation's manifest `docs`."""
        out = []
        for paper in catalog.load_catalog(self.settings):
            if paper.id in docs:
                status = ingest.DocStatus(**docs[paper.id])
                status.reason = ingest.in_this_home(status.reason, self.settings.pdf_dir)
                out.append(status)
            else:
                out.append(ingest.paper_status(paper, "missing", "not ingested yet: run `paperdojo ingest`"))
        return out

    def run_ingest(self, pdf_dirs: list[Path] | None = None, only: list[str] | None = None,
                   progress: ingest.Progress | None = None, forget_missing: bool = False,
                   switch: bool = True) -> ingest.IngestReport:
        """Ingest with this workspace's embedder (see library.ingest.ingest) and switch to the new
        generation (`switch=False`: load nothing, for a process that only keeps the index up to date,
        like `paperdojo watch`); IndexBusy while another ingest of this workspace or another process
        runs, or when the app serves read-only."""
        self.check_writable()
        with self._ingesting():
            report = ingest.ingest(self.settings, pdf_dirs or [], only, progress=progress,
                                   embedder=self.embedder, forget_missing=forget_missing)
        if switch:
            self.answerer()  # switch to the generation the ingest wrote before the caller reads counts
        return report

    def retry(self, paper_id: str, progress: ingest.Progress | None = None) -> ingest.DocStatus:
        """Fetch, parse and index one catalog paper again (the others keep their parts), e.g. after
        the network came back or its PDF was dropped into the home's PDF folder; its new status.
        Raises catalog.CatalogError for an unknown id, IndexBusy while another ingest runs."""
        if catalog.find(catalog.load_catalog(self.settings), paper_id) is None:
            raise catalog.CatalogError(f"no paper {paper_id!r} in the library; `paperdojo papers` lists them")
        self.run_ingest(self.settings.app_pdf_dirs, only=[paper_id], progress=progress)
        return next(d for d in self.papers() if d.id == paper_id)

    def set_category(self, paper_id: str, category: str) -> catalog.Paper:
        """Put a paper in `category`: the catalog keeps the choice (catalog.set_category) and the live
        generation is relabelled (store.relabel: only its manifest changes, nothing is fetched,
        parsed or embedded), then loaded, so filters, the Library, interview topics and mastery
        follow at once (milliseconds; a full re-index retried every failed download, ~11 s offline).
        Raises catalog.CatalogError for an unknown id or an empty name, IndexBusy while an ingest
        of this workspace or another process runs or on a read-only server (nothing written then)."""
        self.check_writable()
        with self._ingesting(), store.writer_lock(self.settings.index_dir):  # IndexBusy: another process
            paper = catalog.set_category(self.settings, paper_id, category)
            relabelled = store.relabel(self.settings.index_dir, paper.id, paper.category)
        if relabelled is not None:
            self.answerer()  # switch to the relabelled generation before the caller reads the Library
        return paper

    def remove(self, paper_id: str, progress: ingest.Progress | None = None) -> catalog.Paper:
        """Remove a paper the user added (ingest.remove: catalog entry, cached PDF and pages) and
        re-index without it, so the Library, filters and answers follow; the removed paper. Raises
        catalog.CatalogError for an unknown id or a reading-list paper, IndexBusy while another
        ingest runs or on a read-only server (nothing removed then)."""
        self.check_writable()
        if self.ingest_lock.locked():
            raise store.IndexBusy("an ingest is already running; wait for it to finish")
        paper = ingest.remove(self.settings, paper_id)
        self.run_ingest(progress=progress)
        return paper

    def example_questions(self, n: int = 5) -> list[str]:
        """Up to `n` example questions about indexed papers (study.interview.starter_questions);
        [] before anything is indexed."""
        from paperdojo.study.interview import load_bank, starter_questions

        indexed = {d.id: d.title for d in self.papers() if d.status == "indexed"}
        return starter_questions(load_bank(self.settings.questions_file), indexed, n)

    def folders(self) -> list[watch.FolderStatus]:
        """The watched folders with each PDF's status and the coverage (N of M files indexed)."""
        from paperdojo.library import watch

        return watch.folder_status(self.settings, watch.watched_folders(self.settings))

    def start_watching(self, folders: list[Path]) -> threading.Event:
        """Keep the library in step with `folders` in a background thread (library.watch); each
        sync goes through run_ingest, so answers switch to the new generation. Set the returned
        event to stop. IndexBusy when the app serves read-only."""
        from paperdojo.library import watch

        self.check_writable()
        folders = watch.remember(self.settings, folders)
        stop = threading.Event()

        def run_sync() -> None:
            report = self.run_ingest(folders, forget_missing=True)
            done = f"wrote {report.generation}" if report.wrote_index else "no change"
            log.info("watched folders synced: %d indexed, %d failed; %s", report.count("indexed"),
                     report.count("failed"), done)

        thread = threading.Thread(target=watch.watch, args=(folders, run_sync, stop), daemon=True,
                                  name="paperdojo-watch")
        thread.start()
        return stop

    def add(self, spec: str, category: str | None = None,
            progress: ingest.Progress | None = None, local_files: bool = True) -> ingest.Added:
        """Add a paper (arXiv id, DOI, URL or a PDF file) and index it; the same document already
        in the library is recognized (ingest.add). `local_files=False`: links only (what a web
        client types names no file of this machine; ValueError). Raises IndexBusy while another
        ingest runs or when the app serves read-only."""
        self.check_writable()
        with self._ingesting():
            added = ingest.add(self.settings, spec, category, progress=progress, embedder=self.embedder,
                               local_files=local_files)
        self.reload()
        return added

    @property
    def read_only(self) -> bool:
        """True when this process must not write to the home's index (settings.app_read_only)."""
        return self.settings.app_read_only

    @contextlib.contextmanager
    def _ingesting(self) -> Iterator[None]:
        """Hold this workspace's ingest lock for a write to its index (an ingest, an add, a category
        change); IndexBusy at once when another holds it."""
        if not self.ingest_lock.acquire(blocking=False):
            raise store.IndexBusy("an ingest is already running; wait for it to finish")
        try:
            yield
        finally:
            self.ingest_lock.release()

    def check_writable(self) -> None:
        """IndexBusy saying how to update the index when this process serves it read-only."""
        if self.read_only:
            raise store.IndexBusy(READ_ONLY)

    def pdf_path(self, doc_id: str) -> Path | None:
        """The cached PDF of a paper, only ever inside the ingest cache."""
        path = (self.settings.pdf_dir / f"{doc_id}.pdf").resolve()
        if path.parent != self.settings.pdf_dir.resolve() or not path.exists():
            return None
        return path


def _indexed(answerer: Answerer) -> list[str]:
    """The ids of the papers `answerer`'s generation holds, in index order."""
    docs = answerer.retriever.index.manifest.get("docs", {})
    return [d for d, m in docs.items() if m.get("status") == "indexed"]
