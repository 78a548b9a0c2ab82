"""The names a question may use for the papers of the library, found without scanning every paper.

A paper is named by its id (also with spaces for its hyphens: "Ring Attention") or by the part of
its title before ':' when that is at most three words ("ZeRO", "Megatron-LM"). Each paper has one
pattern, as the answerer always had: the name between word boundaries that also count '-'
("ZeRO-style" and "ZeROs" do not name ZeRO), case-insensitive unless the name has a capital after its first
letter. Compiling one pattern per paper at load and trying all of them on every question does not
scale: at 10,000 papers (a million passages) that was 24 s of compiling and 310 ms per question
(load average ~16 on 2 cores). So each name is filed under its words (its runs of word characters,
lower-cased: "Megatron-LM" under ("megatron", "lm")), and a question's pattern checks run only for
the papers filed under a run of its consecutive words that starts at a word boundary; each pattern
is compiled when first needed. The matches (and their offsets) are exactly the patterns' own: the
separators between a name's words are not word characters, so each word of the name lines up with
one whole word of the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

_WORD = re.compile(r"\w+")
# non-ASCII characters that a case-insensitive pattern matches to an ASCII letter (Python's re:
# Kelvin sign ~ k, long s ~ s, dotless i and dotted capital I ~ i)
_ASCII_FOLD = str.maketrans({"\u212a": "k", "\u017f": "s", "\u0131": "i", "\u0130": "i"})


def paper_names(doc_id: str, doc: Mapping) -> set[str]:
    """The names of a paper: its id, its id's words when it has several ("ring-attention" -> "ring
    attention": the Ring Attention paper's title has no head before ':' to name it by), and its
    title's head before ':' when at most three words."""
    names = {doc_id}
    if "-" in doc_id.strip("-"):
        names.add(" ".join(doc_id.split("-")).strip())
    head = (doc.get("title") or "").split(":")[0].strip()
    if head and len(head.split()) <= 3 and head.lower() != doc_id:
        names.add(head)
    return names


def name_pattern(names: set[str]) -> re.Pattern:
    """One paper's pattern over its names (see the module's docstring for the boundaries and case)."""
    parts = []
    for name in names:
        flags = 0 if any(c.isupper() for c in name[1:]) else re.I  # "ZeRO" must look like it
        parts.append(f"(?{'i' if flags else ''}:{re.escape(name)})")
    return re.compile(r"(?<![\w\-])(" + "|".join(parts) + r")(?![\w\-]*\w)")


def _key(word: str) -> str:
    return word.translate(_ASCII_FOLD).lower()


class PaperNames:
    """The papers (of `docs`: manifest entries by id) that are indexed, or with `indexed=False` those
    that are not, looked up by the names a text uses.

    `find(text)` gives {doc_id: offset of the first match of its pattern}; the papers are filed under
    the lower-cased words of each name (an ASCII name that starts with a word character; others are
    always tried), so a text is checked against the papers filed under its words only."""

    def __init__(self, docs: Mapping[str, Mapping], indexed: bool = True) -> None:
        self._names: dict[str, set[str]] = {}
        self._by_words: dict[tuple[str, ...], list[str]] = {}
        self._lengths: set[int] = set()  # how many words the filed names have
        self._always: list[str] = []
        self._patterns: dict[str, re.Pattern] = {}
        self._order: dict[str, int] = {}
        for doc_id, doc in docs.items():
            if (doc.get("status") == "indexed") != indexed:
                continue
            names = paper_names(doc_id, doc)
            self._order[doc_id] = len(self._order)
            self._names[doc_id] = names
            for name in names:
                words = tuple(w.lower() for w in _WORD.findall(name))
                if words and name.isascii() and _WORD.match(name):
                    self._by_words.setdefault(words, []).append(doc_id)
                    self._lengths.add(len(words))
                else:
                    self._always.append(doc_id)

    def __len__(self) -> int:
        return len(self._names)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def pattern(self, doc_id: str) -> re.Pattern:
        """The paper's pattern (compiled on first use). Raises KeyError for a paper not held."""
        if doc_id not in self._patterns:
            self._patterns[doc_id] = name_pattern(self._names[doc_id])
        return self._patterns[doc_id]

    def find(self, text: str) -> dict[str, int]:
        """{doc_id: character offset of the first place `text` names it} for each paper it names, in
        the order of `docs`."""
        return {doc_id: m.start() for doc_id, m in self.matches(text).items()}

    def matches(self, text: str) -> dict[str, re.Match]:
        """{doc_id: the first match of its pattern in `text`} for each paper `text` names, in the
        order of `docs` (the match's span is the name as written)."""
        candidates = dict.fromkeys(self._always)
        words = list(_WORD.finditer(text))
        keys = [_key(w.group()) for w in words]
        for i, word in enumerate(words):
            if word.start() and (text[word.start() - 1] == "-" or _WORD.match(text[word.start() - 1])):
                continue  # a name starts where no word character or '-' comes before it
            for n in self._lengths:
                candidates.update(dict.fromkeys(self._by_words.get(tuple(keys[i : i + n]), ())))
        found = {}
        for doc_id in sorted(candidates, key=self._order.__getitem__):  # in the library's order
            match = self.pattern(doc_id).search(text)
            if match:
                found[doc_id] = match
        return found
