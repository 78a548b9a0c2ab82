"""Reading an interview answer without a language model: its claims, and what contradicts the papers.

An answer earns credit sentence by sentence. A sentence is a *claim* when it reads as prose (function
words between its terms); a comma-separated list of terms states nothing and earns little, however
many of the right terms it holds (`claim_weight`). A claim *contradicts* the papers when, against
the reference sentences it is closest to, it flips a direction ("fewer" where the paper says
"more", "offline" where it says "online"), denies what they state (a negation before words they
state without one), or gives a number that appears nowhere in the papers (`contradictions`).
These are lexical checks of a sentence against
its nearest reference sentences, from first principles: there is no NLI model here. A claim is
checked only against reference sentences it restates in their own terms (`checked_against`): a
paraphrase in plain words is never read as a reversal of a sentence it shares few words with.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from paperdojo.study.concepts import FUNCTION_WORDS, STOP, WORD, function_share, term_words

NEGATION = re.compile(r"\b(?:not|no|never|cannot|none|neither|nor|without|nothing|n't)\b|n't\b", re.I)
# a paper denies in other words too ("has yet to take advantage of", "lacks", "instead of"): a
# reference sentence saying so is not one whose claim a "not" in the answer reverses
IMPLICIT_NEGATION = re.compile(r"\b(?:yet to|fail(?:s|ed)? to|lacks?|lacking|unable|instead of|rather than|"
                               r"avoids?|avoiding|eliminat\w*|free of|absent|absence|unnecessary|no longer|"
                               r"removes?|omits?|skips?)\b", re.I)
# saying one does not know, in the usual ways: "I don't know", "no idea", "not sure", "can't recall",
# "I haven't read it", "beyond what I know", "dunno", "no clue", "I'd have to check", "pass"
DONT_KNOW = re.compile(r"\b(?:i\s+(?:do\s*n[o']t|don't|dont|have\s+no|am\s+not\s+sure|'m\s+not\s+sure)|"
                       r"not\s+(?:sure|familiar)|no\s+idea|never\s+(?:used|heard|read|looked))\b|"
                       r"\b(?:can(?:'|no)?t|could(?:\s*no|n')t)\s+(?:remember|recall|say|answer|tell)\b|"
                       r"\b(?:do\s*n[o']?t|don't)\s+(?:remember|recall)\b|"
                       r"\bhave(?:\s*no|n')t\s+(?:read|looked|seen|studied|used)\b|"
                       r"\b(?:beyond|outside)\s+(?:what\s+i\s+know|my\s+knowledge)\b|"
                       r"\bnot\s+something\s+i\s+know\b|\bno\s+clue\b|\bdunno\b|\bunsure\b|"
                       r"\bi'?d\s+(?:have|need)\s+to\s+(?:check|look)\b|\brather\s+not\s+guess\b|"
                       r"(?:^|[.!?;,:\-\u2014]\s*)pass[.!\s]*$", re.I)
# where a negation's scope ends: clause punctuation or a word that opens another clause ("... is
# never linked, which saves 15 kB": "saves" is not denied)
CLAUSE_END = re.compile(r"[,;:()\[\]]|\b(?:which|that|so|because|while|but|and|whereas|where|when|since|"
                        r"although|though)\b", re.I)
NUMBER = re.compile(r"(?<![\w.])(\d+(?:[.,]\d+)*)(?:\s*(%|x|×|times))?(?![\w.]*[A-Za-z]{2})")
UNITS = {"%": "%", "x": "x", "×": "x", "times": "x"}
# a number written against its unit ("69.8ms", "16GB", "3072GPUs"), which NUMBER leaves out
GLUED_NUMBER = re.compile(r"(?<![\w.])(\d+(?:[.,]\d+)*)(?=[A-Za-z]{1,6}\b)")
# words with an opposite direction or quantity; a claim using one where its nearest reference
# sentences use the other (and not it) states the reverse of the paper
_OPPOSITES = """
increase decrease; increase reduce; increases decreases; increases reduces; raise lower; higher lower;
more fewer; more less; larger smaller; bigger smaller; faster slower; speedup slowdown; many few;
most least; maximum minimum; maximize minimize; before after; earlier later; static dynamic;
online offline; forward backward; always never; easy hard; easy difficult; cheap expensive;
accurate inaccurate; exact approximate; sparse dense; synchronous asynchronous; explicit implicit;
manual automatic; grow shrink; grows shrinks; improve degrade; improves degrades; enable disable;
supported unsupported; possible impossible; necessary unnecessary; required optional;
horizontal vertical; coarser finer; wider narrower; deeper shallower; compute-bound memory-bound;
underestimate overestimate; lossless lossy; contiguous noncontiguous; ahead behind; rows columns;
""".strip()


@dataclass
class Opposites:
    """Stem -> the stems of its opposites, built with the same stemmer as the answer's words."""

    pairs: dict[str, set[str]]

    @classmethod
    def build(cls, stem: Callable[[str], str]) -> Opposites:
        """The table of opposite pairs (_OPPOSITES), both ways, with each side stemmed by `stem`."""
        pairs: dict[str, set[str]] = {}
        for pair in _OPPOSITES.replace("\n", " ").split(";"):
            words = pair.split()
            if len(words) != 2:
                continue
            a, b = (" ".join(stem(w) for w in term_words(x)) for x in words)
            pairs.setdefault(a, set()).add(b)
            pairs.setdefault(b, set()).add(a)
        return cls(pairs)


