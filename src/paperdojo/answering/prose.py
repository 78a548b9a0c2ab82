"""Which sentences of a paper's extracted text are prose claims, and what the others are.

Text pulled out of a PDF mixes the paper's prose with everything else on the page: pseudo-code and
code listings, table rows and axis labels of figures, captions, the title block (authors,
affiliations, e-mail addresses), footnotes ("*Equal contribution", "3https://..."), pointers to
figures and sections ("Figure 5 shows ...", "Section 4 describes ..."), the questions a paper asks
itself, and formulas whose layout extraction garbled ("O(N 2d 2M−1 )"). An answer quoting any of
them reads badly. `kind(sentence)` names the non-prose kind of a sentence, or None for prose.

The rules look at the *shape* of a sentence (line numbers, share of function words and numbers,
math symbols, a leading "Figure N:"), never at any paper's vocabulary, so they carry to papers
nobody here has read. They were checked by eye on the sentences of the 27 shared papers and are
unit-tested on real examples from them (tests/test_prose.py).
"""

from __future__ import annotations

import re
from functools import lru_cache

from wordfreq import zipf_frequency

from paperdojo.library.chunk import ABBREVIATION, trimmed_spans

PSEUDO_CODE = "pseudo-code"
TABLE_ROW = "table row"  # also the labels and tick values of a figure that ran into the text
CAPTION = "caption"
FOOTNOTE = "footnote or affiliation"
POINTER = "figure or section pointer"
QUESTION = "question"
FORMULA = "garbled formula"
FRAGMENT = "fragment"

KINDS = (PSEUDO_CODE, TABLE_ROW, CAPTION, FOOTNOTE, POINTER, QUESTION, FORMULA, FRAGMENT)

# function words: prose holds many (about 40% of its words), labels, rows and code hardly any
_FUNCTION = frozenset(re.findall(r"\S+",
    "a an the of to in on at by for with from into onto over under than as and or but nor not no so "
    "is are was were be been being has have had do does did can could will would shall should may "
    "might must that which who whom whose this these those it its they their them we our us he she "
    "his her there here when where while if then because since although though both each all any some "
    "such only also more most less very much many few other same how what why per via using between "
    "within without across through during after before up out about against among upon whether either"))
_FOOTNOTE_MARK = re.compile(r"^[\*∗†‡¶]|^§(?!\d)|^\d{1,2}(?=[A-Z][a-z]|https?:|www\.)")
# a footnote the parser spliced into the body text: its number glued to its first word, mid-sentence
# ("... layers that require 3One possible way around this limitation is ..."); 47 in the 2,700
# chunks of the shared corpus (2026-12-01), all footnotes or affiliations ("4We capped the input
# lengths ...", "2More precisely ...", "3Shanghai Jiao Tong University")
_NOTE_MARK = r"\d{1,2}([A-Z][a-z]+)(?=[\s,])"  # the note's number, its first word (group 1)
_GLUED_NOTE = re.compile(r"(?<=[\s,.;:)])" + _NOTE_MARK)
# ... up to its end where the body text resumes in lower case ("com- 5This includes various
# metadata ... has finished processing. pose a batch"): `clean` takes it out
_SPLICED_NOTE = re.compile(r"(?<=\s)" + _NOTE_MARK + r".{0,400}?[.!?]\s+(?=[a-z])", re.S)
GLUED_WORD_ZIPF = 4.0  # the glued word is common English (wordfreq): "One", "We"; not "Gbps" (2.1)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")
_FRONT_MATTER = re.compile(
    r"equal contribut|correspond(?:ence|ing author)|work (?:was )?done (?:while|during|at)|"
    r"proceedings of|copyright|permission to make|licensed under|arxiv:\s?\d|preprint\. under review|"
    r"^index terms|^keywords", re.I)
_INSTITUTION = re.compile(r"\b(?:University|Institute|Department|Laborator(?:y|ies)|School of|Labs?|"
                          r"Inc\.|Corporation|Research|College|Academy)\b")
