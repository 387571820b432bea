"""One writer at a time per shared folder: an OS file lock at ``<folder>/.lock``.

A results folder is updated by read-modify-write (read the published rows, upsert, rewrite every
table derived from them). Atomic writes keep each file whole, but two processes doing that at
once each write what they read before the other wrote, and the last one silently drops the
other's rows. :func:`folder_lock` makes that sequence a critical section across processes and
threads.

The lock is ``filelock``'s ``FileLock``, an advisory ``flock`` on ``<folder>/.lock``: the
kernel drops it when its holder's file descriptor closes, so a process killed while publishing
never leaves a stale lock behind (the empty ``.lock`` file stays and is git-ignored). A holder
that hangs is the one case left; acquisition therefore gives up after ``timeout`` seconds with
:class:`LockTimeout`, naming the lock file. Within one thread the lock is re-entrant, so a
function that locks its folder can call another that locks the same folder.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

LOCK_NAME = ".lock"


class LockTimeout(TimeoutError):
    """Another process (or thread) held a folder's lock for longer than the timeout."""


@contextlib.contextmanager
def folder_lock(folder: str | Path, timeout: float) -> Iterator[Path]:
    """Hold ``<folder>/.lock`` (the folder is created) for the duration of the ``with`` block.

    Args:
        folder: the folder whose files the block reads and rewrites.
        timeout: seconds to wait for another holder before giving up.

    Yields:
        The lock file's path.

    Raises:
        LockTimeout: still held by someone else after ``timeout`` seconds.
    """
    from filelock import FileLock, Timeout  # ~30 ms to import, and only writers need it

    path = Path(folder) / LOCK_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    # One instance per path in this process: nested calls re-enter it instead of deadlocking
    # on a second descriptor; the per-thread state keeps threads apart.
    lock = FileLock(path, is_singleton=True)
    try:
        lock.acquire(timeout=timeout)
    except Timeout:
        raise LockTimeout(
            f"{Path(folder)}: still locked by another writer after {timeout:g} s (lock file {path})"
        ) from None
    try:
        yield path
    finally:
        lock.release()
