"""The run's progress display: detector k/N, condition j/M, elapsed time and an ETA.

On a terminal, one status line at the bottom is redrawn in place and messages (a cell done,
a training epoch) scroll above it. When stderr is not a terminal (``make benchmark | tee``,
CI, a log file) every step is one plain timestamped line instead, so a log shows the same
information. Written by hand rather than with tqdm: a run's unit of progress is a mix of
fits and conditions of several detectors with free-text epoch lines between them, which
tqdm's single counter and ``write`` cover only in part (its non-terminal mode prints
nothing per step by default).
"""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

from benchmark.core.events import Observer


def _clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"


class ProgressDisplay(Observer):
    """A :class:`~benchmark.core.events.Observer` that shows the run on ``stream`` (stderr)."""

    def __init__(self, stream: TextIO | None = None, prefix: str = "", live: bool | None = None):
        self.stream = stream or sys.stderr
        self.prefix = prefix
        if live is None:
            live = self.stream.isatty() and not os.environ.get("FAKEBENCH_NO_PROGRESS")
        self.live = live
        self.t0 = time.perf_counter()
        self.plan: list[tuple[str, int]] = []
        self.done: dict[str, int] = {}
        self.current = ""
        self.in_order = True
        self._status = ""

    # Observer -----------------------------------------------------------------------------
    def start(self, plan: list[tuple[str, int]], in_order: bool = True) -> None:
        self.plan = list(plan)
        self.in_order = in_order
        self.done = {name: 0 for name, _ in plan}
        self.t0 = time.perf_counter()
        total = sum(n for _, n in plan)
        self._emit(f"{len(plan)} detector(s), {total} cells (fits, conditions, timings)")

    def cell(self, detector: str, text: str) -> None:
        self._switch(detector)
        planned = dict(self.plan).get(detector, 0)
        self.done[detector] = min(self.done.get(detector, 0) + 1, max(planned, 1))
        self._emit(f"{self._where(detector)} {text}")

    def message(self, text: str) -> None:
        self._emit(f"{self.prefix}{text}", status=False)

    # display -----------------------------------------------------------------------------
    def _switch(self, detector: str) -> None:
        """On to ``detector``: cells an earlier detector skipped (it failed) count as done.

        Not when detectors run interleaved (Ray): there a switch says nothing about the others.
        """
        if detector == self.current or not self.in_order:
            return
        names = [n for n, _ in self.plan]
        if self.current in names and detector in names:
            for name, n in self.plan[: names.index(detector)]:
                self.done[name] = n
        self.current = detector

    def _where(self, detector: str) -> str:
        names = [n for n, _ in self.plan]
        k = names.index(detector) + 1 if detector in names else 0
        m = dict(self.plan).get(detector, 0)
        return f"{self.prefix}[{k}/{len(names)} {detector} {self.done.get(detector, 0)}/{m}]"

    def eta(self) -> float | None:
        """Seconds left, from the mean time of the cells done so far (None before the first)."""
        total = sum(n for _, n in self.plan)
        done = sum(self.done.values())
        if not done or not total:
            return None
        return (time.perf_counter() - self.t0) / done * (total - done)

    def status(self) -> str:
        total = sum(n for _, n in self.plan)
        done = sum(self.done.values())
        eta = self.eta()
        return (
            f"{done}/{total} cells, elapsed {_clock(time.perf_counter() - self.t0)}, "
            f"ETA {_clock(eta) if eta is not None else '?'}"
        )

    def _emit(self, text: str, status: bool = True) -> None:
        stamp = time.strftime("%H:%M:%S")
        if self.live:
            # clear the status line, print the message, redraw the status line below it
            self.stream.write(f"\r\033[K[{stamp}] {text}\n")
            self._status = f"{self.prefix}{self.status()}"
            self.stream.write(f"\033[7m{self._status}\033[0m")
        else:
            tail = f" | {self.status()}" if status and self.plan else ""
            self.stream.write(f"[{stamp}] {text}{tail}\n")
        self.stream.flush()

    def close(self) -> None:
        """Leave the terminal clean (end the status line)."""
        if self.live and self._status:
            self.stream.write("\r\033[K")
            self.stream.flush()