_URL = re.compile(r"\s?\d{0,2}(?:https?://|www\.)\S+")
# a footnote's link spliced into a sentence: its number glued to it ("the server 2https://github.com/..."
# hosts ...); a link the sentence itself writes ("available at https://...") has no number glued to it
_NOTE_LINK = re.compile(r"(?:^|\s|(?<=[a-z]))\d{1,2}\s?(?:https?://|www\.)\S+")
_LINE_NUMBER = re.compile(r"(?:^|\s)\d{1,2}:\s")
_CODE_WORDS = re.compile(
    r"\b(?:end (?:for|if|while|function|procedure)|for \w+ (?:in|=|←)|while .{1,40} do\b|return\b|"
    r"require:|ensure:|input:|output:|lambda \w|def \w+\()|←|:=", re.I)
_CODE_SHAPE = re.compile(r"\w\.\w+\(|\w\[[^\]]*\]|\b\w+\s?=\s?\w+\(|%\w+\s?=|#\w+\s?=|\{\s|\s\}|;\s*$|//")
# a shell command inside a sentence, as an artifact appendix lists them ("• cd $PET_HOME/pet-ae •
# ./run e2e.sh"): a script run from the current folder, an environment variable, cd into a path,
# pip install, git clone, python/bash running a file
_SHELL = re.compile(r"(?:^|[\s•(])\./[\w\-]+(?:\.(?:sh|py))?\b|\$[A-Z][A-Z_]{2,}\b|\bcd\s+[$~/]|"
                    r"\bpip3? install\b|\bgit clone\b|\bpython3? [\w\-/]+\.py\b|\bbash [\w\-/]+\.sh\b")
_CAPTION_START = re.compile(r"^(?:Figure|Fig\.|Table|Tab\.|Algorithm|Alg\.|Listing)\s*[A-Z]?\d+[a-z]?"
                            r"(?:\([a-z]\))?\s*[:.|]")
_CAPTION_INSIDE = re.compile(r"\b(?:Figure|Fig\.|Table|Algorithm|Listing)\s\d+[a-z]?:\s")
# a caption's panel label or a figure number left at a sentence's end by the column break
_CAPTION_PIECE = re.compile(r"^(?:Left|Right|Top|Bottom|Middle|\([a-z]\))[:.]\s|"
                            r"(?<!in )(?<!of )(?<!to )(?<!see )(?<!and )(?<!by )(?<!from )(?<!at )(?<!with )"
                            r"\b(?:Figure|Fig\.|Table)\s\d+[a-z]?\.$")
# a figure's legend: what a colour, axis, bar, line or arrow stands for ("The gray area represents the
# pipeline bubble", "Orange and blue bars represent baseline and SARATHI"), or a table's key of
# abbreviations joined by + or / ("AT + RA denotes using Ring Attention", "R/T refers to ...")
_LEGEND = re.compile(
    r"(?i:^(?:\S+\s){0,5}?(?:red|orange|blue|green|gr[ae]y|black|yellow|purple|colou?r(?:s|ed)?|shaded|"
    r"unshaded|dashed|dotted|solid|[xy]-axis|axis|bars?|lines?|arrows?|areas?|curves?|boxes|markers?|labels?|"
    r"legend|lower[- ]case|upper[- ]case)\b"
    r"[^.;]{0,40}?\b(?:denotes?|represents?|indicates?|means?|refers? to|stands? for|corresponds? to)\b)|"
    r"^[A-Z0-9][\w-]*(?:\s?[+/]\s?[A-Z0-9][\w-]*)+\s(?:denotes?|represents?|refers? to|means?|stands? for)\b|"
    # what a mark of the plot shows: "the numbers above the TASO bars show the speedup", "The vertical
    # line shows the maximum per-GPU rate", "Red dot depicts 84.4% top-1 accuracy": 7 sentences of the
    # 27 PDFs, every one a figure's caption
    r"(?i:^(?:\S+\s){0,9}?(?:bars?|lines?|arrows?|curves?|boxes|markers?|dots?)\b[^.;]{0,30}?"
    r"\b(?:shows?|depicts?|highlights?)\b)")
