"""Executors take a plan and return its rows: ``serial`` (this process, one cell after the
other) and ``ray`` (cells as Ray tasks). Both run the engine's same cells, in
:mod:`benchmark.engine.cells`, with the same fit sequence.

An executor answers three things: whether it has a CUDA device (so the plan can resolve
``auto``), whether its cells finish in plan order (the progress display's bookkeeping), and
:meth:`Executor.execute`: run a plan's cells, adding rows to the run's writer, and return each
detector's outcome and the timing rows. :meth:`Executor.execute_cross` runs the cross-dataset
cells and returns their rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from benchmark.core.events import Observer
    from benchmark.core.samples import Dataset
    from benchmark.engine.cells import DetectorOutcome
    from benchmark.engine.config import ExecutionConfig, RunSpec
    from benchmark.engine.plan import Plan
    from benchmark.results.rows import RowWriter


class Executor(Protocol):
    """What ``benchmark.run`` needs of an executor."""

    in_order: bool

    def cuda_available(self) -> bool: ...

    def execute(
        self, plan: Plan, writer: RowWriter, observer: Observer
    ) -> tuple[list[DetectorOutcome], list[dict]]: ...

    def execute_cross(
        self, spec: RunSpec, out: Path, train_sets: list[Dataset], test_sets: list[Dataset],
        say: Any,
    ) -> list[dict[str, Any]]: ...  # fmt: skip


def create(execution: ExecutionConfig) -> Executor:
    """The executor ``execution.executor`` names (``local`` or ``ray``)."""
    if execution.executor == "ray":
        from benchmark.executors.ray import RayExecutor  # imports Ray only when asked for

        return RayExecutor(execution)
    from benchmark.executors.serial import SerialExecutor

    return SerialExecutor()
