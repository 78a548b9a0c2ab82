"""The Search tab: the sections that discuss a topic, best first, each beside its page."""

from __future__ import annotations

import gradio as gr

from paperdojo.answering.retrieve import EmptyQuery, Filters
from paperdojo.app import safe
from paperdojo.app.common import choices, located, page_image, show_source, source_card, source_record
from paperdojo.library import store
from paperdojo.workspace import Workspace


def search(ws: Workspace, topic: str, papers: list[str] | None, categories: list[str] | None) -> tuple:
    """(found records, radio update, listing HTML, first card, first page image)."""
    if not (topic or "").strip():
        gr.Warning("Type a topic first.")
        return [], gr.update(choices=[], value=None), "", "", None
    try:
        results = ws.search_sections(topic, 10, Filters(set(papers or []), set(categories or [])))
    except (store.IndexProblem, EmptyQuery) as exc:  # EmptyQuery: a topic too long (LongQuery)
        return [], gr.update(choices=[], value=None), f"⚠️ {safe.text(exc)}", "", None
    found = []
    for i, r in enumerate(results, 1):  # the snippet's own page, as for a cited sentence
        snippet = located(ws, r.hits[0].chunk, r.snippet)
        found.append(source_record(ws, i, r.hits[0].chunk, r.snippet, [snippet] if snippet else None))
    listing = "".join(source_card(f) for f in found) or "Nothing found."
    opts = choices(found)
    first = found[0] if found else None
    return (found, gr.update(choices=opts, value=opts[0] if opts else None), listing,
            source_card(first) if first else "", page_image(ws, first))


def build(ws: Workspace, paper_filter: gr.Dropdown, category_filter: gr.Dropdown) -> None:
    """The Search tab's components and events; the filters are the Ask tab's."""
    with gr.Tab("Search", id="search"):
        search_results = gr.State([])
        with gr.Row():
            topic = gr.Textbox(placeholder="Find the sections about… e.g. activation recomputation",
                               show_label=False, scale=6, elem_id="topic")
            find = gr.Button("Search", variant="primary", scale=1, elem_id="search-button")
        with gr.Row(equal_height=False):
            with gr.Column(scale=5):
                hit_pick = gr.Radio([], label="Sections, best first", elem_id="sections")
                listing = gr.HTML(elem_id="search-results")
            with gr.Column(scale=4):
                search_card = gr.HTML(elem_id="search-card")
                preview = gr.Image(label="Page preview", type="pil", interactive=False,
                                   elem_id="search-page", height=640)

    def on_search(topic, papers, categories):  # noqa: ANN001, ANN202 - Gradio's values
        return search(ws, topic, papers, categories)

    def show_search_result(choice, sources):  # noqa: ANN001, ANN202
        return show_source(ws, choice, sources)

    gr.on([find.click, topic.submit], on_search, [topic, paper_filter, category_filter],
          [search_results, hit_pick, listing, search_card, preview], concurrency_id="cpu", api_name="search")
    hit_pick.input(show_search_result, [hit_pick, search_results], [search_card, preview],
                   concurrency_id="cpu", api_name="show_search_result")