_REF = (r"(?:Figures?|Figs?\.|Tables?|Tab\.|Algorithms?|Alg\.|Listings?|Sections?|Sec\.|Secs\.|§|Appendix|"
        r"Eq\.|Equation)")
_POINTER_START = re.compile(
    rf"^(?:See )?{_REF}\s*\(?[A-Z]?\d")
# what a reader of the quote cannot see: "The pseudo-code shows ...", "The top figure shows ...",
# "The tables show ...", "The provided code snippet highlights ..." (15 such sentences in the 27 shared
# papers, 2026-12-01); not "This table is a standardized way ..." (MLIR's symbol table)
_ARTIFACT = (r"(?:pseudo-?code|code snippets?|code listings?|snippets?|listings?|figures?|tables?|plots?|"
             r"charts?|diagrams?)")
_ARTIFACT_POINTER = re.compile(
    rf"^(?:the|this|these)\s+(?:(?:top|bottom|left|right|upper|lower|above|following|provided|preceding)\s+)?"
    rf"{_ARTIFACT}(?:\s+(?:below|above))?\s+(?:shows?|illustrates?|depicts?|demonstrates?|plots?|lists?|"
    r"presents?|gives?|highlights?|summari[sz]es?|includes?|contains?|confirms?|compares?|reports?|"
    r"(?:is|are) obtained)\b", re.I)
# a lead-in that points at a figure before a claim of its own: "As shown in the table, Ansor can match
# ..." (`clean` keeps the claim)
_AS_SHOWN = re.compile(rf"^As (?:shown|illustrated|depicted|listed|seen|reported) (?:in|by) (?:the )?"
                       rf"(?:{_ARTIFACT}|{_REF})\s*(?:\(?[A-Z]?\d+(?:\.\d+)*[a-z]?\)?(?:\([a-z]\))?\s*)?"
                       r"(?:(?:above|below)\s*)?,\s+(?=\w)",
                       re.I)
_SELF_OUTLINE = re.compile(
    r"^(?:This|The (?:next|following|rest of this|remainder of this)) (?:section|subsection|chapter|paper|"
    r"appendix)\b.{0,40}\b(?:describe|discuss|present|cover|show|detail|explain|introduce|organiz|evaluat)"
    r"|^The (?:rest|remainder) of (?:this|the) paper|\b(?:proof|details?) (?:is|are) (?:given |shown )?in "
    r"(?:Sec|Section|§|Appendix)", re.I)
# an outline sentence that says what the thing it introduces is ("This paper presents Timeloop, an
# infrastructure for ...", "This section introduces RadixAttention, a novel technique for ...", "This
# paper describes LLVM (Low Level Virtual Machine), a compiler framework ..."): the abstract's and a
# section's definition of its subject, a claim and no pointer. The thing named within six words of
# the verb, then an appositive ("a/an ...") or a relative clause ("which ...")
_OUTLINE_DEFINES = re.compile(
    r"\b(?:introduc|present|propos|describ)(?:es|ed|e|s)?\s+(?:the design of\s+)?(?:[\w\-’'.()]+\s+){0,6}?"
    r"[\w\-’'()]+\s*(?:,|—|–|\s-)\s*(?:(?:a|an)\s|which\s)", re.I)
_OUTLINE_VERB = re.compile(
    r"\b(?:we )?(?:describe|discuss|present|detail|explain|introduce|cover|evaluate)s?\b",
                           re.I)
# a short sentence that only says where something is: "The LLVM memory model is described in Section 2.3."
_WHERE_IT_IS = re.compile(r"\b(?:is|are)\s+(?:\w+\s+)?(?:described|discussed|presented|detailed|explained|"
                          r"introduced|given|shown|defined|provided)\s+in\s+(?:Sections?|Sec\.|§|Appendix)",
                          re.I)
