"""Section headings: numbered ("3.2 Intra-op pass", "II. BACKGROUND"), named ("Abstract", "Related
Work") or, in papers without numbering, short ALL-CAPS lines; numbers that do not follow the ones
before them, and section numbers written otherwise than the paper's first ("3. Application of ..."
after "1 Introduction"), are refused (table rows and list items look like headings too)."""

from __future__ import annotations

import re

NAMED = {
    "abstract", "introduction", "related work", "related works", "background", "motivation",
    "conclusion", "conclusions", "discussion", "evaluation", "future work", "summary",
    "conclusion and future work", "conclusions and future work", "acknowledgments",
    "acknowledgements", "acknowledgment", "acknowledgement", "references", "bibliography",
    "appendix", "appendices", "limitations", "experiments", "results",
}
REFERENCES = {"references", "bibliography"}
NUMBERED = re.compile(r"^(?P<num>\d{1,2}(?:\.\d{1,2}){0,3})(?P<dot>\.?)\s+(?P<title>[A-Z].{1,100})$")
ROMAN = re.compile(r"^(?P<num>[IVX]{1,6})\.\s+(?P<title>[A-Z].{1,100})$")
_LETTERED = re.compile(r"^(?P<num>[A-H](?:\.\d{1,2}){0,2})\.?\s+(?P<title>[A-Z].{1,100})$")
_APPENDIX = re.compile(r"^appendix(\s+[A-Z0-9]+)?([:.\-\s].{0,80})?$", re.I)
ABSTRACT_INLINE = re.compile(r"^abstract\s*[\u2014\u2013:.\-]\s*(?P<rest>\S.*)$", re.I)
_CAPTION = re.compile(r"^(figure|fig\.|table|algorithm|listing|eq\.?|equation)\s*\d", re.I)
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10}
# words a title does not end on: a heading line ending so goes on on the next line ("7.5 Joint
# Optimization of Graph Substitutions and" / "Data Layout Transformations"), and a numbered list
# item ending so is a sentence that goes on ("5. Additional rounds of optimizations occur, both")
DANGLING = {"a", "an", "the", "and", "or", "but", "nor", "of", "to", "in", "on", "at", "by", "for", "with",
            "from", "into", "is", "are", "was", "were", "be", "both", "either", "neither", "which", "that",
            "whose", "as", "than", "its", "their", "our"}
SMALL_WORDS = {"a", "an", "the", "of", "and", "or", "for", "in", "on", "to", "with", "vs", "via", "by"}


def _roman(num: str) -> int:
    total = 0
    for a, b in zip(num, num[1:] + " ", strict=True):
        v = _ROMAN_VALUES[a]
        total += -v if b != " " and _ROMAN_VALUES.get(b, 0) > v else v
    return total


def title_ok(title: str) -> bool:
    """Could this be a section title rather than a sentence, a table row or a label?"""
    title = title.strip()
    words = title.split()
    if not 1 <= len(words) <= 12 or title[-1] in ".,;=-" or _CAPTION.match(title):
        return False  # a sentence, or a word hyphenated at the line's end ("3 There-" of a footnote)
    if re.search(r"[=@\[\]{}<>|#$%^*~]|https?:|\d{3,}|\s\d+\s|,\s*\d|\w\(", title) or title.count(",") > 1:
        return False  # affiliations ("2 AWS, 3 Shanghai"), numbers in running text, code "f(S,i)"
    letters = sum(c.isalpha() for c in title)
    if letters < 3 or letters / len(title.replace(" ", "")) < 0.75:
        return False
    capital = sum(w[0].isupper() for w in words if w[0].isalpha())
    lower = [w for w in words[1:] if w[0].islower() and w.lower() not in SMALL_WORDS]
    return len(words) <= 6 or capital >= 0.6 * len(words) or not lower


