"""Progress messages from deep inside long work (an epoch, a feature pass) to whoever shows them.

Library code never prints: it calls :func:`report`, which logs the message at INFO and hands it
to the sink the CLI installed with :func:`sink` (the run's progress display). Without a sink,
e.g. in tests or when fakebench is used as a library, a report is only a log record.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator

log = logging.getLogger(__name__)

Sink = Callable[[str], None]
_sinks: list[Sink] = []


def report(message: str) -> None:
    """Log ``message`` and pass it to the innermost installed sink, if any."""
    log.info(message)
    if _sinks:
        _sinks[-1](message)


@contextlib.contextmanager
def sink(fn: Sink) -> Iterator[None]:
    """Route :func:`report` messages to ``fn`` inside the ``with`` block (nestable)."""
    _sinks.append(fn)
    try:
        yield
    finally:
        _sinks.remove(fn)