# a roadmap over several sections: "we show the design of X in §4.2 and how it ... in §4.3"
_ROADMAP_VERB = re.compile(r"\bwe (?:\w+ )?(?:show|give|outline|describe|discuss|present|detail|explain|"
                           r"introduce|cover)\b", re.I)
_SECTION_REF = re.compile(r"(?:Sections?|Sec\.|§|Appendix)\s*[A-Z]?\d")
# a question put without its question mark, as a list of challenges does ("How to create a model
# instance without materializing any tensor storage."): it names a problem, it claims nothing
_HOW_TO = re.compile(r"^(?:\(?(?:\d{1,2}|[ivx]{1,4})\)\s+)?(?:How|What|Why|When|Where|Which|Whom?) to\b")
_HEADING = re.compile(r"^(?:\d+(?:\.\d+)*|[IVX]+|[A-Z])\.?\s+[A-Z][^.!?]*\.?$")
_NUMBER = re.compile(r"^[(\[]?[-+−~≈∼]?\d[\d.,]*(?:[eE][-+−]?\d+)?(?:[%×x]|[kKMGT]B?|ms|s)?[)\],;:]?$")
_MATH_SYMBOLS = re.compile(r"[∈∉∑Σ∏√⌈⌉⌊⌋≤≥≠≈∀∃∂∇⊙⊗⊕⊤←→↦∞∫ΘΩ◦]|(?<!\d)×|−|\s[=<>]\s|\^")
_SINGLE = re.compile(r"^[A-Za-z][′']?[,.;:)]?$")
_BACK_REFERENCE = re.compile(
    r"^(?:(?:However|Thus|Therefore|Hence|Moreover|Furthermore|In addition|As a result|Instead|Also|"
    r"Consequently|Additionally|Similarly|Still|Yet|Otherwise|Then|Finally|In turn|In this case|"
    r"In contrast|On the other hand|Unfortunately|Fortunately|Again|Here),?\s+)?"
    r"(?i:This|These|Those|That|It|Its|They|Their|Them|Such|Both|He|She|The former|The latter|"
    r"The same|Doing so|Each of these|All of these|None of these)\b"
    r"(?!\s+(?:paper|work|article|thesis|section|subsection|chapter|appendix)\b)")


def _words(sentence: str) -> list[str]:
    return sentence.split()


def function_share(sentence: str) -> float:
    """Share of the sentence's words that are English function words (prose: ~0.3-0.5)."""
    words = [w.strip(".,;:()[]\"'“”").lower() for w in _words(sentence)]
    words = [w for w in words if w]
    return sum(w in _FUNCTION for w in words) / max(1, len(words))


# an answer asks the same sentence's kind up to three times (extract.sentences: whole and parts;
# extract.quotable; candidates), over every sentence of its passages: cached by text
@lru_cache(maxsize=65536)
def kind(sentence: str) -> str | None:
    """The kind of non-prose `sentence` is (one of KINDS), or None when it reads as a prose claim.

    `sentence`: one sentence of extracted paper text, whitespace-normalized. The first rule that
    matches decides, in the order: footnote/affiliation, pseudo-code, caption, garbled formula,
    table row/figure text, pointer, question, fragment.
    """
    s = " ".join(sentence.split())
    words = _words(s)
    if not words:
        return FRAGMENT
    share = function_share(s)
    if _footnote(s, share):
        return FOOTNOTE
    if _pseudo_code(s):
        return PSEUDO_CODE
    if (_CAPTION_START.match(s) or _CAPTION_INSIDE.search(s) or re.match(rf"^{_REF}\s*\d+[a-z]?\.?$", s)
            or _CAPTION_PIECE.search(s) or _LEGEND.search(s)):
        return CAPTION
    if _formula(s, words):
        return FORMULA
    if _table_row(words, share):
        return TABLE_ROW
    if _POINTER_START.match(s) or _ARTIFACT_POINTER.match(s) or (
            _SELF_OUTLINE.search(s) and not _OUTLINE_DEFINES.search(s)) or (
            len(words) <= 25 and _SECTION_REF.search(s) and _OUTLINE_VERB.search(s)) or (
            len(_SECTION_REF.findall(s)) >= 2 and _ROADMAP_VERB.search(s)) or (
            len(words) <= 15 and _WHERE_IT_IS.search(s)):
        return POINTER
    if s.rstrip("\"')”").endswith("?") or re.search(r"\?\s+(?:[•\-–]|\(?\d\)|[A-Z])", s) or _HOW_TO.match(s):
        return QUESTION
    if _fragment(s, words):
        return FRAGMENT
    return None