class HeadingDetector:
    """Decides line by line whether a line is a heading, keeping the numbering consistent."""

    def __init__(self, caps: bool = False) -> None:
        self.caps = caps  # also take short ALL-CAPS lines (papers without numbered headings)
        self.numbers: tuple[int, ...] = ()
        # how the paper writes a section's number, "1" or "1.", from its first numbered section: every
        # paper of the shared corpus keeps to one way; a numbered list item of the introduction
        # ("3. Application of chunked-prefills ...", SARATHI) does not, and taking it for section 3
        # refused the real "2 Background" after it
        self.section_dot: str | None = None
        self.roman = 0
        self.letters = ""
        self.seen_named: set[str] = set()
        self.after_references = False

    def _numbered_follows(self, num: tuple[int, ...]) -> bool:
        """Does "num" continue the numbering seen so far (allowing one missed heading)?"""
        last = self.numbers
        if not last:
            return num[0] in (1, 2) and all(n <= 2 for n in num[1:])
        top = last[0]
        if top < num[0] <= top + 2:  # the next section, perhaps through its first subsection
            return all(n <= 2 for n in num[1:])
        if num[0] != top or len(num) == 1:
            return False
        k = len(num) - 1
        parent = num[:-1]
        if last[:k] == parent:  # a sibling or a first child
            prev = last[k] if len(last) > k else 0
            return prev < num[-1] <= prev + 2
        # a new parent one level up, e.g. 3.2.4 -> 3.3.1
        shallower = len(last) >= k and last[: k - 1] == parent[: k - 1]
        return shallower and last[k - 1] < parent[-1] <= last[k - 1] + 1 and num[-1] <= 2

    def heading(self, line: str) -> tuple[str, str] | None:
        """(title, kind) when `line` is a heading, else None; kind is "body",
        "abstract" or "references".

        In order: a named heading (NAMED: "Abstract", "References", ...) once each; a numbered one ("3.2
        Title") that follows the numbering so far; a Roman one ("IV. TITLE") in a paper without arabic
        numbers; with `caps`, a short ALL-CAPS line; after the references, "Appendix ..." and lettered
        headings ("A.1 Title") in sequence. The detector remembers what it has seen, so lines go in
        reading order."""
        bare = line.strip().rstrip(":").strip()
        low = bare.lower()
        if low in NAMED and low not in self.seen_named and (bare.isupper() or bare.istitle()
                                                            or bare[0].isupper()):
            self.seen_named.add(low)
            kind = "references" if low in REFERENCES else "abstract" if low == "abstract" else "body"
            self.after_references = self.after_references or kind == "references"
            return bare, kind
        if (m := NUMBERED.match(bare)) and title_ok(m["title"]):
            num = tuple(int(x) for x in m["num"].split("."))
            styled = len(num) > 1 or self.section_dot in (None, m["dot"])
            if styled and self._numbered_follows(num) and not self.after_references:
                self.numbers = num
                if len(num) == 1 and self.section_dot is None:
                    self.section_dot = m["dot"]
                kind = "references" if m["title"].lower() in REFERENCES else "body"
                self.after_references = kind == "references"
                return bare, kind
        if (m := ROMAN.match(bare)) and title_ok(m["title"]) and not self.numbers:
            value = _roman(m["num"])
            if self.roman < value <= self.roman + 2:
                self.roman = value
                return bare, "body"
        if self.caps and bare.isupper() and 2 <= len(bare.split()) <= 8 and title_ok(bare) \
                and sum(c.isalpha() for c in bare) >= 8 and not self.after_references:
            return bare, "body"
        if self.after_references or "appendix" in self.seen_named:
            if _APPENDIX.match(bare) and len(bare.split()) <= 10:
                self.after_references = False
                self.letters = "A"
                return bare, "body"
            if (m := _LETTERED.match(bare)) and title_ok(m["title"]):
                letter = m["num"][0]
                if (not self.letters and letter == "A") or (
                    self.letters and ord(self.letters) <= ord(letter) <= ord(self.letters) + 1
                ):
                    self.letters = letter
                    self.after_references = False
                    return bare, "body"
        return None


_NUMBERING = re.compile(r"^(?:\d{1,2}(?:\.\d{1,2})?\.?|[IVX]{1,6}\.)\s+")
_THANKS = {"acknowledgments", "acknowledgements", "acknowledgment", "acknowledgement"}
_NOT_AN_END = {"vs", "e.g", "i.e", "al", "fig", "figs", "eq", "sec", "no", "cf", "resp", "approx"}


# ". ", ": ", dashes, " - ", and a period with no space before a capitalized word (a bold heading
# and its regular-weight sentence set close: "1 Introduction.Graph compilers ...")
_RUN_IN_END = re.compile(r"\.\s|(?<=[a-z]{3})\.(?=[A-Z][a-z])|:\s"
                         r"|\s[\u2014\u2013-]\s|\s[\u2014\u2013]|\u2014")
# a term defined by its initials in brackets, as sentences do: "Deep Neural Networks (DNNs) ..."
_ACRONYM_DEFINED = re.compile(r"\([A-Z][A-Za-z]*[A-Z]s?\)")
_OPENING = "\"'\u201c\u2018("


