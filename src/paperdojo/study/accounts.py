"""Accounts of the people who study with one paperdojo server: a users file with hashed passwords.

The file (`Settings.users_file`, default `<home>/userdata/users.json`) maps each account name to an
Argon2id hash (argon2-cffi's defaults: RFC 9106 low-memory profile, 64 MiB, 3 passes) and the time it
was made. It is written atomically (temporary file, fsync, rename) with mode 0600, and changes are
serialized by an exclusive lock on a file beside it, so two shells adding accounts at once lose
neither. With no account in it, paperdojo is single-user: everything belongs to LOCAL_USER.
"""

from __future__ import annotations

import fcntl
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from paperdojo.util import atomic_write_text

if TYPE_CHECKING:
    from paperdojo.settings import Settings

LOCAL_USER = "local"  # who owns progress when there are no accounts (and progress made before them)
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")
FILE_VERSION = 1


class AccountError(ValueError):
    """A bad account name, a duplicate or unknown account, an empty password, a broken users file."""


def check_name(name: str) -> str:
    """`name` when it is a valid account name (1-32 of a-z 0-9 . _ -, starting with a letter or digit),
    else AccountError saying what is allowed."""
    if not NAME.match(name or ""):
        raise AccountError(f"{name!r} is not a valid user name: use 1 to 32 lowercase letters, digits, "
                           "'.', '_' or '-', starting with a letter or a digit (e.g. 'ada' or 'j.doe')")
    return name


def check_password(password: str) -> str:
    """`password` unless it is empty or only whitespace (AccountError)."""
    if not password or not password.strip():
        raise AccountError("the password is empty: give a password (nothing was changed)")
    return password


@dataclass(frozen=True)
class Account:
    """A user: the name and when the account was created."""
    name: str
    created: str  # ISO 8601, UTC, seconds


class Accounts:
    """The users file of one home. Reads are cached by the file's mtime and size, so an app sees
    accounts added, removed or given a new password by `paperdojo users` without a restart."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.hasher = PasswordHasher()
        self._dummy = self.hasher.hash("unknown user")  # an unknown name costs as much as a wrong password
        self._cached: tuple[tuple[int, int], dict[str, dict]] | None = None

    # ------------------------------------------------------------------ reading
    def _read(self) -> dict[str, dict]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return {}
        stamp = (st.st_mtime_ns, st.st_size)
        if self._cached and self._cached[0] == stamp:
            return self._cached[1]
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            users = data["users"]
            if not isinstance(users, dict) or not all(isinstance(v, dict) and "hash" in v
                                                      for v in users.values()):
                raise TypeError("users is not a table of {name: {hash, created}}")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise AccountError(f"the users file {self.path} is unreadable ({exc}); fix or remove it "
                               "(`paperdojo users add` writes a new one)") from exc
        self._cached = (stamp, users)
        return users

    def list(self) -> list[Account]:
        """Every account, by name."""
        return [Account(n, u.get("created", "")) for n, u in sorted(self._read().items())]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._read()

    def __bool__(self) -> bool:
        """True when the file holds at least one account (the app then requires a login)."""
        return bool(self._read())

    def verify(self, name: str, password: str) -> bool:
        """True when `password` is the account's; False for a wrong password or an unknown name (which
        takes as long, so names cannot be probed by timing). Never writes the file (apps serve read-only)."""
        users = self._read()
        stored = users.get(name, {}).get("hash", self._dummy)
        try:
            return self.hasher.verify(stored, password or "") and name in users
        except (VerificationError, InvalidHashError):
            return False

    # ------------------------------------------------------------------ changing
    @contextmanager
    def _locked(self) -> Iterator[dict[str, dict]]:
        """The users table under an exclusive lock, written back (atomically, 0600) on success."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._cached = None
            users = dict(self._read())
            yield users
            atomic_write_text(self.path, json.dumps({"version": FILE_VERSION, "users": users}, indent=1),
                              mode=0o600)
            self._cached = None

    def add(self, name: str, password: str) -> Account:
        """A new account; AccountError for a bad name, an empty password or a name already taken."""
        self.check_new(name)
        check_password(password)
        with self._locked() as users:
            self.check_new(name, users)
            created = datetime.now(UTC).isoformat(timespec="seconds")
            users[name] = {"hash": self.hasher.hash(password), "created": created}
        return Account(name, created)

    def check_new(self, name: str, users: dict[str, dict] | None = None) -> None:
        """AccountError unless `name` is a valid name no account has yet."""
        check_name(name)
        if name in (self._read() if users is None else users):
            raise AccountError(f"there is already a user {name!r}; `paperdojo users passwd {name}` "
                               "sets a new password")

    def set_password(self, name: str, password: str) -> None:
        """A new password for an existing account (AccountError for an unknown one or an empty password)."""
        check_password(password)
        with self._locked() as users:
            self._known(name, users)
            users[name] = {**users[name], "hash": self.hasher.hash(password)}

    def remove(self, name: str) -> None:
        """Delete the account (its progress stays in the progress store; adding the name again gets it
        back). AccountError for an unknown name."""
        with self._locked() as users:
            self._known(name, users)
            del users[name]

    def require(self, name: str) -> None:
        """AccountError naming the users unless `name` is one."""
        self._known(name, self._read())

    def _known(self, name: str, users: dict[str, dict]) -> None:
        if name not in users:
            have = ", ".join(sorted(users)) or "none yet"
            raise AccountError(f"no user {name!r}; the users are: {have}")


def acting_user(settings: Settings) -> str:
    """Whose progress a command line acts for: settings.user (`--user`, $PAPERDOJO_USER, default LOCAL_USER).

    AccountError for an invalid name, or for a name that is not an account when the users file has
    accounts (LOCAL_USER, the progress made before accounts, is always allowed)."""
    name = check_name(settings.user)
    accounts = Accounts(settings.users_file)
    if name != LOCAL_USER and accounts and name not in accounts:
        have = ", ".join(a.name for a in accounts.list())
        raise AccountError(f"no user {name!r}; the users are: {have} (`paperdojo users add {name}` adds it)")
    return name