def _footnote(s: str, share: float) -> bool:
    if _FOOTNOTE_MARK.match(s) or _EMAIL.search(s) or _FRONT_MATTER.search(s):
        return True
    if any(_common(m.group(1)) for m in _GLUED_NOTE.finditer(s)):
        return True  # a footnote spliced into the sentence (`clean` takes out those the body resumes after)
    if _INSTITUTION.search(s) and share < 0.2:
        return True  # an affiliation line: institutions and names, no sentence around them
    without = _URL.sub(" ", s)
    return without != s and len(without.split()) < 6  # little but a link


def _common(word: str) -> bool:
    """Whether `word` is common English (a footnote's first word, not a unit like "Gbps")."""
    return zipf_frequency(word.lower(), "en") >= GLUED_WORD_ZIPF


def _pseudo_code(s: str) -> bool:
    numbered = len(_LINE_NUMBER.findall(s))
    keywords = len(_CODE_WORDS.findall(s))
    shapes = len(_CODE_SHAPE.findall(s))
    if numbered >= 2 or (numbered and keywords) or re.match(r"^\d{1,2}:\s", s):
        return True
    if keywords >= 2 or shapes >= 2 or _SHELL.search(s):
        return True
    return bool(keywords and shapes) or bool(re.match(r"^(?:Algorithm|Procedure)\s+\d", s))


def _table_row(words: list[str], share: float) -> bool:
    numbers = sum(bool(_NUMBER.match(w)) for w in words)
    if len(words) >= 4 and numbers >= 0.3 * len(words):
        return True
    if any(c in " ".join(words) for c in "✔✓✗✘"):
        return True
    if sum(w == "|" for w in words) >= 2:  # cells set off by free-standing bars ("| 4096 | 2.1x |");
        return True  # "|V| vertices" and "||W||" hold none
    run = best = 0
    for w in words:  # axis ticks: "0.0 0.2 0.4 0.6"
        run = run + 1 if _NUMBER.match(w) else 0
        best = max(best, run)
    if best >= 4:
        return True
    capitalized = sum(w[0].isupper() for w in words if w[0].isalpha())
    if len(words) >= 8 and share < 0.05:
        return True  # not one function word in eight: no sentence
    if (len(words) >= 14 and share < 0.07) or (len(words) >= 25 and share < 0.12):
        return True  # labels and names, no sentence: a row or a figure's text
    return len(words) > 12 and capitalized > 0.5 * len(words) and share < 0.2