def split_run_in(line: str, named: bool = False) -> tuple[str, str] | None:
    """(heading, rest) when `line` starts with a run-in heading ("1 Introduction. Graph compilers
    lower a ...", "2 Background: Tensor programs are ...", "3 METHOD — We ..."): the heading ends at
    the first ". ", ": " or dash (" - " too) after its number, it is at most 8 words and could be a title, and
    the rest reads as the start of a sentence: a capital, a digit, a quote or a mixed-case name
    ("cuDNN") first, then mostly words in lower case (small words such as "of", acronyms and numbers
    aside: "The Lifetime of a Glow" is a title) or, after a period, a term defined by its initials
    ("Deep Neural Networks (DNNs)"). A period may touch the next word when a bold heading and its
    sentence are set close ("1 Introduction.Graph compilers"). At least 2 words after
    a period (a narrow column may leave only "Graph compilers" on the heading's line); after a
    colon or a dash, where a short rest is a subtitle ("4.1 Setup: Models and datasets", the
    corpus's "3.2 Compile-Time: External front-end & static"), at least 5 unless the line ends on a
    word no subtitle ends on ("1 Introduction – Graph compilers lower a"), and the heading at most
    5 words in title case (a numbered list item reads "2. Hiding softmax under ...: We overlap").
    None otherwise; whether the heading is taken is the detector's call.

    Only sections and subsections ("1", "3.2", "II.") are split: splitting the shared corpus's
    eight "5.3.1 Weak Scaling. We evaluate ..." run-ins of megatron-lm-3d into sections moved a
    dev2 question's gold page out of the top 5 (page_hit@5 0.948 -> 0.931, dev mrr@10 0.868 ->
    0.856), so deeper run-ins stay body text as before (a measured choice, see docs/measurements.md).
    Unnumbered run-ins are taken only for acknowledgments, or for the usual section names when
    `named` (a paper without numbered headings): in a numbered paper "Results. Ansor performs ..."
    heads a paragraph inside a section (measured on the shared corpus: ansor, taso, sglang)."""
    numbering = _NUMBERING.match(line)
    # the first end that is not an abbreviation's period ("2.1 Ops vs. Kernels. We compare ...")
    found = next((m for m in _RUN_IN_END.finditer(line, numbering.end() if numbering else 0)
                  if not (m.group().startswith(".") and line[: m.start()].split()
                          and line[: m.start()].split()[-1].lower() in _NOT_AN_END)), None)
    if not found or found.start() <= 0:
        return None
    head, rest = line[: found.start()].strip(), line[found.end() :].strip()
    words = head.split()
    title_words = words[1:] if numbering else words
    if not title_words or len(title_words) > 8 or title_words[-1].lower() in _NOT_AN_END \
            or len(title_words[-1]) == 1 or not title_ok(" ".join(title_words)):
        return None
    if not numbering and not (head.lower() in _THANKS or (named and head.lower() in NAMED)):
        return None  # an unnumbered run-in ("Operator fusion. We ...") is a paragraph, not a section
    tail = rest.split()
    # after a colon or a dash: a short rest is more often a subtitle ("4.1 Setup: Models and
    # datasets"), a head in sentence case a numbered list item ("2. Hiding softmax under ...:")
    # ... unless the rest runs on to the next line ("1 Introduction – Graph compilers lower a"
    # in a narrow column): a subtitle never ends on "a", "the", "of" (DANGLING)
    short = len(tail) < 5 and not dangles(rest)
    if not found.group().startswith(".") and (short or len(title_words) > 5 or any(
            w[0].islower() for w in title_words if w.lower() not in SMALL_WORDS)):
        return None
    if len(tail) < 2 or not _starts_a_sentence(tail[0]):
        return None
    # "The Lifetime of a Glow" is a title; acronyms and numbers ("GPUs", "3D", "(DNNs)") say nothing
    content = [w for w in tail[1:] if w.lower() not in SMALL_WORDS and not _acronym(w)]
    if content and sum(w.lstrip(_OPENING)[:1].islower() for w in content) >= 0.5 * len(content):
        return head, rest
    # after a period, a term defined by its initials is a sentence's ("Large Language Models (LLMs)")
    return (head, rest) if found.group().startswith(".") and _ACRONYM_DEFINED.search(rest) else None


def _acronym(word: str) -> bool:
    """An acronym or a number ("GPUs", "(DNNs)", "3D", "ResNet-50"): no sign of title or sentence case."""
    core = word.strip(_OPENING + "\u201d\u2019),.;:")
    return bool(core) and (sum(c.isupper() for c in core) >= 2 or core[0].isdigit())


def _starts_a_sentence(word: str) -> bool:
    """Can a sentence start with `word`: a capital or a digit (after an opening quote or bracket), or
    a name in mixed case ("cuDNN", "eBPF"); a plain lower-case word goes on from the line before."""
    core = word.lstrip(_OPENING)
    return bool(core) and (core[0].isupper() or core[0].isdigit() or any(c.isupper() for c in core[1:]))


def dangles(line: str) -> bool:
    """Does `line` end on a word no title ends on (`DANGLING`), so that it goes on on the next line?"""
    words = line.split()
    return len(words) > 1 and words[-1].lower() in DANGLING
