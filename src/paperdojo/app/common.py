"""What the app's tabs share: the look (CSS), source cards, cited-answer Markdown, page images.

Every string from a paper or a model goes through `paperdojo.app.safe` here before it is shown.
"""

from __future__ import annotations

import html
import logging
import re
import urllib.parse
from collections.abc import Callable, Iterable
from pathlib import Path

import gradio as gr
from PIL import Image

from paperdojo.answering.answer import Answer
from paperdojo.answering.cite import cited_sentences
from paperdojo.app import safe
from paperdojo.app.pages import render_page
from paperdojo.records import Chunk, page_range
from paperdojo.util import short_title
from paperdojo.workspace import LibraryView, Workspace

log = logging.getLogger(__name__)

CSS = """
.src-card {border:1px solid var(--border-color-primary); border-radius:10px; padding:10px 12px;
           margin-bottom:8px; background: var(--background-fill-secondary);}
.src-card .meta {color: var(--body-text-color-subdued); font-size: 0.9em;}
.src-card mark {background:#ffe066; color:#1a1a1a; padding:0 2px; border-radius:3px;}
.src-card .cited-sentence {border-left:4px solid #f0a800; margin:6px 0; padding:2px 8px; font-weight:600;}
.src-card .passage {color: var(--body-text-color-subdued);}
a.cite {font-weight:700; text-decoration:none; white-space:nowrap;}
#status {font-size: 0.9em; color: var(--body-text-color-subdued);}
#library-table .table-wrap, #library-table [class*="table-wrap"] {overflow-x:auto;}
#library-table table {min-width: 860px;}
#library-table td, #library-table th {min-width: 84px;}
#library-table td:nth-child(2), #library-table th:nth-child(2) {min-width: 200px;}
.library-summary {font-weight:600;}
#cite-pick {position:absolute; width:1px; height:1px; overflow:hidden; clip:rect(0 0 0 0);}
"""
# [n] links in an answer select their source and show its page (a click sets the hidden #cite-pick box)
HEAD = """<script>
document.addEventListener('click', (e) => {
  const a = e.target.closest && e.target.closest('a[href^="#cite-"]');  // not a.cite to a PDF
  if (!a) return;
  e.preventDefault();
  const box = document.querySelector('#cite-pick textarea, #cite-pick input');
  if (!box) return;
  box.value = a.getAttribute('href').slice(6) + ':' + Date.now();  // "T-J": answer T's citation J
  box.dispatchEvent(new Event('input', {bubbles: true}));
}, true);
// Gradio's empty image placeholder carries an aria-label on a plain div (axe: aria-prohibited-attr)
new MutationObserver(() => document.querySelectorAll('div.empty[aria-label]:not([role])')
  .forEach((d) => d.setAttribute('role', 'img'))).observe(document.documentElement,
  {childList: true, subtree: true});
</script>"""


def merged_pages(spans: Iterable[tuple[int, int]]) -> str:
    """Page spans (first, last) as one label in reading order, spans that overlap or touch merged:
    [(2, 2), (1, 1), (5, 6), (6, 6)] -> "pp. 1–2, pp. 5–6"; "" for none."""
    merged: list[list[int]] = []
    for first, last in sorted(spans):
        if merged and first <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last])
    return ", ".join(page_range(first, last) for first, last in merged)


def ocr_mark(src: dict) -> str:
    """" (OCR)" for a passage whose text was read by OCR from a page image, else ""."""
    return " (OCR)" if src.get("ocr") else ""


def source_card(src: dict, focus: dict | None = None) -> str:
    """One cited or found passage as an HTML card: title, section, the cited sentences with their
    own pages (always shown whole; `focus`, a clicked one, first), a link opening the PDF at the
    first of them, then the passage."""
    cites = src.get("cites") or []
    if focus is not None:
        cites = [focus] + [c for c in cites if c is not focus and c != focus]
    first, last = (focus["page_start"], focus["page_end"]) if focus else (src["page"], src["page_last"])
    pages = page_range(first, last) + ocr_mark(src)
    href = re.sub(r"#page=\d+$", f"#page={first}", src.get("link") or "")
    link = (f' · <a href="{html.escape(href)}" target="_blank">open the PDF at {pages}</a>'
            if href else "")
    quoted = "".join(f'<div class="cited-sentence">{safe.text(c["sentence"])} '
                     f'<span class="meta">({page_range(c["page_start"], c["page_end"])})</span></div>'
                     for c in cites if c["i"] >= 0)
    return (f'<div class="src-card"><b>[{src["n"]}] {safe.text(src["title"])}</b><br>'
            f'<span class="meta">{safe.text(src["section"])}, {pages}{link}</span>{quoted}'
            f'<p class="passage">{safe.marked(src["passage"])}</p></div>')


