"""A folder's lock: exclusive across processes and threads, re-entrant, never stale."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from benchmark.core.locks import LOCK_NAME, LockTimeout, folder_lock

HOLD = """
import sys, time
from benchmark.core.locks import folder_lock
with folder_lock(sys.argv[1], timeout=10):
    print("held", flush=True)
    time.sleep(120)
"""


def test_a_lock_held_by_a_killed_process_is_free_at_once(tmp_path):
    """The kernel drops a dead holder's flock: SIGKILL mid-publish never blocks the next one."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE,
                              text=True)  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        lock_file = re.escape(str(tmp_path / LOCK_NAME))
        with pytest.raises(LockTimeout, match=lock_file), folder_lock(tmp_path, 0.2):
            pass
        os.kill(holder.pid, signal.SIGKILL)
        assert holder.wait(timeout=10) == -signal.SIGKILL
    finally:
        holder.kill()
        holder.stdout.close()
    t0 = time.perf_counter()
    with folder_lock(tmp_path, timeout=5):
        assert time.perf_counter() - t0 < 2
    assert (tmp_path / LOCK_NAME).is_file()  # the file stays; only the flock came and went


def test_re_entrant_in_one_thread_exclusive_between_threads(tmp_path):
    got = []

    def other():
        try:
            with folder_lock(tmp_path, timeout=0.2):
                got.append("acquired")
        except LockTimeout as exc:
            got.append(str(exc))

    with folder_lock(tmp_path / "new", timeout=1), folder_lock(tmp_path / "new", timeout=1):
        pass  # nested: the same thread re-enters (and the folder was created)
    with folder_lock(tmp_path, timeout=1):
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    held = f"{tmp_path}: still locked by another writer after 0.2 s (lock file {tmp_path}/.lock)"
    assert got == [held, "acquired"]
