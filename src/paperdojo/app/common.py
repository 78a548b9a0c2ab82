"""What the app's tabs share: the look (CSS), source cards, cited-answer Markdown, page images.

Every string from a paper or a model goes through `paperdojo.app.safe` here before it is shown.
"""

from __future__ import annotations

import html
import logging
import re
from pathlib import Path

import gradio as gr
from PIL import Image

from paperdojo.answering.answer import Answer
from paperdojo.app import safe
from paperdojo.app.pages import render_page
from paperdojo.records import Chunk
from paperdojo.workspace import Workspace

log = logging.getLogger(__name__)

CSS = """
.src-card {border:1px solid var(--border-color-primary); border-radius:10px; padding:10px 12px;
           margin-bottom:8px; background: var(--background-fill-secondary);}
.src-card .meta {color: var(--body-text-color-subdued); font-size: 0.9em;}
.src-card mark {background:#ffe066; padding:0 2px; border-radius:3px;}
#status {font-size: 0.9em; color: var(--body-text-color-subdued);}
"""


def source_card(src: dict) -> str:
    """One cited or found passage as an HTML card (title, section, pages, link, marked passage)."""
    same = src["page_end"] == src["page_start"]
    pages = f"p. {src['page_start']}" + ("" if same else f"–{src['page_end']}")
    link = (f' · <a href="{html.escape(src["link"])}" target="_blank">open the PDF at this page</a>'
            if src.get("link") else "")
    return (f'<div class="src-card"><b>[{src["n"]}] {safe.text(src["title"])}</b><br>'
            f'<span class="meta">{safe.text(src["section"])}, {pages}{link}</span>'
            f'<p>{safe.marked(src["passage"])}</p></div>')


def answer_markdown(ans: Answer) -> str:
    """An answer as chat Markdown: notes, the cited text (or the refusal and nearest sections), sources."""
    parts = [f"> ⚠️ {safe.text(note)}" for note in ans.notes]
    if ans.refused:
        parts.append(f"**{safe.text(ans.text)}**")
        if ans.nearest:
            parts.append("Nearest sections:\n" + "\n".join(
                f"- {safe.text(s.title)} — *{safe.text(s.section)}*, p. {s.page_start}" for s in ans.nearest))
    else:
        parts.append(safe.cited(ans.text))
        cited = ", ".join(f"[{s.n}] {s.chunk.title.split(':')[0]}, {s.chunk.section}, p. {s.chunk.page_start}"
                          for s in ans.cited)
        parts.append(f"<sub>Sources: {safe.text(cited)} · {safe.text(ans.mode)} · {ans.ms:.0f} ms</sub>")
    return "\n\n".join(parts)


def file_link(path: Path | None, page: int) -> str:
    """The app's URL of a cached PDF opened at `page` ("" when the PDF is not cached)."""
    return f"/gradio_api/file={path}#page={page}" if path else ""


def source_record(ws: Workspace, n: int, chunk: Chunk, passage: str) -> dict:
    """What the UI keeps of a cited or found passage (JSON-able, for gr.State)."""
    return {"n": n, "doc_id": chunk.doc_id, "title": chunk.title, "section": chunk.section,
            "page_start": chunk.page_start, "page_end": chunk.page_end, "text": chunk.text,
            "passage": passage, "link": file_link(ws.pdf_path(chunk.doc_id), chunk.page_start)}


def page_image(ws: Workspace, src: dict | None) -> Image.Image | None:
    """The source's page with its passage highlighted; None when it cannot be shown."""
    if not src:
        return None
    path = ws.pdf_path(src["doc_id"])
    if path is None:
        return None
    try:
        return render_page(path, src["page_start"], src["text"])[0]
    except Exception:  # noqa: BLE001 - a page that cannot render must not break the answer
        log.exception("rendering %s p.%s failed", src["doc_id"], src["page_start"])
        return None


def choices(sources: list[dict], cited: set[int] | None = None) -> list[str]:
    """Radio labels; with `cited`, passages the answer did not use are marked."""
    return [f"[{s['n']}] {s['title'].split(':')[0]} — {s['section']}, p. {s['page_start']}"
            + ("" if cited is None or s["n"] in cited else " (not cited)") for s in sources]


def show_source(ws: Workspace, choice: str | None, sources: list[dict]) -> tuple[str, Image.Image | None]:
    """The card and page image of the source a radio label names."""
    if not choice or not sources:
        return "", None
    n = int(re.match(r"\[(\d+)\]", choice).group(1))
    src = next((s for s in sources if s["n"] == n), None)
    return (source_card(src), page_image(ws, src)) if src else ("", None)


def status_line(ws: Workspace) -> str:
    """The header's line: what the live index holds, or what is wrong with it (escaped)."""
    return safe.text(ws.status()[1])


def filter_choices(ws: Workspace) -> tuple[dict, dict]:
    """Updates for the paper and category filters: the indexed papers and their categories."""
    indexed = [d for d in ws.papers() if d.status == "indexed"]
    papers = [(f"{d.title.split(':')[0]} ({d.id})", d.id) for d in indexed]
    cats = sorted({d.category for d in indexed})
    return gr.update(choices=papers), gr.update(choices=cats)
