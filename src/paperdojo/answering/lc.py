"""paperdojo's retriever as a LangChain `BaseRetriever`, for users' own chains.

Each `Document` carries our provenance in its metadata (doc id, title, section, pages, character
offsets, score and a link to the cited page), so citations survive any chain built on it.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from paperdojo.answering.answer import page_url
from paperdojo.answering.retrieve import Filters, Retriever


class PaperdojoRetriever(BaseRetriever):
    """`PaperdojoRetriever(retriever=Retriever(load_index(...), Embedder(settings)), k=5)`."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    retriever: Any  # a paperdojo.answering.retrieve.Retriever (pydantic cannot check its type)
    k: int = 5
    papers: set[str] = set()
    categories: set[str] = set()

    def _get_relevant_documents(self, query: str, *,
                                run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        r: Retriever = self.retriever
        docs_meta = r.index.manifest.get("docs", {})
        hits = r.search(query, self.k, Filters(set(self.papers), set(self.categories)))
        return [
            Document(
                page_content=h.chunk.text,
                metadata={
                    "doc_id": h.chunk.doc_id, "title": h.chunk.title, "section": h.chunk.section,
                    "page_start": h.chunk.page_start, "page_end": h.chunk.page_end,
                    "char_start": h.chunk.char_start, "char_end": h.chunk.char_end,
                    "score": h.score, "url": page_url(h.chunk, docs_meta),
                },
            )
            for h in hits
        ]
