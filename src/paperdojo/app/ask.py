"""The Ask tab: a question in, a streamed answer with [n] citations out, beside the cited page."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import gradio as gr

from paperdojo.answering.answer import Answer, Conversation
from paperdojo.answering.retrieve import EmptyQuery, Filters
from paperdojo.app import safe
from paperdojo.app.common import (
    answer_markdown,
    choices,
    cite_href,
    page_image,
    show_citation,
    show_source,
    source_card,
    source_record,
)
from paperdojo.library import store
from paperdojo.workspace import Workspace

# after an answer: the last question at the top of the chat, so it and any note stay in sight; the
# window follows when the question is off screen (at 420 px the page, not only the chat, scrolls).
# Placed again after late re-renders of the chat (Markdown, images) that can move it.
SCROLL_TO_QUESTION = """() => {
  const place = () => {
    const users = document.querySelectorAll('#chat .user-row, #chat [data-testid="user"]');
    const last = users[users.length - 1];
    if (!last) return;
    let box = last.parentElement;
    const scrolls = (e) => e.scrollHeight > e.clientHeight
      && /(auto|scroll)/.test(getComputedStyle(e).overflowY);
    while (box && box !== document.body && !scrolls(box)) box = box.parentElement;
    if (box && box !== document.body) {
      // 40 px of room: the chat's "Answers" label floats over its top edge
      box.scrollTop += last.getBoundingClientRect().top - box.getBoundingClientRect().top - 40;
    }
    const top = last.getBoundingClientRect().top;
    if (top < 40 || top > window.innerHeight - 120) window.scrollBy(0, top - 48);
  };
  place();
  setTimeout(place, 250);
  setTimeout(place, 1000);
}"""


@dataclass
class AskTab:
    """The components other tabs use: the paper and category filters live here."""

    paper_filter: gr.Dropdown
    category_filter: gr.Dropdown
    examples: gr.Dataset  # "Try one": questions about the indexed papers (see example_samples)
    question: gr.Textbox
    draft: gr.BrowserState  # the question being typed, kept in the browser: back after a reload
    saved_chat: gr.BrowserState  # the chat, its follow-up context and sources (`chat_snapshot`)
    chat_outputs: list[gr.components.Component]  # what `restore_chat`'s items fill, in order


def example_samples(ws: Workspace) -> list[list[str]]:
    """The "Try one" samples: questions about papers this library has indexed
    (Workspace.example_questions); [] before anything is indexed."""
    return [[q] for q in ws.example_questions()]


def examples_update(ws: Workspace) -> dict:
    """The "Try one" list after the library changed (hidden while nothing is indexed)."""
    samples = example_samples(ws)
    return gr.update(samples=samples, visible=bool(samples))


def sources_of(ws: Workspace, ans: Answer) -> list[dict]:
    """The answer's sources as UI records, each with the sentences it is cited for (and their pages),
    those on the source's page (records.Source.page, its best-answering sentence's) first."""
    cites: dict[int, list[dict]] = {}
    for i, c in enumerate(ans.citations):
        cites.setdefault(c.n, []).append({"i": i, "sentence": c.sentence, "page_start": c.page_start,
                                          "page_end": c.page_end})
    out = []
    for s in ans.sources:
        mine = cites.get(s.n) or []
        if s.cited_pages:  # the sentence that answers most first: the record's page is its page
            page = s.page
            mine = [c for c in mine if c["page_start"] == page] + [c for c in mine if c["page_start"] != page]
        out.append(source_record(ws, s.n, s.chunk, s.passage, mine))
    return out


def ask(ws: Workspace, message: str, history: list, conversation: Conversation | None,
        papers: list[str] | None, categories: list[str] | None,
        turns: list[list[dict]] | None = None) -> Iterator[tuple]:
    """Stream the answer into the chat; the last item also fills the sources, card and page. The
    question box is emptied once, when the question goes in: a next question typed while this
    answer streams stays (each streamed item used to empty the box again).

    turns: the source records of each earlier answer of this chat (`sources_of`), oldest first; the
    answer's [n] links name its own place in that list (`cite_href`), so a link in an older answer
    still shows that answer's source. Each item is (history, question box, conversation, turns,
    sources radio, card, page image, shown turn).
    """
    history = list(history or [])
    turns = list(turns or [])
    conversation = conversation or Conversation()
    keep = gr.update()
    if not (message or "").strip():
        gr.Warning("Type a question first.")
        yield history, "", conversation, turns, keep, keep, keep, keep
        return
    history += [{"role": "user", "content": safe.text(message, inline=False)},
                {"role": "assistant", "content": "…"}]
    yield history, "", conversation, turns, keep, keep, keep, keep  # the box is emptied once, here
    filters = Filters(set(papers or []), set(categories or []))
    streamed, ans = "", None
    try:
        for item in ws.answerer().stream(message, filters, conversation=conversation):
            if isinstance(item, Answer):
                ans = item
                break
            streamed += item  # a language model's words, as it writes them: data, escaped
            history[-1]["content"] = safe.cited(streamed)
            yield history, keep, conversation, turns, keep, keep, keep, keep
    except store.IndexProblem as exc:
        history[-1]["content"] = f"⚠️ {safe.text(exc)}. Open the **Library** tab to build the index."
        yield history, keep, conversation, turns, keep, keep, keep, keep
        return
    except EmptyQuery as exc:
        history[-1]["content"] = f"⚠️ {safe.text(exc)}"
        yield history, keep, conversation, turns, keep, keep, keep, keep
        return
    if ans is None:
        raise RuntimeError("the answerer ended without an answer")
    turn = len(turns)
    full = answer_markdown(ans, lambda j: cite_href(turn, j))
    if not streamed:  # an extractive answer: stream it in, a few words at a time
        words = full.split(" ")
        for end in range(4, len(words), 8):
            history[-1]["content"] = " ".join(words[:end])
            yield history, keep, conversation, turns, keep, keep, keep, keep
    history[-1]["content"] = full  # the checked answer replaces what the model streamed
    sources = sources_of(ws, ans)
    cited = {s.n for s in ans.cited}
    first = next((s for s in sources if s["n"] in cited), sources[0] if sources else None)
    opts = choices(sources, cited)
    value = opts[sources.index(first)] if first else None
    yield (history, keep, conversation, [*turns, sources], gr.update(choices=opts, value=value),
           source_card(first) if first else "", page_image(ws, first), turn)


# answers whose source records a kept chat holds (older ones keep their text; their [n] links then
# show nothing): a browser keeps about 5 MB per site, an answer's records take 10-40 kB
KEPT_SOURCES = 40
EMPTY_CHAT: dict = {"user": "", "history": [], "conversation": {}, "turns": []}


def chat_snapshot(user: str, history: list, conversation: Conversation | None,
                  turns: list[list[dict]] | None) -> dict:
    """What the browser keeps of `user`'s chat after each answer (Gradio BrowserState): the messages
    as shown, the follow-up context (`Conversation.to_dict`) and each answer's source records (those
    of the last KEPT_SOURCES answers; older ones [] so each [n] link still names its own answer)."""
    turns = list(turns or [])
    kept = [t if i >= len(turns) - KEPT_SOURCES else [] for i, t in enumerate(turns)]
    return {"user": user, "history": list(history or []),
            "conversation": (conversation or Conversation()).to_dict(), "turns": kept}


def restore_chat(ws: Workspace, saved: dict | None, user: str) -> tuple:
    """On a page load: `user`'s chat as the browser kept it (`chat_snapshot`), with the last answer's
    sources, card and page shown again; nothing changes when the browser kept none, or kept another
    account's (a shared browser). Items: (chat, conversation, turns, sources radio, card, page, turn)."""
    keep = gr.update()
    if not isinstance(saved, dict) or saved.get("user") != user or not saved.get("history"):
        return keep, keep, keep, keep, keep, keep, keep
    # each message as the Chatbot gave it ({"role", "content"}: a string, or Gradio 6's list of parts)
    history = [m for m in saved["history"] if isinstance(m, dict) and m.get("role") in ("user", "assistant")
               and isinstance(m.get("content"), str | list)]
    turns = [t if isinstance(t, list) else [] for t in saved.get("turns") or []]
    conversation = Conversation.from_dict(saved.get("conversation"))
    if not turns or not turns[-1]:
        nothing = gr.update(choices=[], value=None)
        return history, conversation, turns, nothing, "", None, max(len(turns) - 1, 0)
    sources = turns[-1]
    cited = {s["n"] for s in sources if s.get("cites")}
    first = next((s for s in sources if s["n"] in cited), sources[0])
    opts = choices(sources, cited)
    return (history, conversation, turns, gr.update(choices=opts, value=opts[sources.index(first)]),
            source_card(first), page_image(ws, first), len(turns) - 1)


