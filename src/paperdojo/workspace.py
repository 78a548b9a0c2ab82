"""A long-lived handle on one paperdojo home for apps: the loaded index, retriever and answerer.

Loads lazily and follows the index: every use checks the live generation (index/CURRENT, one
small file) and, when an ingest (this app's or a shell's) made a newer one, loads it while the old
one keeps answering, then switches in one assignment. Counts, filters and the Library are read from
the same loaded generation as the answers. Index problems become messages a person can act on.
The Gradio app (and anything else that serves many questions) goes through this.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from pathlib import Path

from paperdojo.answering.answer import Answerer
from paperdojo.answering.llm import LLMError, from_settings
from paperdojo.answering.retrieve import Retriever
from paperdojo.library import catalog, ingest, store
from paperdojo.library.embed import Embedder
from paperdojo.settings import Settings

log = logging.getLogger(__name__)


class Workspace:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.embedder = Embedder(settings)
        self._answerer: Answerer | None = None
        self._generation = ""  # the name of the loaded generation, e.g. "gen-000007"
        self._interview = None
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

        A newer generation is loaded while the loaded one keeps serving, then swapped in atomically;
        while another thread loads it, callers get the loaded one. Raises IndexProblem when there is
        no usable index at all (a newer generation that fails to load keeps the old one, logged).
        """
        live = self.live_generation()
        current = self._answerer
        if current is not None and live in ("", self._generation):
            return current
        if current is not None and not self._loading.acquire(blocking=False):
            return current  # someone else is loading the new generation
        if current is None:
            self._loading.acquire()
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
                self._answerer, self._generation, self._interview = answerer, name, None
            log.info("now serving index generation %s", name)
            return answerer
        finally:
            self._loading.release()

    def _load(self) -> tuple[Answerer, str]:
        s = self.settings
        index = store.load_index(s.index_dir)
        answerer = Answerer.from_settings(Retriever.from_settings(index, self.embedder, s), s)
        answerer.page_map()  # read its pages now: the generation's files go when a newer one is written
        return answerer, index.path.name

    def status(self) -> tuple[bool, str]:
        """Is there a usable index, and a sentence saying what it holds or what is wrong."""
        try:
            answerer = self.answerer()
        except store.IndexProblem as exc:
            return False, str(exc)
        docs = answerer.retriever.index.manifest.get("docs", {})
        indexed = sum(d.get("status") == "indexed" for d in docs.values())
        return True, f"{indexed} papers, {len(answerer.retriever.chunks)} passages indexed"

    def interview(self):  # noqa: ANN201 - (Grader, Progress, questions), built on first use
        """The grader over the live index, the user's progress store and the questions."""
        from paperdojo.study.interview import Grader, Progress, all_questions

        answerer = self.answerer()
        with self._lock:
            if self._interview is None or self._interview[0].answerer is not answerer:
                self._interview = (Grader(answerer), Progress(self.settings.progress_db))
            grader, progress = self._interview
        return grader, progress, all_questions(self.settings.questions_file, grader.answerer)

    def warm_up(self) -> tuple[bool, str]:
        """Load the index and run one query, so the first user does not wait for torch.

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
        return ok, message

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

    def papers(self) -> list[ingest.DocStatus]:
        """Every catalog paper with its status in the loaded generation (missing when never ingested)."""
        manifest = {}
        with contextlib.suppress(store.IndexProblem):
            manifest = self.answerer().retriever.index.manifest
        docs = manifest.get("docs", {})
        out = []
        for paper in catalog.load_catalog(self.settings):
            if paper.id in docs:
                out.append(ingest.DocStatus(**docs[paper.id]))
            else:
                out.append(ingest.paper_status(paper, "missing", "not ingested yet: run `paperdojo ingest`"))
        return out

    def run_ingest(self, pdf_dirs: list[Path] | None = None, only: list[str] | None = None,
                   progress: ingest.Progress | None = None) -> ingest.IngestReport:
        if not self.ingest_lock.acquire(blocking=False):
            raise store.IndexBusy("an ingest is already running; wait for it to finish")
        try:
            report = ingest.ingest(self.settings, pdf_dirs or [], only, progress=progress,
                                   embedder=self.embedder)
        finally:
            self.ingest_lock.release()
        self.answerer()  # switch to the generation the ingest wrote before the caller reads counts
        return report

    def pdf_path(self, doc_id: str) -> Path | None:
        """The cached PDF of a paper, only ever inside the ingest cache."""
        path = (self.settings.pdf_dir / f"{doc_id}.pdf").resolve()
        if path.parent != self.settings.pdf_dir.resolve() or not path.exists():
            return None
        return path
