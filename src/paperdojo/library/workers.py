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
"""

from __future__ import annotations

import logging
import os
import threading
import time

log = logging.getLogger(__name__)

POLL_S = 0.5  # how often a worker looks at its parent: the longest it outlives it


def _parent_gone(parent_pid: int) -> bool:
    return os.getppid() != parent_pid


def _watch(parent_pid: int, poll_s: float) -> None:
    while True:
        if _parent_gone(parent_pid):
            os._exit(1)  # no cleanup to run: the parent that wanted the results is gone
        time.sleep(poll_s)


def watch_parent(parent_pid: int, poll_s: float = POLL_S) -> None:
    """End this process within `poll_s` seconds once `parent_pid` is no longer its parent.

    Meant as (part of) a pool initializer, with `initargs=(os.getpid(),)` from the parent. Exits
    at once when the parent is already gone (it died while this worker was starting)."""
    if _parent_gone(parent_pid):
        os._exit(1)
    threading.Thread(target=_watch, args=(parent_pid, poll_s), name="parent-watch", daemon=True).start()
