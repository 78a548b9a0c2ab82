"""The lexical side of the index, built once at ingest: BM25 (bm25s) and the word vocabulary.

Chunks are tokenized the way the retriever tokenizes a question (bm25s' tokenizer, English stop
words, Snowball stemming) over the chunk's heading (paper title and section) and text. The index is
built batch by batch from numpy arrays (see LexicalBuilder), and saved with bm25s' own `save`; a
query process loads it with `mmap=True`, so the postings stay on disk until a query reads them.

The vocabulary is the set of lower-cased words (`[\\w\\-]+`) of every chunk's text and title: the
answerer uses it to say which names of a question no indexed text contains.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN

from paperdojo.library.chunk import heading_text
from paperdojo.records import Chunk

WORDS = re.compile(r"[\w\-]+")  # the vocabulary's words (as the answerer's unknown-name check reads them)


def stemmer() -> Stemmer.Stemmer:
    """The stemmer of the BM25 index and of every question (Snowball English)."""
    return Stemmer.Stemmer("english")


def lexical_text(chunk: Chunk) -> str:
    """What BM25 sees of a chunk: its heading (paper title, section), a newline, its text."""
    return heading_text(chunk.title, chunk.section) + "\n" + chunk.text


def tokens(texts: list[str], stem: Stemmer.Stemmer) -> list[list[str]]:
    """Stemmed tokens of each text (bm25s' tokenizer, English stop words): [len(texts)] lists."""
    return bm25s.tokenize(texts, stopwords="en", stemmer=stem, return_ids=False, show_progress=False)


def words(chunks: list[Chunk]) -> set[str]:
    """The lower-cased vocabulary words of the chunks' text and titles."""
    joined = " ".join(c.text for c in chunks) + " " + " ".join({c.title for c in chunks})
    return {w.lower() for w in set(WORDS.findall(joined))}


TOKEN = re.compile(r"(?u)\b\w\w+\b")  # bm25s' default token pattern (scikit-learn's)
_STOPWORDS = frozenset(STOPWORDS_EN)  # what bm25s.tokenize(stopwords="en") drops


class WordStemmer(Protocol):
    """What stems a word: PyStemmer's Stemmer, or anything with its `stemWord`."""

    def stemWord(self, word: str) -> str: ...  # noqa: N802 (PyStemmer's name)


def stem_sequence(stemmer: WordStemmer, text: str) -> list[str]:
    """The stemmed words of `text` in order, lower-cased, split as BM25 splits them (`TOKEN`): a
    hyphenated "micro-batches" gives "micro" and "batch"."""
    return [stemmer.stemWord(w) for w in TOKEN.findall(text.lower())]


def stems_of(stemmer: WordStemmer, text: str) -> set[str]:
    """Every stemmed word of `text`, lower-cased (`stem_sequence` as a set: for term coverage)."""
    return set(stem_sequence(stemmer, text))


class LexicalBuilder:
    """Feed chunks batch by batch (`add`), then `save` the BM25 index; `vocabulary` holds the words.

    Tokens are exactly bm25s.tokenize's (lower-cased, its token pattern, English stop words dropped,
    stemmed) and scores exactly bm25s.BM25's defaults (method "lucene", k1 1.5, b 0.75: idf
    log(1 + (N - df + 0.5) / (df + 0.5)), tf / (tf + k1 (1 - b + b dl / avgdl)), float32), computed
    with numpy over (chunk, term, count) arrays instead of per-document Python lists: bm25s' own
    build took ~0.5 ms of CPU per chunk (8 minutes at 1M) and ~3 GB of lists; this one holds 12 bytes
    per distinct (chunk, term) pair. The files are bm25s.BM25.save's, loaded with bm25s.BM25.load.
    """

    k1, b = 1.5, 0.75

    def __init__(self) -> None:
        self.stem = stemmer()
        self.word_ids: dict[str, int] = {}  # lower-cased word -> its stem's id, -1 for a stop word
        self.stem_ids: dict[str, int] = {}
        self.pairs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (chunk, term, count) per batch
        self.lengths: list[np.ndarray] = []  # tokens per chunk
        self.n_docs = 0
        self.vocabulary: set[str] = set()

    def add(self, chunks: list[Chunk]) -> None:
        """Tokenize and count a batch of chunks (the next rows of the index)."""
        found: list[str] = []
        counts = []
        for text in (lexical_text(c) for c in chunks):
            words_of = TOKEN.findall(text.lower())
            found += words_of
            counts.append(len(words_of))
        new = sorted(set(found).difference(self.word_ids))
        for word, stem in zip(new, self.stem.stemWords(new), strict=True):
            stop = word in _STOPWORDS
            self.word_ids[word] = -1 if stop else self.stem_ids.setdefault(stem, len(self.stem_ids))
        ids = np.fromiter(map(self.word_ids.__getitem__, found), dtype=np.int64, count=len(found))
        rows = np.repeat(np.arange(len(chunks), dtype=np.int64), counts)
        keep = ids >= 0
        ids, rows = ids[keep], rows[keep]
        self.lengths.append(np.bincount(rows, minlength=len(chunks)))
        pair, tf = np.unique(rows << 32 | ids, return_counts=True)
        self.pairs.append(((pair >> 32).astype(np.int32) + self.n_docs, (pair & 0xFFFFFFFF).astype(np.int32),
                           tf.astype(np.int32)))
        self.n_docs += len(chunks)
        self.vocabulary |= words(chunks)

    def build(self) -> bm25s.BM25:
        """The BM25 index over every chunk added (an empty one when none was).

        The postings are written batch by batch into their place (a counting sort by term), so the
        build holds the (chunk, term, count) arrays plus the postings (8 bytes per pair) and one batch's
        temporaries: at 1M passages (87M pairs) ~1.8 GB, where sorting all pairs at once with float64
        temporaries peaked at ~4.5 GB. Consumes the added batches."""
        bm25 = bm25s.BM25()
        if not self.n_docs:
            return bm25
        n, n_terms = self.n_docs, len(self.stem_ids)
        lengths = np.concatenate(self.lengths)
        avgdl = lengths.mean()
        df = np.zeros(n_terms, dtype=np.int64)
        for _, terms, _ in self.pairs:
            df += np.bincount(terms, minlength=n_terms)
        idf = np.log(1 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
        indptr = np.concatenate([[0], np.cumsum(df)]).astype(np.int64)
        data = np.empty(int(indptr[-1]), dtype=np.float32)
        indices = np.empty(int(indptr[-1]), dtype=np.int32)
        cursor = indptr[:-1].copy()  # the next free place of each term's postings
        self.pairs.reverse()
        while self.pairs:  # batches in chunk order: each term's postings stay in ascending chunk order
            rows, terms, counts = self.pairs.pop()
            tf = counts.astype(np.float32)
            dl = lengths[rows].astype(np.float64)
            scores = (idf[terms] * (tf / (self.k1 * ((1 - self.b) + self.b * dl / avgdl) + tf))
                      ).astype(np.float32)
            order = np.argsort(terms, kind="stable")  # by term, ascending chunks within each
            by_term = terms[order]
            per_term = np.bincount(by_term, minlength=n_terms)
            place = cursor[by_term] + np.arange(len(by_term)) - (np.cumsum(per_term) - per_term)[by_term]
            data[place] = scores[order]
            indices[place] = rows[order]
            cursor += per_term
        bm25.scores = {"data": data, "indices": indices, "indptr": indptr, "num_docs": n}
        bm25.vocab_dict = {**self.stem_ids, "": n_terms}
        bm25.unique_token_ids_set = set(bm25.vocab_dict.values())
        bm25.nonoccurrence_array = None
        return bm25

    def save(self, folder: Path) -> list[str]:
        """Build and save the index into `folder`; the names of the files written (relative to it)."""
        folder.mkdir(parents=True, exist_ok=True)
        if self.n_docs:
            self.build().save(str(folder), show_progress=False)
        return sorted(p.name for p in folder.iterdir())


def load_bm25(folder: Path) -> bm25s.BM25 | None:
    """The saved BM25 index, its postings memory-mapped (None when the library had no chunk)."""
    if not (folder / "params.index.json").exists():
        return None
    return bm25s.BM25.load(str(folder), mmap=True, show_progress=False)


def chunk_count(bm25: bm25s.BM25 | None, stem: str) -> int:
    """How many chunks hold the stemmed term (0 for a term no chunk holds), from the postings' lengths."""
    if bm25 is None:
        return 0
    i = bm25.vocab_dict.get(stem)
    indptr = bm25.scores["indptr"]
    if i is None or i + 1 >= len(indptr):
        return 0
    return int(indptr[i + 1] - indptr[i])


def scores(bm25: bm25s.BM25 | None, query_tokens: list[str], n: int) -> np.ndarray:
    """BM25 score of every chunk for the stemmed query tokens: float32 [n] (zeros without tokens)."""
    if bm25 is None or not query_tokens:
        return np.zeros(n, dtype=np.float32)
    return np.asarray(bm25.get_scores(query_tokens), dtype=np.float32)

