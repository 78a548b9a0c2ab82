"""A long-lived handle on one paperdojo home for apps: the loaded index, retriever and answerer.

Loads lazily, reloads after an ingest, and turns index problems into messages a person can act
on. The Gradio app (and anything else that serves many questions) goes through this.
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
        self._interview = None
        self._lock = threading.Lock()
        self.ingest_lock = threading.Lock()

    def answerer(self) -> Answerer:
        """The answerer over the live index (IndexProblem when there is none or it is damaged)."""
        with self._lock:
            return self._answerer_unlocked()

    def _answerer_unlocked(self) -> Answerer:
        if self._answerer is None:
            s = self.settings
            index = store.load_index(s.index_dir)
            self._answerer = Answerer.from_settings(Retriever.from_settings(index, self.embedder, s), s)
        return self._answerer

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

        with self._lock:
            if self._interview is None:
                self._interview = (Grader(self._answerer_unlocked()), Progress(self.settings.progress_db))
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

    def reload(self) -> None:
        with self._lock:
            self._answerer = None
            self._interview = None

    def papers(self) -> list[ingest.DocStatus]:
        """Every catalog paper with its status in the live index (missing when never ingested)."""
        manifest = {}
        with contextlib.suppress(store.IndexProblem):
            manifest = store.read_manifest(self.settings.index_dir) or {}
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
        self.reload()
        return report

    def pdf_path(self, doc_id: str) -> Path | None:
        """The cached PDF of a paper, only ever inside the ingest cache."""
        path = (self.settings.pdf_dir / f"{doc_id}.pdf").resolve()
        if path.parent != self.settings.pdf_dir.resolve() or not path.exists():
            return None
        return path
