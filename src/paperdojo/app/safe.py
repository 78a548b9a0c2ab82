"""Untrusted text made safe to show: the one place paper- and model-derived strings are escaped.

Every string that comes from a paper or a model (sentences, passages, titles, section names,
concept phrases, file names, model output, error messages quoting any of them) goes through
`text` (or `marked`, `cited`) before it reaches a Gradio Markdown, HTML or Chatbot view.

The result is safe in both contexts the app uses: as HTML (tags, quotes and `&` become entities)
and as Markdown (the characters that make links, images, emphasis, code, tables, headings and
LaTeX become numeric entities, which Markdown shows as the characters themselves, and bare-URL
autolinks are broken up). So no element is ever built from paper text and no URL found in a paper
is ever fetched by the browser.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from paperdojo.records import MARKED, unmark_stars

# Markdown's active characters (CommonMark + GFM + Gradio's `$` LaTeX delimiters) as entities;
# `:` only where it would start a URL, `.` only in "www.", `@` always (e-mail autolinks).
_ENTITIES = {c: f"&#{ord(c)};" for c in "&<>\"'\\`*_[]{}!#|~$@"}
_URLISH = re.compile(r"(?i)(?<=[a-z0-9])(:)(?=//)|(?<=www)(\.)")
_CITATION = re.compile(r"&#91;(\d{1,3})&#93;")
# what starts a Markdown block at a line's start when lines are kept (inline=False): a list item
# ("- ", "+ ", "1. ", "2) "), a setext heading's or a thematic break's underline ("===", "---"),
# and indentation (4 spaces make a code block)
_LINE_INDENT = re.compile(r"(?m)^[ \t]+")
_LINE_BLOCK = re.compile(r"(?m)^(?:([-+=])|(\d{1,9})([.)]))")


def text(value: object, inline: bool = True) -> str:
    """`value` as a string that renders literally in Markdown and in HTML.

    inline: whitespace runs (newlines included) become one space, so paper text cannot start a
    Markdown heading, list, quote or table row of its own; else the lines stay, each without its
    indentation and with a list marker or underline at its start as an entity (a model's "- a",
    "1. a", "Title\\n===" or indented lines build no list, heading, rule or code block).
    """
    s = str(value)
    s = re.sub(r"\s+", " ", s) if inline else _LINE_INDENT.sub("", s)
    s = "".join(_ENTITIES.get(c, c) for c in s)  # one pass: an entity's own `&#` is never re-escaped
    if not inline:  # after that pass (its `&` would be escaped again); none of these is in it
        s = _LINE_BLOCK.sub(lambda m: f"&#{ord(m.group(1))};" if m.group(1)
                            else f"{m.group(2)}&#{ord(m.group(3))};", s)
    s = _URLISH.sub(lambda m: "&#58;" if m.group(1) else "&#46;", s)
    return s


def strong(value: object) -> str:
    """`value` escaped (`text`) in <strong>: bold whatever the text holds (Markdown's `**` fails on
    text that starts or ends with a space or punctuation and leaves stray asterisks)."""
    return f"<strong>{text(value).strip()}</strong>"


def em(value: object) -> str:
    """`value` escaped (`text`) in <em> (see `strong`)."""
    return f"<em>{text(value).strip()}</em>"


def marked(value: str) -> str:
    """A passage whose **term** marks (ours, from `retrieve.mark`, `retrieve.MARKED`) become <mark>;
    the rest is `text` (the paper's own asterisks, escaped by `mark`, shown as it wrote them)."""
    out, last = [], 0
    for m in MARKED.finditer(value):
        out.append(text(unmark_stars(value[last : m.start()])))
        out.append(f"<mark>{text(unmark_stars(m.group(1)))}</mark>")
        last = m.end()
    out.append(text(unmark_stars(value[last:])))
    return "".join(out)


def cited(value: str, link: Callable[[int], str] | None = None) -> str:
    """An answer's text (extractive or a model's) escaped, with each [n] made our own marker.

    link(n): the markup of one [n], called once per marker in reading order; default bold "[n]".
    """
    make = link or (lambda n: f"**[{n}]**")
    return _CITATION.sub(lambda m: make(int(m.group(1))), text(value, inline=False))
