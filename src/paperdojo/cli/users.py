"""The CLI's accounts: `paperdojo users add|list|remove|passwd`; the work is done by study.accounts
(the users file of the home)."""

from __future__ import annotations

import argparse
import getpass
import sys

from rich.markup import escape

from paperdojo.cli.common import settings_of
from paperdojo.cli.output import console
from paperdojo.settings import Settings
from paperdojo.study.accounts import AccountError, Accounts, check_password


def read_password(from_stdin: bool) -> str:
    """The new password: the first line of stdin (`--password-stdin`, for scripts), or typed twice at a
    prompt that does not echo. AccountError when empty or when the two differ."""
    if from_stdin:
        return check_password(sys.stdin.readline().rstrip("\r\n"))
    try:
        first = getpass.getpass("New password: ")
        check_password(first)
        if getpass.getpass("Repeat it: ") != first:
            raise AccountError("the two passwords differ: nothing was changed")
    except EOFError as exc:
        raise AccountError("no password given (no terminal? use --password-stdin)") from exc
    return first


def cmd_users(args: argparse.Namespace, settings: Settings) -> int:
    """`paperdojo users list|add|passwd|remove`: manage the accounts of the users file (the
    password read twice from the terminal, or once with --password-stdin). Raises AccountError for a
    bad or taken name, an unknown user or an empty password."""
    accounts = Accounts(settings.users_file)
    if args.action == "list":
        users = accounts.list()
        if not users:
            console.print(f"no accounts in {settings.users_file}: the app is single-user "
                          "(`paperdojo users add NAME` adds one)")
        for account in users:
            print(f"{account.name}\t{account.created}")
        return 0
    if args.action == "add":
        first = not accounts
        accounts.check_new(args.name)  # before asking for a password
        accounts.add(args.name, read_password(args.password_stdin))
        console.print(f"added the user [bold]{escape(args.name)}[/] ({settings.users_file})")
        if first:
            console.print("the app now asks everyone to log in (restart a running app); progress made "
                          "before accounts stays with the user 'local' (`--user local`)")
    elif args.action == "passwd":
        accounts.require(args.name)  # before asking for a password
        accounts.set_password(args.name, read_password(args.password_stdin))
        console.print(f"new password set for [bold]{escape(args.name)}[/]")
    else:
        accounts.remove(args.name)
        console.print(f"removed the user [bold]{escape(args.name)}[/]; their progress stays in the progress "
                      "store (adding the name again gets it back)")
    return 0


def register(sub: argparse._SubParsersAction, llm: argparse.ArgumentParser) -> None:
    """Add the `users` subcommand to the CLI's parser."""
    users = sub.add_parser("users", help="accounts for the app: each user logs in and has their own progress")
    actions = users.add_subparsers(dest="action", required=True)
    for action, text in (("add", "add an account (password from a prompt, or --password-stdin)"),
                         ("passwd", "set a new password"), ("remove", "remove an account")):
        p = actions.add_parser(action, help=text)
        p.add_argument("name")
        if action != "remove":
            p.add_argument("--password-stdin", action="store_true", help="read the password from stdin's "
                           "first line (scripts)")
    actions.add_parser("list", help="the accounts, with when each was made")
    users.set_defaults(func=lambda args: cmd_users(args, settings_of(args)))
