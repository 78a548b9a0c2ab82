"""Worker processes that die with the process that started them, however it dies.

A parent killed with `kill -9`, by the out-of-memory killer or with its terminal closes no pipes
politely and runs no `atexit`: a `ProcessPoolExecutor`'s workers, re-parented to init, would wait
for work forever (four embedding workers of about 400 MB each were found alive an hour after a
test run). Each worker therefore runs `watch_parent` as its pool initializer: a daemon thread
that checks twice a second whether its parent is still the process that started it, and ends the
worker at once (`os._exit`) when it is not.

Linux's parent-death signal (`prctl(PR_SET_PDEATHSIG)`) is not used: it fires when the *thread*
that spawned the worker ends, and pools are started from short-lived threads (the app's request
handlers), which would kill healthy workers; a parent-pid watch works on every platform.

A worker forked by a forkserver (the bfloat16 embedding workers: see `embed`) has the forkserver,
not the pool's owner, as its parent. The forkserver ends when its owner does (its pipe to the owner
closes), so such a worker watches both: its owner's pid still alive, and its own parent unchanged.
"""

from __future__ import annotations

import logging
import os
import threading
import time

log = logging.getLogger(__name__)

POLL_S = 0.5  # how often a worker looks at its parent: the longest it outlives it


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only checks that the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def _owner_gone(owner_pid: int, parent_pid: int) -> bool:
    """The pool's owner has ended: it was our parent and is no more, or our parent (a forkserver)
    changed, or the owner's pid is gone."""
    return os.getppid() != parent_pid or not _alive(owner_pid)


def _watch(owner_pid: int, parent_pid: int, poll_s: float) -> None:
    while True:
        if _owner_gone(owner_pid, parent_pid):
            os._exit(1)  # no cleanup to run: the process that wanted the results is gone
        time.sleep(poll_s)


def watch_parent(parent_pid: int, poll_s: float = POLL_S) -> None:
    """End this process within `poll_s` seconds once `parent_pid`, the process that started its
    pool, has ended (or this process was re-parented).

    Meant as (part of) a pool initializer, with `initargs=(os.getpid(),)` from the pool's owner;
    works for spawned workers (the owner is their parent) and forkserver ones (the forkserver is).
    Exits at once when the owner is already gone (it died while this worker was starting)."""
    parent = os.getppid()
    if parent != parent_pid and (parent == 1 or not _alive(parent_pid)):
        os._exit(1)
    threading.Thread(target=_watch, args=(parent_pid, parent, poll_s), name="parent-watch",
                     daemon=True).start()