def _formula(s: str, words: list[str]) -> bool:
    symbols = len(_MATH_SYMBOLS.findall(s))
    singles = sum(bool(_SINGLE.match(w)) and w.strip(",.;:)").lower() not in {"a", "i"} for w in words)
    # exponents and fractions laid out flat: "O(N 2d 2M−1 )", "√ 1 2N"
    garbled = len(re.findall(r"\b\w+\s\d\w*\s\d\w*\s?\)|\(\s?\w\s\d|[√∑Σ∏]\s?\d+\s\d+\w*", s))
    # a bound whose fraction was laid out flat: "O( K−1 M+K−1 )" (typed, "O(" is never followed by a space)
    garbled += len(re.findall(r"\b[OΘΩ]\(\s", s))
    # two lone letters in a row ("P j e sj", "( n p ) t", "f g You are ..."): a fraction or an
    # index laid out flat, or the labels of a figure
    garbled += len(re.findall(r"(?:^|\s)(?![ai]\s)[a-z]\s(?![ai](?:\s|$))[a-z](?=\s|$)", s))
    if symbols >= 3 or garbled > 0:
        return True
    return (symbols >= 1 and singles >= max(3, len(words) // 12)) or singles >= max(4, len(words) // 5)


def _fragment(s: str, words: list[str]) -> bool:
    if len(words) < 5:
        return True
    first = words[0].strip("\"'“(,;:")
    if first[:1].islower() and not any(c.isupper() for c in first):  # "row-stationary"; not "vLLM"
        return True  # the tail of a sentence cut by a figure or a column break
    if (_HEADING.match(s) or re.match(r"^[A-Z][\w ]{0,20}\d*:\s", s)) and len(words) <= 8:
        return True  # "7.2.2 Shared Parameters.", "Step 3: Correction kernel generation."
    if re.search(r"(?:\.\.\.|…)[\"')\]”]?$", s):
        return True  # an example or a line cut short ("User: Write a story...", "for (...")
    if any(not _abbreviation_ends(s[: m.start() + 1]) for m in _SPLICE.finditer(s)):
        return True  # two pieces glued at a period: "Block table translation in vLLM. divides it ..."
    return not re.search(r"[.!:;\"')\]”]$", s)  # a sentence cut off where the text stopped


# a period, then a lower-case word: prose puts one there only after an abbreviation, so elsewhere a
# caption or a figure's text ran into the body at a period ("Higher is better. result from KV cache
# reuse ..."; 93 candidate sentences of the shared corpus, 2026-12-01)
_SPLICE = re.compile(r"\.\s+(?=[a-z]{2,}\b)(?![ivx]+\))")
# abbreviations beyond the sentence splitter's own (chunk.ABBREVIATION), and dotted ones ("w.r.t.")
_MORE_ABBREVIATIONS = re.compile(r"(?:\b(?:seq|incl|min|max|avg|est|ca)|\.\w|\b[a-z])\.$")


def _abbreviation_ends(piece: str) -> bool:
    """Whether `piece` (text up to a period) ends with an abbreviation, not a sentence."""
    return bool(ABBREVIATION.search(piece) or _MORE_ABBREVIATIONS.search(piece))


# a list item's marker: a bullet ("•", "◦", "▪", a dash at an item's start) or a number or roman numeral
# in brackets ("(1)", "2)", "(ii)", "iii)"); the parser runs a list into one paragraph ("... contributions:
# • X trains ... • Y achieves ...")
_BULLET = re.compile(r"(?:^|(?<=\s))[•◦▪](?=\s)|(?<=[.:;])\s[–-](?=\s[A-Z])")
_ITEM_NUMBER = re.compile(r"(?:^|(?<=\s))\(?(?:\d{1,2}|[ivx]{1,4})\)(?=\s)")
# a period where an abbreviation rule saw a name's initial, but a sentence ends: a single capital letter
# (a variable: "micro-steps M. In our experiments ...") before a word that opens sentences, never a surname
_LETTER_END = re.compile(r"(?<=\s[A-Z])\.\s+(?=(?:The|We|In|This|These|It|Our|For|To|As|Each|Thus|However|"
                         r"Therefore|Here|When|Since|Finally|Moreover|Furthermore|Note|A|An)\s)")
# what makes a short sentence a statement rather than a heading: a verb of being or having, a modal, or
# a pronoun ("Higher is better.", "We do.")
_STATEMENT_WORDS = frozenset(re.findall(r"\S+", "is are was were be been being has have had do does did can "
                                       "could will would shall should may might must we it they this these "
                                       "that which who our its their there here"))
_SECTION_NUMBER = re.compile(r"^(?:\d+(?:\.\d+)*|[IVX]+|[A-Z](?:\.\d+)*)\.?\s+(?=[A-Z])")
# a numbered label before a run-in heading: "C1: Early-finished ...", "S2: Selective batching.", "Step 3:
# Correction kernel generation.", "Baseline 1: FasterTransformer."; not a figure's, table's or theorem's
# label (those are captions, statements or code, told apart by `kind` first)
_HEADING_LABEL = re.compile(r"^(?!(?:Figure|Fig|Table|Tab|Algorithm|Theorem|Lemma|Corollary|Definition|"
                            r"Equation|Eq|Listing|Section|Appendix|Question|Answer|Example)\b)"
                            r"(?:[A-Z][a-z]{0,11}\s?)?[A-Z]?\d{1,2}[a-z]?:\s+(?=[A-Z])")


def pieces(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """(start, end) of the parts of the sentence text[start:end] that may stand on their own: its
    list items (a lead-in ending at a colon, then one part per bullet or numbered item; a bullet is
    left out, an item's number kept: answering.extract lets the next item of a list follow a chosen
    one), split too at a period after a lone capital letter followed by a word that opens sentences
    ("... micro-steps M. In our experiments ..."). A period followed by a lower-case word (a caption
    or a column's text glued into the sentence) is not split: the piece before it is as often the
    caption's own text as the sentence (docs/measurements.md, h12bullet).
    Numbered items are split only when there are two or more. Offsets index `text`; a sentence with
    none of these is returned whole."""
    cuts: list[tuple[int, int]] = []  # (where the piece before ends, where the next starts)
    for m in _BULLET.finditer(text, start, end):
        cuts.append((m.start(), m.end()))
    numbers = [m for m in _ITEM_NUMBER.finditer(text, start, end)  # not the end of "(Line 3)"
               if text[m.start()] == "("
               or text.rfind("(", start, m.start()) <= text.rfind(")", start, m.start())]
    if len(numbers) >= 2:
        cuts += [(m.start(), m.start()) for m in numbers]  # the number kept: the next item follows its list
    for m in _LETTER_END.finditer(text, start, end):
        cuts.append((m.start() + 1, m.end()))
    out, cursor = [], start
    for a, b in sorted(cuts):
        if a >= cursor:
            out.append((cursor, a))
            cursor = b
    out.append((cursor, end))
    return trimmed_spans(text, out)


def heading(sentence: str) -> str | None:
    """The run-in heading `sentence` is, without its section number or numbered label (`_HEADING_LABEL`)
    and final period ("3.3.3 Forward Prefetching." -> "Forward Prefetching", "S2: Selective batching."
    -> "Selective batching", "The tile quantization effect." -> "The tile quantization effect"), or
    None when it reads as a statement: up to eight words, starting with a capital letter or a section
    number, no verb of being, modal or pronoun (_STATEMENT_WORDS), nothing but a period or colon at its
    end."""
    s = " ".join(sentence.split())
    m = re.match(r"^(.*?)[.:]?$", s)
    body = _SECTION_NUMBER.sub("", _HEADING_LABEL.sub("", m.group(1) if m else s))
    words = body.split()
    if not 1 <= len(words) <= 8 or not words[0][:1].isupper() or not re.fullmatch(r"[\w\s\-/&',()]+", body):
        return None
    if any(w.lower().strip(",()'") in _STATEMENT_WORDS for w in words):
        return None
    return body


def refers_back(sentence: str) -> bool:
    """Whether the sentence's subject refers to an earlier sentence ("This", "It", "These ...")."""
    return bool(_BACK_REFERENCE.match(sentence.lstrip("•-– ")))


_PAPER_REFS = re.compile(r"\s?\[\d+(?:\s*[,\u2013-]\s*\d+)*\]")
_AUTHOR_YEAR = re.compile(r"\s?\((?:(?:e\.g\.|see|cf\.),?\s)?"
                          r"(?:[A-Z][\w\-']+(?:\s(?:et al\.|and|&)\s?[A-Z]?[\w\-']*)?"
                          r",?\s(?:19|20)\d\d[a-z]?(?:;\s?)?)+\)")
_BREAK_HYPHEN = re.compile(r"\b([a-z]{2,})- ([a-z]{2,})\b")


def reference_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each piece of `text` that `clean` takes out of a sentence: numeric and
    author-year citations, links and footnotes spliced into the body text. Locating a cleaned
    sentence in its passage or page skips these (answering.cite.normalized). PDFium's soft-hyphen
    marks inside a name ("Don\ufffegarra") count as a hyphen, so the page's own text matches too."""
    probe = text.replace("\ufffe", "-").replace("\xad", "-")  # same length: indices stay valid
    spans = [m.span() for pattern in (_PAPER_REFS, _AUTHOR_YEAR, _URL) for m in pattern.finditer(probe)]
    return spans + [m.span() for m in _SPLICED_NOTE.finditer(probe) if _common(m.group(1))]


# a paragraph's run-in heading the parser joined to its first sentence ("Register pressure To maintain
# optimal performance, ...", "AllReduce This operator performs ...", "B.1 Memory-efficient forward pass
# The main challenge ..."): up to six words, none a function word, then a word that opens sentences
_RUN_IN = re.compile(r"^((?:[A-Z](?:\.\d+)+\s+)?[A-Z][\w\-]*(?:\s+[\w\-]+){0,5}?)\s+(?=(?:The|We|Each|In|"
                     r"This|These|Our|An?|It|For|To|When|Since|Unlike|Given|As|Here|Both|All|Most|Many)\s+[a-z])")
_NOT_HEADING = frozenset({
    "a", "an", "the", "of", "to", "in", "on", "for", "and", "or", "is", "are", "be", "as", "by", "with",
    "that", "this", "we", "it", "its", "our", "let", "consider", "note", "suppose", "assume", "recall",
    "see", "if", "when", "where", "then", "thus", "so", "but", "also"})


def run_in_heading(sentence: str) -> str:
    """`sentence` with a run-in heading at its start set off by a colon ("Register pressure: To
    maintain ..."); unchanged when it has none. Letters and digits are kept, so the sentence is still
    found in its page (answering.cite.normalized)."""
    m = _RUN_IN.match(sentence)
    if not m or any(w.lower() in _NOT_HEADING for w in m.group(1).split()):
        return sentence
    return f"{m.group(1)}: {sentence[m.end():]}"


def clean(sentence: str) -> str:
    """The sentence as shown: whitespace normalized, the paper's own citations ("[22]", "(Li et al.,
    2020)"), a lead-in pointing at a figure ("As shown in Figure 6, "), footnote links (a link with
    its footnote's number glued to it: a link the sentence writes itself stays, as text the views
    escape), footnotes spliced into it by the parser and leading
    bullets taken out, words broken at a line end ("lan- guage") joined. Raises nothing; the words of
    the claim are kept as written."""
    s = " ".join(sentence.split())
    s = _SPLICED_NOTE.sub(lambda m: "" if _common(m.group(1)) else m.group(0), s)
    s = _PAPER_REFS.sub("", s)
    s = _AUTHOR_YEAR.sub("", s)
    s = _NOTE_LINK.sub("", s)  # a footnote's link; a link the sentence writes stays, shown as text
    s = _BREAK_HYPHEN.sub(lambda m: m.group(0) if m.group(2) in {"and", "or", "to"}
                          else m.group(1) + m.group(2), s)
    s = re.sub(r"^[•\-–·◦▪]\s*", "", s)
    lead = _AS_SHOWN.match(s)
    if lead:  # "As shown in Figure 6, Ansor performs ...": the claim without the pointer
        s = s[lead.end()].upper() + s[lead.end() + 1 :]
    return run_in_heading(re.sub(r"\s+([,.;:])", r"\1", s).strip())
