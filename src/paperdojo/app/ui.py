"""The Gradio study app assembled from its tabs (ask, search, interview, library) and served.

Only wiring lives in the app package; the work is done by the library (Workspace, Answerer,
find_sections, render_page, ingest). Files served to the browser come only from the ingest cache.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import gradio as gr

from paperdojo.app import ask, interview, library, safe, search
from paperdojo.app.common import CSS, HEAD, filter_choices, status_line
from paperdojo.workspace import Workspace

log = logging.getLogger(__name__)
READING = "Reading the index…"  # the header until the page's load event gives the live counts


def build_app(ws: Workspace, multi_user: bool | None = None) -> gr.Blocks:
    """The whole app over one workspace (not yet launched). `multi_user` (default: the users file has
    accounts): each request's progress is its logged-in account's, and the header says who is in."""
    multi_user = bool(ws.accounts) if multi_user is None else multi_user
    with gr.Blocks(title="paperdojo") as demo:
        gr.Markdown("# paperdojo\nStudy ML-compiler and ML-systems papers: ask interview questions, "
                    "get answers cited to the page.")
        # no counts in the page's build: a page opened later would show them, stale, until it loads
        # (the header's load event reads the live generation: `header` below)
        status = gr.Markdown(READING, elem_id="status")
        if multi_user:
            with gr.Row():
                who = gr.Markdown(elem_id="logged-in")
                gr.Button("Log out", link="/logout", size="sm", scale=0, elem_id="logout")

            def logged_in(request: gr.Request) -> str:
                return f"Logged in as **{safe.text(request.username or '')}**"

            demo.load(logged_in, None, who)
        with gr.Tabs():
            asking = ask.build(ws, multi_user)
            search.build(ws, asking.paper_filter, asking.category_filter)
            topics = interview.build(ws, multi_user)
            table, lib_summary = library.build(ws, [asking.paper_filter, asking.category_filter, status,
                                                    topics])
        seen = gr.State("")  # the generation this browser session shows
        outputs = [seen, status, asking.paper_filter, asking.category_filter, table, lib_summary,
                   topics, asking.examples]

        def follow(shown: str) -> tuple:
            """On each page load, and when a newer index generation is served (e.g. after a shell's
            `paperdojo add`): the header, filters, Library table and counts and the interview topics,
            all from one generation, the one that now answers; otherwise nothing changes."""
            view = ws.view()
            if view.generation == shown and shown:
                return (shown, *[gr.update()] * (len(outputs) - 1))
            return (view.generation, status_line(ws, view), *filter_choices(ws, view),
                    library.library_rows(ws, view), library.summary(ws, view),
                    interview.topic_choices(ws, view), ask.examples_update(ws))

        def header() -> str:
            """The header the moment the page loads: the newest generation's counts from its manifest
            (`follow`, which then loads that generation, takes seconds after a shell's ingest)."""
            return safe.text(ws.live_status())

        demo.load(header, None, status, queue=False, show_progress="hidden")
        demo.load(ask.restore_draft, asking.draft, asking.question, queue=False, show_progress="hidden")

        def restore_chat(saved: dict | None, request: gr.Request) -> tuple:
            """The chat this browser kept for the user (ask.restore_chat), back after a reload."""
            try:
                user = ws.user_for(request.username, multi_user)
            except ValueError:  # an account removed while its session was open: nothing to restore
                return (gr.update(),) * len(asking.chat_outputs)
            return ask.restore_chat(ws, saved, user)

        demo.load(restore_chat, asking.saved_chat, asking.chat_outputs, show_progress="hidden")
        demo.load(follow, seen, outputs)
        gr.Timer(10).tick(follow, seen, outputs, show_progress="hidden", concurrency_limit=None)
    return demo


def theme() -> gr.themes.Base:
    """Gradio's Soft theme with text colours that keep WCAG AA contrast (>= 4.5:1, checked by axe-core
    in tests/test_app.py): darker indigo for labels and primary buttons, darker grey for subdued text."""
    return gr.themes.Soft(primary_hue="indigo", secondary_hue="amber").set(
        button_primary_background_fill="*primary_700", button_primary_background_fill_hover="*primary_800",
        button_primary_background_fill_dark="*primary_700", button_primary_text_color="white",
        block_label_text_color="*primary_800", block_title_text_color="*primary_800",
        block_label_text_color_dark="*primary_100", block_title_text_color_dark="*primary_100",
        body_text_color_subdued="*neutral_600", body_text_color_subdued_dark="*neutral_300",
        block_info_text_color="*neutral_600", link_text_color="*primary_700",
        link_text_color_dark="*primary_200", checkbox_label_background_fill_selected="*primary_700",
        checkbox_label_background_fill_selected_dark="*primary_700",
        checkbox_label_text_color_selected="white")


def login_check(ws: Workspace) -> Callable[[str, str], Awaitable[bool]]:
    """Gradio's `auth=` callable over the users file: Argon2 verification (tens of ms, off the event
    loop). Accounts added, removed or given a new password later apply at the next login."""
    async def check(user: str, password: str) -> bool:
        return await asyncio.to_thread(ws.login, user, password)
    return check


def launch(ws: Workspace, host: str, port: int, auth: str = "", **kw: Any) -> None:
    """Serve the app. With accounts in the users file (`paperdojo users add`), everyone logs in and
    studies with their own progress; otherwise one user (`auth` "user:password" optional on loopback).
    A login is required when binding to anything but loopback (SystemExit otherwise)."""
    loopback = host in {"127.0.0.1", "localhost", "::1"}
    multi_user = bool(ws.accounts)
    if not loopback and ":" not in auth and not multi_user:
        raise SystemExit(f"refusing to serve on {host} without a login: add accounts with `paperdojo users "
                         "add NAME` or set PAPERDOJO_AUTH=user:password")
    try:  # a progress database that does not answer is said at start, not at the first answer
        where = ws.progress().store.where
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from exc
    ok, message = ws.warm_up()  # load the index and the model before the first question
    log.info("paperdojo: %s", message)
    if multi_user:
        log.info("paperdojo: %d accounts: each logs in and has their own progress (%s)",
                 len(ws.accounts.list()), where)
    demo = build_app(ws, multi_user)
    demo.queue(default_concurrency_limit=ws.settings.app_concurrency, max_size=128)
    user, _, password = auth.partition(":")
    # Gradio types auth= as a plain callable but awaits a coroutine function (gradio/routes.py, login)
    login: Any = login_check(ws) if multi_user else (user, password) if auth else None
    demo.launch(server_name=host, server_port=port, auth=login,
                allowed_paths=[str(ws.settings.pdf_dir)], max_file_size=f"{ws.settings.max_upload_mb}mb",
                theme=theme(), css=CSS,
                head=HEAD, footer_links=[], **kw)