# a terse statement: this many words or more, at most one comma and a function word, reads as half a
# claim at least ("Smaller chunks reduce arithmetic intensity, so prefill efficiency goes down.": one
# function word in ten); a list of terms is cut by commas and has none (h14grade, measurements.md)
TERSE_WORDS, TERSE_COMMAS, TERSE_WEIGHT = 6, 1, 0.5


def claim_weight(sentence: str) -> float:
    """How much a sentence reads as a claim (0-1): prose holds ~35-50% function words, a list of
    terms ~0-10%. Linear from 10% (0) to 25% (1); a sentence of fewer than 4 words is no claim. A
    terse statement (TERSE_WORDS words or more, at most TERSE_COMMAS commas, a function word) weighs
    at least TERSE_WEIGHT."""
    words = WORD.findall(sentence)
    if len(words) < 4:
        return 0.0
    weight = min(1.0, max(0.0, (function_share(sentence) - 0.10) / 0.15))
    if len(words) >= TERSE_WORDS and sentence.count(",") <= TERSE_COMMAS and \
            any(w.lower() in FUNCTION_WORDS for w in words):
        weight = max(weight, TERSE_WEIGHT)
    return weight


def says_dont_know(text: str) -> bool:
    """A short answer that says the candidate does not know ("I don't know", "no idea")."""
    return len(WORD.findall(text)) <= 25 and bool(DONT_KNOW.search(text))


def numbers(text: str) -> set[str]:
    """The numbers of a text, normalised ("1,024" -> "1024", "4.0" -> "4"), ignoring 0-3 (counts
    and list markers written as digits are too common to check); a number with a unit also gives
    the number with its unit ("19x", "19 times" and "19×" -> "19" and "19x"; "19%" -> "19" and "19%"),
    so "within 19%" is checked against papers that say "19x". An "x" between two numbers is a
    product ("5120 x 40"), not a unit."""
    out = set()
    for m in NUMBER.finditer(text):
        raw = m.group(1).replace(",", "")
        try:
            value = float(raw)
        except ValueError:
            continue
        if value <= 3 and value == int(value):
            continue
        out.add(f"{value:g}")
        unit = m.group(2)
        if unit and not (unit in "x×" and re.match(r"\s*\d", text[m.end():])):
            out.add(f"{value:g}{UNITS[unit]}")
    return out


def stated_numbers(text: str) -> set[str]:
    """The numbers a text states (`numbers`), plus those written against their unit ("69.8ms",
    "92.33ms", "16GB" -> "69.8", "92.33", "16"). What the papers state is what an answer may repeat:
    an answer writing "69.8 ms" restates a paper's "69.8ms", it does not invent a number."""
    out = numbers(text)
    for m in GLUED_NUMBER.finditer(text):
        try:
            value = float(m.group(1).replace(",", ""))
        except ValueError:
            continue
        if not (value <= 3 and value == int(value)):
            out.add(f"{value:g}")
    return out


def stems_of(text: str, stem: Callable[[str], str]) -> set[str]:
    """Normalised stems (see concepts.term_words), plus each hyphenated pair joined with a space."""
    words = [stem(w) for w in term_words(text)]
    return set(words) | {f"{a} {b}" for a, b in zip(words, words[1:], strict=False)}


def content_stems(text: str, stem: Callable[[str], str]) -> set[str]:
    """Stems of the content words of `text` (no function or stop words, >= 3 letters)."""
    return {stem(w) for w in term_words(text) if w not in STOP and len(w) > 2}


def alignment(claim: str, reference: str, stem: Callable[[str], str]) -> float:
    """Share (0-1) of the claim's content stems that the reference sentence also uses: how far the
    claim restates that sentence in its words (a paraphrase in other words scores low, a claim built
    from the sentence's own terms high). 0 for a claim without content words."""
    mine = content_stems(claim, stem)
    return len(mine & content_stems(reference, stem)) / len(mine) if mine else 0.0


