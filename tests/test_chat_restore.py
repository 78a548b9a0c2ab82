"""The Ask tab's chat comes back after a page reload (session 14, h14break: it was lost): the messages,
the follow-up context and each answer's sources, as the browser keeps them (Gradio BrowserState,
a JSON round trip), for the same account only."""

from __future__ import annotations

import json

from helpers import two_paper_home

from paperdojo.answering.answer import Conversation, Turn
from paperdojo.app.ask import KEPT_SOURCES, ask, chat_snapshot, restore_chat
from paperdojo.workspace import Workspace


def _asked(ws: Workspace, question: str, history: list, conv: Conversation, turns: list) -> tuple:
    *_, last = ask(ws, question, history, conv, None, None, turns)
    history, _, conv, turns = last[:4]
    return history, conv, turns


def test_conversation_round_trips_through_json():
    conv = Conversation([Turn("q", {"b", "a"}, "Q?", "topic", {"a"}, {"one sentence.", "two."})])
    back = Conversation.from_dict(json.loads(json.dumps(conv.to_dict())))
    assert back == conv
    # what a browser may hand back altered or from an older app: skipped, never an error
    assert Conversation.from_dict({"turns": [{"query": 3}, "x", {"query": "q", "papers": "ab"}]}).turns == \
        [Turn("q", set())]
    assert Conversation.from_dict(None).turns == [] and Conversation.from_dict([1, 2]).turns == []


def test_a_reloaded_chat_follows_up_as_before(tmp_path, embedder):
    ws = Workspace(two_paper_home(tmp_path / "home", embedder))
    history, conv, turns = _asked(ws, "Why does each pipeline stage recompute its forward pass?", [],
                                  Conversation(), [])
    kept = json.loads(json.dumps(chat_snapshot("local", history, conv, turns)))  # as the browser keeps it
    chat, conv2, turns2, radio, card, _page, shown = restore_chat(ws, kept, "local")
    assert chat == history and turns2 == turns and shown == 0
    assert radio["value"] and "[" in card and conv2.to_dict() == conv.to_dict()
    # the follow-up reads the restored context exactly as it reads the live one
    live, _, _ = _asked(ws, "why?", history, conv, turns)
    reloaded, _, _ = _asked(ws, "why?", chat, conv2, turns2)
    assert "Interpreted as" in live[-1]["content"] and live[-1]["content"].split("·")[0] == \
        reloaded[-1]["content"].split("·")[0]


def test_a_chat_kept_for_another_account_or_none_changes_nothing(tmp_path, embedder):
    ws = Workspace(two_paper_home(tmp_path / "home", embedder))
    history, conv, turns = _asked(ws, "What is a halo exchange?", [], Conversation(), [])
    kept = chat_snapshot("alice", history, conv, turns)
    for saved, user in [(kept, "bob"), (None, "alice"), ({"user": "alice", "history": []}, "alice"),
                        ("garbage", "alice")]:
        assert all(item == {"__type__": "update"} for item in restore_chat(ws, saved, user))


def test_only_the_last_answers_keep_their_sources():
    turns = [[{"n": 1, "i": i}] for i in range(KEPT_SOURCES + 3)]
    kept = chat_snapshot("u", [], None, turns)["turns"]
    assert len(kept) == len(turns) and kept[:3] == [[], [], []] and kept[3:] == turns[3:]
