"""What long work tells whoever shows it: free-text messages, and a run's plan and cells.

Library code never prints. Deep inside long work (an epoch, a feature pass) it calls
:func:`emit`, which logs the message at INFO and hands it to the listener the CLI installed
with :func:`listen` (the run's progress display). A run also tells an :class:`Observer` its
plan (detectors and how many cells each) and every finished cell; the base class only logs,
which is what library use and tests get, and the CLI's display subclasses it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence

log = logging.getLogger(__name__)

Listener = Callable[[str], None]
_listeners: list[Listener] = []


def emit(message: str) -> None:
    """Log ``message`` and pass it to the innermost installed listener, if any."""
    log.info(message)
    if _listeners:
        _listeners[-1](message)


@contextlib.contextmanager
def listen(fn: Listener) -> Iterator[None]:
    """Route :func:`emit` messages to ``fn`` inside the ``with`` block (nestable)."""
    _listeners.append(fn)
    try:
        yield
    finally:
        _listeners.remove(fn)


class Observer:
    """What a run tells its display: the cells planned and done, and free-text messages.

    A *cell* is one unit of work: fitting a detector, scoring one condition, timing it.
    """

    def start(self, plan: Sequence[tuple[str, int]], in_order: bool = True) -> None:
        """The run's plan: (detector, number of cells) in order. ``in_order=False``: cells of
        several detectors finish interleaved (the Ray executor)."""
        log.info("plan: %s", list(plan))

    def cell(self, detector: str, text: str) -> None:
        """One cell of ``detector`` finished (or failed); ``text`` says which."""
        log.info("%s: %s", detector, text)

    def message(self, text: str) -> None:
        log.info("%s", text)