def citation_labels(ans: Answer) -> list[tuple[int, str]]:
    """For each [n] of the answer text in order: (index into ans.citations or -1, its page label)."""
    known = {s.n for s in ans.sources}
    out, j = [], 0
    for _, numbers in cited_sentences(ans.text):
        for n in numbers:
            if n in known and j < len(ans.citations):
                c = ans.citations[j]
                out.append((j, page_range(c.page_start, c.page_end)))
                j += 1
            else:
                out.append((-1, ""))
    return out


def answer_markdown(ans: Answer, href: Callable[[int], str] | None = None) -> str:
    """An answer as chat Markdown: notes, the cited text (or the refusal and nearest sections), sources.

    href(j): where the link of citation j (its index in ans.citations) goes; default "#cite-0-{j}",
    which the page's script turns into a click on the Ask tab's hidden #cite-pick box (answer 0 of
    the chat's; the Ask tab passes its own answer's number, see `cite_href`). A link whose href is
    not "#cite-..." opens in a new tab (the Interview tab's go to the PDF page); "" gives no link.
    """
    href = href or (lambda j: cite_href(0, j))
    parts = [f"> ⚠️ {safe.text(note)}" for note in ans.notes]
    if ans.refused:
        parts.append(safe.strong(ans.text))
        if ans.nearest:
            parts.append("Nearest sections:\n" + "\n".join(
                f"- {safe.text(s.title)}" + (f" — {safe.em(s.section)}" if s.section.strip()
                                             else "") + f", p. {s.page_start}" for s in ans.nearest))
    else:
        labels = iter(citation_labels(ans))

        def link(n: int) -> str:
            j, pages = next(labels, (-1, ""))
            if j < 0:
                return f"**[{n}]**"
            target = href(j)
            if not target:
                return f"**[{n}, {pages}]**"
            extra = "" if target.startswith("#cite-") else ' target="_blank" rel="noopener"'
            return (f'<a class="cite" href="{html.escape(target)}"{extra} title="source [{n}], {pages}">'
                    f"[{n}, {pages}]</a>")

        parts.append(safe.cited(ans.text, link))
        cited = ", ".join(f"[{s.n}] {short_title(s.chunk.title)}, {s.chunk.section}, "
                          + (merged_pages((c.page_start, c.page_end) for c in ans.citations if c.n == s.n)
                             or page_range(s.chunk.page_start, s.chunk.page_end))
                          + (" (OCR)" if s.chunk.ocr else "") for s in ans.cited)
        parts.append(f"<sub>Sources: {safe.text(cited)} · {safe.text(ans.mode)} · {ans.ms:.0f} ms</sub>")
    return "\n\n".join(parts)


def cite_href(turn: int, j: int) -> str:
    """The href of citation j of the chat's answer number `turn` (0-based, counting the answers that
    have sources): "#cite-{turn}-{j}", read back by `show_citation`."""
    return f"#cite-{turn}-{j}"


def citation_pdf_href(ws: Workspace, ans: Answer) -> Callable[[int], str]:
    """href(j) for `answer_markdown` outside the Ask tab: citation j's PDF opened at its page ("",
    no link, when the PDF is not cached), so the link does not depend on the Ask tab's sources."""
    by_n = {s.n: s.chunk.doc_id for s in ans.sources}

    def href(j: int) -> str:
        c = ans.citations[j]
        doc = by_n.get(c.n)
        return file_link(ws.pdf_path(doc), c.page_start) if doc else ""
    return href


def file_link(path: Path | None, page: int) -> str:
    """The app's URL of a cached PDF opened at `page` ("" when the PDF is not cached), its path
    percent-encoded: a home whose path holds a space or a parenthesis ("~/My Papers (2024)") ended a
    Markdown link early, which then showed as its raw text, and left a space in an HTML href."""
    return f"/gradio_api/file={urllib.parse.quote(str(path))}#page={page}" if path else ""


def source_record(ws: Workspace, n: int, chunk: Chunk, passage: str, cites: list[dict] | None = None) -> dict:
    """What the UI keeps of a cited or found passage (JSON-able, for gr.State).

    cites: the sentences of this passage the answer cites, each {i, sentence, page_start, page_end}
    (i: its index in the answer's citations). The record's page is the first cited sentence's.
    """
    cites = cites or []
    first, last = ((cites[0]["page_start"], cites[0]["page_end"]) if cites
                   else (chunk.page_start, chunk.page_start))
    return {"n": n, "doc_id": chunk.doc_id, "title": chunk.title, "section": chunk.section,
            "page_start": chunk.page_start, "page_end": chunk.page_end, "text": chunk.text,
            "passage": passage, "cites": cites, "page": first, "page_last": last,
            "link": file_link(ws.pdf_path(chunk.doc_id), first), "ocr": chunk.ocr}


