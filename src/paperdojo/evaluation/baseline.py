"""The pipeline most people would write by hand, run on the same PDFs for comparison.

PyPDFLoader -> RecursiveCharacterTextSplitter(1000, 200) -> HuggingFaceEmbeddings (the same
MiniLM) -> FAISS similarity_search(k=5); its answer is the text of its top passages, in rank order,
cut to the same word budget as ours (answering.extract.budget: 150 words, 250 for a question in
several parts), citing the passages it quotes. It lives in the optional `eval` extra
(langchain-community, langchain-huggingface).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from paperdojo.answering.extract import budget
from paperdojo.answering.retrieve import Hit
from paperdojo.library.embed import resolve_model
from paperdojo.records import Chunk

log = logging.getLogger(__name__)


class BaselineUnavailable(RuntimeError):
    """The LangChain baseline cannot run: the `eval` extra is not installed."""
    pass


@dataclass
class BaselineAnswer:
    """What the baseline answers: its text (the top passages' first words within the answer
    budget), the passages it drew on, the time taken in milliseconds."""
    text: str
    cited: list
    ms: float
    refused: bool = False


@dataclass
class _Cited:
    chunk: Chunk


class Baseline:
    """The usual LangChain pipeline, as a reference: PyPDFLoader pages, RecursiveCharacter
    chunks of 1,000 characters with 200 overlap, the same embedding
    model and a FAISS store; `parse_s` and `build_s` are its build times in seconds. Raises
    BaselineUnavailable without the eval extra."""

    def __init__(self, pdfs: dict[str, Path], model: str) -> None:
        try:
            import warnings

            warnings.filterwarnings("ignore", ".*langchain-community.*sunset", DeprecationWarning)
            from langchain_community.document_loaders import PyPDFLoader
            from langchain_community.vectorstores import FAISS
            from langchain_huggingface import HuggingFaceEmbeddings
            from langchain_text_splitters import RecursiveCharacterTextSplitter
        except ImportError as exc:
            hint = "pip install -e '.[eval]'"
            raise BaselineUnavailable(f"the baseline needs the eval extra: {hint} ({exc})") from exc
        started = time.perf_counter()
        self.doc_of = {str(path): doc_id for doc_id, path in pdfs.items()}
        pages = [page for path in pdfs.values() for page in PyPDFLoader(str(path)).load()]
        self.parse_s = time.perf_counter() - started
        splits = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(pages)
        embeddings = HuggingFaceEmbeddings(model_name=resolve_model(model),
                                           encode_kwargs={"normalize_embeddings": True})
        self.store = FAISS.from_documents(splits, embeddings)
        self.n_pages, self.n_chunks = len(pages), len(splits)
        self.build_s = time.perf_counter() - started

    def search(self, query: str, k: int = 10) -> list[Hit]:
        """The `k` nearest chunks as Hits (score: the negated FAISS distance; the page from
        PyPDFLoader's 0-based metadata, made 1-based)."""
        hits = []
        for doc, score in self.store.similarity_search_with_score(query, k=k):
            page = int(doc.metadata.get("page", 0)) + 1
            doc_id = self.doc_of.get(doc.metadata.get("source", ""), "")
            chunk = Chunk(doc_id, "", "", page, page, 0, len(doc.page_content), doc.page_content)
            hits.append(Hit(chunk, -float(score), 0.0))
        return hits

    def answer(self, question: str) -> BaselineAnswer:
        """The words of the 5 nearest chunks, in order, up to the answer budget our
        extractive answers get for the question (answering.extract.budget); never refuses."""
        started = time.perf_counter()
        hits = self.search(question, k=5)
        limit = budget(question)
        words: list[str] = []
        cited: list[_Cited] = []
        for h in hits:
            if len(words) >= limit:
                break
            words += h.chunk.text.split()[: limit - len(words)]
            cited.append(_Cited(h.chunk))
        text = " ".join(words)
        return BaselineAnswer(text, cited, (time.perf_counter() - started) * 1000)