def checked_against(claim: str, nearest: Iterable[tuple[str, float]], stem: Callable[[str], str],
                    same_claim: float, same_terms: float) -> list[str]:
    """The reference sentences a claim is checked for contradiction against: those of `nearest`
    ((sentence, cosine) pairs, the claim's closest reference sentences) within cosine `same_claim`
    that also share at least `same_terms` of the claim's content stems (`alignment`).

    The second condition is the claim-level alignment: a claim restating a sentence in that
    sentence's terms can flip its direction or deny it, but a paraphrase in other words shares few
    terms with it, and its "not"/"no" or its direction words then say something the sentence says
    differently ("needs no hand-written model" for "learns the model"), not its reverse.
    """
    return [ref for ref, cosine in nearest
            if cosine >= same_claim and alignment(claim, ref, stem) >= same_terms]


def contradictions(sentence: str, nearest: Iterable[str], evidence_numbers: set[str],
                   stem: Callable[[str], str], opposites: Opposites) -> list[str]:
    """What in `sentence` contradicts its nearest reference sentences (empty: nothing found).

    Checks, each a reason string: a number the papers' passages never state; a word whose opposite
    the nearest sentences use (and not the word itself) next to a word both sentences share
    (`neighbours`); a negation of words a nearest sentence states, when none of the nearest sentences
    denies anything, not even in other words (`IMPLICIT_NEGATION`): a denial one of them makes is the
    paper's own (measured on the held-out graded answers, docs/measurements.md, h13grade).
    """
    reasons = []
    nearest = list(nearest)  # only reference sentences close enough to say the same thing
    unknown = sorted(numbers(sentence) - evidence_numbers)
    if unknown:
        reasons.append(f"the number {unknown[0]} is not in the papers")
    said = stems_of(sentence, stem)
    ref = set().union(*(stems_of(r, stem) for r in nearest)) if nearest else set()
    for word in sorted(said & opposites.pairs.keys()):
        flipped = opposites.pairs[word] & ref
        if flipped and word not in ref and not (opposites.pairs[word] & said):
            around = neighbours(sentence, {word}, stem)
            if not any(around & neighbours(r, flipped, stem) for r in nearest):
                continue  # the paper's opposite word is about something else ("increasing coverage")
            reasons.append(f'"{word}" where the paper says "{sorted(flipped)[0]}"')
            break
    negated = negated_stems(sentence, stem)
    # a denial one of the nearest sentences makes too (in its words or others) echoes the paper,
    # whatever a sibling sentence states without one
    echoed = any(negated_stems(r, stem) or IMPLICIT_NEGATION.search(r) for r in nearest)
    for r in nearest:
        if negated and not echoed and negated & stems_of(r, stem):
            reasons.append("a negation the paper does not make")
            break
    return reasons


def negated_stems(sentence: str, stem: Callable[[str], str]) -> set[str]:
    """Stems of the first three content words after each negation, within its clause ("needs no
    detailed hardware description" -> detail, hardwar, descript; "is never linked, which saves
    15 kB" -> link): what the sentence denies.

    The scope ends at clause punctuation or a word opening another clause (`CLAUSE_END`). Measured
    on graded_answers.jsonl (docs/measurements.md, session 11): without the bound, 0.49 sentences
    per correct_terms answer were flagged, as many as per wrong answer; with it, 0.40 against 0.47."""
    out: set[str] = set()
    for m in NEGATION.finditer(sentence):
        scope = sentence[m.end():]
        end = CLAUSE_END.search(scope)
        scope = scope[: end.start()] if end else scope
        after = [w for w in WORD.findall(scope) if w.lower() not in FUNCTION_WORDS][:3]
        out |= {stem(w) for w in term_words(" ".join(after))}
    return out


def neighbours(sentence: str, words: set[str], stem: Callable[[str], str], k: int = 2) -> set[str]:
    """Content stems within `k` content words before or after any word of `sentence` whose stem is in
    `words` (themselves excluded): what a direction word is about ("reduces pipeline bubbles" ->
    pipelin, bubbl). A reversal is one only when both sentences say it about the same thing."""
    tokens = [(stem(w), w in FUNCTION_WORDS) for w in term_words(sentence)]
    out: set[str] = set()
    for i, (w, _) in enumerate(tokens):
        if w in words:
            before = [t for t, function in tokens[:i] if not function][-k:]
            after = [t for t, function in tokens[i + 1:] if not function][:k]
            out |= set(before) | set(after)
    return out - words
