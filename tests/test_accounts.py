"""Accounts: the users file (Argon2id hashes, mode 0600, atomic, locked) and `paperdojo users`."""

from __future__ import annotations

import io
import json
import stat
import threading

import pytest

from paperdojo.cli import main
from paperdojo.settings import Settings
from paperdojo.study.accounts import AccountError, Accounts, acting_user


def users(settings: Settings, *args: str, password: str | None = None, monkeypatch=None) -> int:  # noqa: ANN001
    if password is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    return main(["--home", str(settings.home), "users", *args])


def test_users_file_add_verify_passwd_remove(settings):
    accounts = Accounts(settings.users_file)
    assert not accounts and accounts.list() == []
    accounts.add("ada", "correct horse")
    accounts.add("j.doe-2", "battery staple")
    mode = stat.S_IMODE(settings.users_file.stat().st_mode)
    assert mode == 0o600, oct(mode)
    stored = json.loads(settings.users_file.read_text())
    assert stored["users"]["ada"]["hash"].startswith("$argon2id$")
    assert "correct horse" not in settings.users_file.read_text()
    assert [p.name for p in settings.users_file.parent.iterdir() if ".part" in p.name] == []  # no temp left
    assert accounts.verify("ada", "correct horse") and not accounts.verify("ada", "wrong")
    assert not accounts.verify("nobody", "correct horse") and not accounts.verify("ada", "")
    fresh = Accounts(settings.users_file)  # another process: sees the same accounts
    assert [a.name for a in fresh.list()] == ["ada", "j.doe-2"] and "ada" in fresh
    fresh.set_password("ada", "new one")
    assert accounts.verify("ada", "new one") and not accounts.verify("ada", "correct horse")  # re-read
    fresh.remove("j.doe-2")
    assert [a.name for a in accounts.list()] == ["ada"]


@pytest.mark.parametrize("name", ["", "Ada", "a b", "-ada", "ada/../x", "x" * 33, "ada:1", "é"])
def test_bad_names_are_refused(settings, name):
    with pytest.raises(AccountError, match="not a valid user name"):
        Accounts(settings.users_file).add(name, "pw")
    assert not settings.users_file.exists()


def test_duplicates_empty_passwords_unknown_users(settings):
    accounts = Accounts(settings.users_file)
    accounts.add("ada", "pw")
    before = settings.users_file.read_bytes()
    with pytest.raises(AccountError, match="already a user 'ada'"):
        accounts.add("ada", "other")
    for empty in ("", "   "):
        with pytest.raises(AccountError, match="password is empty"):
            accounts.add("bob", empty)
        with pytest.raises(AccountError, match="password is empty"):
            accounts.set_password("ada", empty)
    with pytest.raises(AccountError, match="no user 'bob'; the users are: ada"):
        accounts.remove("bob")
    with pytest.raises(AccountError, match="no user 'bob'"):
        accounts.set_password("bob", "pw")
    assert settings.users_file.read_bytes() == before  # nothing lost, nothing changed
    assert accounts.verify("ada", "pw")


def test_a_broken_users_file_says_so(settings):
    settings.users_file.parent.mkdir(parents=True)
    settings.users_file.write_text("{not json")
    with pytest.raises(AccountError, match="users file .* is unreadable"):
        Accounts(settings.users_file).verify("ada", "pw")


def test_concurrent_adds_lose_nothing(settings):
    """Eight shells adding accounts at once: the lock keeps every one."""
    errors: list[Exception] = []

    def add(i: int) -> None:
        try:
            Accounts(settings.users_file).add(f"user{i}", f"pw{i}")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [a.name for a in Accounts(settings.users_file).list()] == [f"user{i}" for i in range(8)]


def test_cli_users_commands(settings, monkeypatch, capsys):
    assert users(settings, "list") == 0
    assert "single-user" in capsys.readouterr().err
    assert users(settings, "add", "ada", "--password-stdin", password="s3cret", monkeypatch=monkeypatch) == 0
    assert "now asks everyone to log in" in capsys.readouterr().err
    assert users(settings, "add", "ada", "--password-stdin", password="x", monkeypatch=monkeypatch) == 2
    assert "already a user 'ada'" in capsys.readouterr().err
    assert users(settings, "add", "bob", "--password-stdin", password="", monkeypatch=monkeypatch) == 2
    assert "password is empty" in capsys.readouterr().err
    assert users(settings, "add", "Bad Name", "--password-stdin", password="x", monkeypatch=monkeypatch) == 2
    assert "not a valid user name" in capsys.readouterr().err
    # typed at a prompt: twice, and the two must match
    answers = iter(["pw-one", "pw-two"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert users(settings, "add", "bob") == 2
    assert "the two passwords differ" in capsys.readouterr().err
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "same")
    assert users(settings, "add", "bob") == 0
    capsys.readouterr()
    assert users(settings, "list") == 0
    assert [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()] == ["ada", "bob"]
    assert users(settings, "passwd", "bob", "--password-stdin", password="newer",
                 monkeypatch=monkeypatch) == 0
    assert Accounts(settings.users_file).verify("bob", "newer")
    assert users(settings, "passwd", "zed", "--password-stdin", password="x", monkeypatch=monkeypatch) == 2
    assert "no user 'zed'" in capsys.readouterr().err
    assert users(settings, "remove", "bob") == 0
    assert "progress stays" in capsys.readouterr().err
    assert [a.name for a in Accounts(settings.users_file).list()] == ["ada"]


def test_acting_user_of_the_command_line(settings):
    assert acting_user(settings) == "local"  # no accounts: the local user, as before
    assert acting_user(settings.model_copy(update={"user": "anyone"})) == "anyone"
    Accounts(settings.users_file).add("ada", "pw")
    assert acting_user(settings.model_copy(update={"user": "ada"})) == "ada"
    assert acting_user(settings) == "local"  # the progress made before accounts stays reachable
    with pytest.raises(AccountError, match="no user 'zed'; the users are: ada"):
        acting_user(settings.model_copy(update={"user": "zed"}))
    with pytest.raises(AccountError, match="not a valid user name"):
        acting_user(settings.model_copy(update={"user": "Zed Z"}))
