"""Many users, one server: two accounts log in to one app process (read-only over the home, progress
in PostgreSQL when the test server can start, else SQLite), answer the same interview question at
the same time in two browser contexts (Debian's chromium driven by Playwright), and each sees only
their own attempts and mastery. The app writes nothing to the home's index."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import CHROMIUM, PIPE_QUESTION, app_server, free_port, two_paper_home
from helpers import CHROMIUM_ARGS as ARGS

from paperdojo.study.accounts import Accounts
from paperdojo.study.progress import ProgressStore

QUESTIONS = PIPE_QUESTION
GOOD = ("To save activation memory, each stage recomputes its forward pass during the backward pass "
        "instead of storing activations, trading extra compute for memory.")
WEAK = "Convolutions exchange border elements between neighbouring devices."


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """{relative path: (size, mtime in ns)} of every file under `folder`."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def server(tmp_path_factory, embedder, request):
    from postgres import pg_bin

    root = tmp_path_factory.mktemp("users-app")
    (root / "questions.toml").write_text(QUESTIONS)
    settings = two_paper_home(root, embedder, questions_file=root / "questions.toml")
    url = request.getfixturevalue("postgres_server").database() if pg_bin() else ""
    accounts = Accounts(settings.users_file)
    accounts.add("ada", "pw-ada")
    accounts.add("bob", "pw-bob")
    index_before = snapshot(settings.index_dir)
    env = {"PAPERDOJO_HOME": str(root), "PAPERDOJO_READING_LIST": str(settings.reading_list),
           "PAPERDOJO_QUESTIONS_FILE": str(settings.questions_file), "PAPERDOJO_PROGRESS_URL": url}
    with app_server(root, env, "--read-only") as base:
        store = ProgressStore(url=url) if url else ProgressStore(settings.progress_db)
        yield base, settings, store, index_before
    store.close()


def login(page, base: str, user: str, password: str) -> None:  # noqa: ANN001 - a Playwright page
    page.goto(base)
    page.get_by_label("username").fill(user)
    page.get_by_label("password").fill(password)
    page.get_by_role("button", name="Login").click()


def test_two_users_answer_the_same_question_at_once(server):
    from playwright.sync_api import expect, sync_playwright

    base, settings, store, _ = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        # without a login, nothing of the app is served; a wrong password does not get in
        stranger = browser.new_context().new_page()
        login(stranger, base, "ada", "wrong")
        expect(stranger.get_by_text("Incorrect Credentials")).to_be_visible(timeout=30000)
        assert stranger.locator("#interview-question").count() == 0
        pages = {}
        for user in ("ada", "bob"):
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            login(page, base, user, f"pw-{user}")
            expect(page.locator("#logged-in")).to_contain_text(f"Logged in as {user}", timeout=60000)
            page.get_by_role("tab", name="Library").click()
            expect(page.locator("#library-message")).to_contain_text("read-only")
            expect(page.locator("#add-button")).to_have_count(0)
            page.get_by_role("tab", name="Interview").click()
            pages[user] = page
        for page in pages.values():
            page.click("#next-question")
        for page in pages.values():
            expect(page.locator("#interview-question")).to_contain_text("recompute", timeout=60000)
        asked = {u: page.locator("#interview-question h3").inner_text() for u, page in pages.items()}
        assert asked["ada"] == asked["bob"]  # the same question for both
        pages["ada"].fill("#interview-answer textarea", GOOD)
        pages["bob"].fill("#interview-answer textarea", WEAK)
        pages["ada"].wait_for_timeout(1500)  # drafts saved as typed, each to its own user
        for page in pages.values():  # both submitted at once: graded side by side
            page.click("#submit-answer")
        scores = {}
        for user, page in pages.items():  # the first grade builds the grader: slow under load
            expect(page.locator("#interview-grade")).to_contain_text("Score:", timeout=300000)
            shown = page.locator("#interview-grade").inner_text()
            scores[user] = float(re.search(r"Score: ([\d.]+)/10", shown).group(1))
        assert scores["ada"] > scores["bob"]
        for user, page in pages.items():  # after a reload, each sees their own mastery, not the other's
            page.reload()
            page.get_by_role("tab", name="Interview").click()
            other = "bob" if user == "ada" else "ada"
            mine, theirs = f"{scores[user] * 10:.0f}%", f"{scores[other] * 10:.0f}%"
            expect(page.locator("#mastery")).to_contain_text(mine, timeout=60000)
            expect(page.locator("#mastery")).not_to_contain_text(theirs)
            expect(page.locator("#interview-question")).not_to_contain_text("restored")  # no draft left
        browser.close()
    for user, other in (("ada", "bob"), ("bob", "ada")):
        progress = store.for_user(user)
        assert progress.latest_scores() == {"pipe-memory": scores[user]}
        assert (GOOD if user == "ada" else WEAK) in progress.export_markdown()
        assert (GOOD if other == "ada" else WEAK) not in progress.export_markdown()
    assert store.for_user("local").graded_count() == 0


def test_the_app_wrote_nothing_to_the_index(server):
    """Serving (logins, questions, grading) left the index as `paperdojo ingest` wrote it."""
    _, settings, _, index_before = server
    assert snapshot(settings.index_dir) == index_before


def test_start_up_says_when_the_progress_database_does_not_answer(tmp_path):
    from conftest import make_settings

    from paperdojo.app.ui import launch
    from paperdojo.workspace import Workspace

    ws = Workspace(make_settings(tmp_path / "home", progress_url=f"postgresql://u:secret@/x?host={tmp_path}"))
    with pytest.raises(SystemExit, match=r"cannot reach the progress database postgresql://u:\*\*\*@") as err:
        launch(ws, "127.0.0.1", free_port())
    assert "secret" not in str(err.value)
    Accounts(ws.settings.users_file).add("ada", "pw")  # accounts count as a login on a public address
    with pytest.raises(SystemExit, match="cannot reach the progress database"):
        launch(ws, "0.0.0.0", free_port())