def page_image(ws: Workspace, src: dict | None, cite: dict | None = None) -> Image.Image | None:
    """The page of `cite` (default: the source's first cited sentence, else its passage's first page)
    with the cited sentences on it marked strongly and the passage lightly; None when it cannot render.
    """
    if not src:
        return None
    path = ws.pdf_path(src["doc_id"])
    if path is None:
        return None
    number = cite["page_start"] if cite else src["page"]
    sentences = [c["sentence"] for c in src.get("cites") or [] if c["page_start"] <= number <= c["page_end"]]
    if cite:
        sentences = [cite["sentence"]]
    try:
        return render_page(path, number, src["text"], sentences=sentences)[0]
    except Exception:  # noqa: BLE001 - a page that cannot render must not break the answer
        log.exception("rendering %s p.%s failed", src["doc_id"], number)
        return None


def choices(sources: list[dict], cited: set[int] | None = None) -> list[str]:
    """Radio labels; with `cited`, passages the answer did not use are marked."""
    return [f"[{s['n']}] {short_title(s['title'])} — {s['section']}, "
            f"{page_range(s['page'], s['page_last'])}" + ocr_mark(s)
            + ("" if cited is None or s["n"] in cited else " (not cited)") for s in sources]


def show_source(ws: Workspace, choice: str | None, sources: list[dict]) -> tuple[str, Image.Image | None]:
    """The card and page image of the source a radio label names."""
    if not choice or not sources:
        return "", None
    label = re.match(r"\[(\d+)\]", choice)
    if label is None:
        raise ValueError(f"not a source label: {choice!r}")
    n = int(label.group(1))
    src = next((s for s in sources if s["n"] == n), None)
    return (source_card(src), page_image(ws, src)) if src else ("", None)


def status_line(ws: Workspace, view: LibraryView | None = None) -> str:
    """The header's line: what the live index (or `view`'s generation) holds, or what is wrong
    with it (escaped)."""
    return safe.text((view or ws.view()).message)


def filter_choices(ws: Workspace, view: LibraryView | None = None) -> tuple[dict, dict]:
    """Updates for the paper and category filters: the indexed papers and their categories (of
    `view`'s generation when given, else the live one)."""
    indexed = (view or ws.view()).indexed
    papers = [(f"{short_title(d.title)} ({d.id})", d.id) for d in indexed]
    cats = sorted({d.category for d in indexed})
    return gr.update(choices=papers), gr.update(choices=cats)


def show_citation(ws: Workspace, pick: str, turns: list[list[dict]]) -> tuple:
    """A clicked [n] link ("T-j:nonce", see `cite_href`): (radio update with answer T's sources and
    citation j's picked, card, page image, T) of citation j of answer T; `turns` holds each answer's
    source records (`source_record`), oldest first. An unknown pick changes nothing."""
    nothing = gr.update(), gr.update(), gr.update(), gr.update()
    m = re.match(r"(\d+)-(\d+)(?::|$)", pick or "")
    if m is None or int(m.group(1)) >= len(turns or []):
        return nothing
    turn, j = int(m.group(1)), int(m.group(2))
    sources = turns[turn]
    for i, src in enumerate(sources):
        cite = next((c for c in src.get("cites") or [] if c["i"] == j), None)
        if cite is not None:
            labels = choices(sources, {s["n"] for s in sources if s.get("cites")})
            return (gr.update(choices=labels, value=labels[i]), source_card(src, cite),
                    page_image(ws, src, cite), turn)
    return nothing


def located(ws: Workspace, chunk: Chunk, text: str) -> dict | None:
    """`text` (a snippet with **marks** and "..." ends, or a phrase) as a cite of its own pages
    in `chunk` ({i: -1, sentence, page_start, page_end}), or None when it is not in the chunk."""
    plain = re.sub(r"\*\*(.+?)\*\*", r"\1", text).strip()
    plain = re.sub(r"^\.\.\.\s*|\s*\.\.\.$", "", plain)
    try:
        pages = ws.answerer().page_map()
    except Exception:  # noqa: BLE001 - no index: the passage's own first page stands
        return None
    span = pages.locate(chunk, plain) if pages else None
    if span is None or pages is None:
        return None
    return {"i": -1, "sentence": plain, "page_start": pages.page_at(chunk.doc_id, span[0]),
            "page_end": pages.page_at(chunk.doc_id, span[1] - 1)}