def build(ws: Workspace, multi_user: bool = False) -> AskTab:
    """The Ask tab's components and events (inside a gr.Blocks and gr.Tabs context); with
    `multi_user`, the chat a browser keeps is tagged with the logged-in account (`chat_snapshot`)."""
    with gr.Tab("Ask", id="ask"), gr.Row(equal_height=False):
        conversation = gr.State(None)
        # {"text": ...}, never "": Gradio's BrowserState does not store a falsy value (an asked
        # question's empty box would leave the old draft in the browser's storage)
        draft = gr.BrowserState({"text": ""}, storage_key="paperdojo-ask-draft")
        answer_sources = gr.State([])  # each answer's source records, oldest first
        saved_chat = gr.BrowserState(EMPTY_CHAT, storage_key="paperdojo-ask-chat")
        shown_turn = gr.State(0)  # the answer whose sources the radio lists
        # which chat this session shows: New chat / Clear count it up (in place: a State's object is
        # the session's own), and an answer still being written for an earlier chat stops before its
        # next item, which would bring that chat back into the new one. Made inside the tab: a State
        # made beside the tabs became a tab of its own to Gradio (the Interview tab read "Search")
        chat_number = gr.State({"n": 0})
        with gr.Column(scale=5):
            gr.Markdown(safe.text(ws.answer_mode()), elem_id="answer-mode")
            chat = gr.Chatbot(label="Answers", height=520, elem_id="chat", buttons=["copy"], autoscroll=False)
            with gr.Row(elem_id="question-row"):
                question = gr.Textbox(placeholder="Ask an interview question about your papers",
                                      label="Your question", show_label=False,
                                      scale=6, min_width=330, elem_id="question", submit_btn=False)
                send = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="ask-button")
                new_chat = gr.Button("New chat", scale=1, min_width=80, elem_id="new-chat")
            with gr.Accordion("Filters: papers and categories", open=False):
                paper_filter = gr.Dropdown([], multiselect=True, label="Papers", elem_id="paper-filter")
                category_filter = gr.Dropdown([], multiselect=True, label="Categories",
                                              elem_id="category-filter")
            samples = example_samples(ws)
            examples = gr.Examples(samples or [[""]], inputs=question, label="Try one (runs when clicked)",
                                   visible=bool(samples), elem_id="examples")
        with gr.Column(scale=4):
            page = gr.Image(label="Cited page: the sentence marked strongly, its passage lightly", type="pil",
                            interactive=False, elem_id="page-image", height=560, buttons=["fullscreen"],
                            alt_text="The cited page of the paper, with the cited sentence highlighted")
            cite = gr.Radio([], label="Sources: pick one to see its page", elem_id="sources")
            card = gr.HTML(elem_id="source-card")
            pick = gr.Textbox(elem_id="cite-pick", label="cited sentence picked", show_label=False,
                              container=False)

    def on_ask(message, history, conv, papers, categories, turns, number):  # noqa: ANN001, ANN202
        mine = number["n"]
        for item in ask(ws, message, history, conv, papers, categories, turns):
            if number["n"] != mine:
                return
            yield item

    outputs = [chat, question, conversation, answer_sources, cite, card, page, shown_turn]
    inputs = [question, chat, conversation, paper_filter, category_filter, answer_sources, chat_number]

    def save(history, conv, turns, request: gr.Request):  # noqa: ANN001, ANN202 - Gradio's values
        try:
            return chat_snapshot(ws.user_for(request.username, multi_user), history, conv, turns)
        except ValueError:  # an account removed while its session was open: nothing is kept
            return gr.update()

    kept = ([chat, conversation, answer_sources], saved_chat)
    asked = gr.on([send.click, question.submit], on_ask, inputs, outputs, concurrency_id="cpu",
                  api_name="ask")
    asked.then(None, js=SCROLL_TO_QUESTION)
    asked.then(save, *kept, show_progress="hidden")
    from_example = examples.load_input_event.then(on_ask, inputs, outputs, concurrency_id="cpu")
    from_example.then(None, js=SCROLL_TO_QUESTION)
    from_example.then(save, *kept, show_progress="hidden")

    def reset(number: dict) -> tuple:
        """A new conversation: no history, no follow-up context, no sources; a question typed and not
        asked yet stays in its box (it is the new chat's first question, more often than not)."""
        number["n"] += 1
        return [], gr.update(), Conversation(), [], gr.update(choices=[], value=None), "", None, 0

    # an answer still streaming is stopped: its next items brought the old chat back into the new one.
    # An item already on its way when the stop lands can still arrive after the first reset (seen once
    # in three CI runs of test_new_chat_while_an_answer_streams_stays_empty), so the view is reset again
    # once the stop has taken effect
    gr.on([new_chat.click, chat.clear], reset, chat_number, outputs, show_progress="hidden",
          cancels=[asked, from_example]).then(reset, chat_number, outputs, show_progress="hidden").then(
              save, *kept, show_progress="hidden")

    def on_pick_source(choice, turns, turn):  # noqa: ANN001, ANN202 - Gradio's values
        return show_source(ws, choice, turns[turn] if 0 <= turn < len(turns or []) else [])

    cite.input(on_pick_source, [cite, answer_sources, shown_turn], [card, page], concurrency_id="cpu")
    pick.change(lambda value, turns: show_citation(ws, value, turns), [pick, answer_sources],
               [cite, card, page, shown_turn], concurrency_id="cpu", show_progress="hidden")
    # the question as typed, in the browser's storage (emptied when it is asked): a reload, a closed
    # tab or a restarted app gives it back (`restore_draft`) instead of losing it
    question.change(lambda text: {"text": text or ""}, question, draft, queue=False, show_progress="hidden")
    return AskTab(paper_filter, category_filter, examples.dataset, question, draft, saved_chat,
                  [chat, conversation, answer_sources, cite, card, page, shown_turn])


def restore_draft(draft: dict | None) -> dict:
    """On a page load: the question box gets back what was typed and not asked (`draft`, the browser's
    {"text": ...}), or stays as it is."""
    text = (draft or {}).get("text") if isinstance(draft, dict) else None
    return gr.update(value=text) if isinstance(text, str) and text else gr.update()
