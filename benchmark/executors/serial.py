"""The serial executor: every cell of the plan in this process, one after the other.

Per detector: its fit cell, then each of its planned conditions on the *same* fitted detector,
its retrieval metrics, its timing. The writer is flushed after every detector, so nothing
computed is lost if the next one crashes the process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmark.core.events import Observer
from benchmark.core.samples import Dataset
from benchmark.engine import cells
from benchmark.engine.config import RunSpec
from benchmark.engine.cross import cross_rows, targets_of
from benchmark.engine.plan import DetectorPlan, Plan
from benchmark.results.rows import RowWriter


class SerialExecutor:
    """Runs a plan in this process."""

    in_order = True

    def cuda_available(self) -> bool:
        import torch

        return torch.cuda.is_available()

    def execute(
        self, plan: Plan, writer: RowWriter, observer: Observer
    ) -> tuple[list[cells.DetectorOutcome], list[dict]]:
        outcomes, timing_rows = [], []
        for detector in plan.detectors:
            outcomes.append(run_detector(plan, detector, writer, timing_rows, observer))
            writer.flush()  # after every detector: nothing computed is lost if the next crashes
        return outcomes, timing_rows

    def execute_cross(
        self, spec: RunSpec, out: Path, train_sets: list[Dataset], test_sets: list[Dataset],
        say: Any,
    ) -> list[dict[str, Any]]:  # fmt: skip
        rows: list[dict[str, Any]] = []
        for train in train_sets:
            targets = targets_of(train, test_sets)
            for name in spec.detectors:
                rows += cross_rows(spec, out, train, targets, name, say)
        return rows


def run_detector(
    plan: Plan,
    detector: DetectorPlan,
    writer: RowWriter,
    timing_rows: list[dict],
    observer: Observer,
) -> cells.DetectorOutcome:
    """Fit once, then score every planned condition; failures become error rows."""

    def note(text: str) -> None:
        observer.cell(detector.name, text)

    det, view, fitted = cells.fit_cell(plan, detector, writer, note, observer.message)
    if det is None:
        return fitted.outcome
    for cond in detector.conditions:
        cells.score_cell(det, cond, fitted, view, plan, writer, note)
    if detector.retrieval:
        cells.retrieval_cell(det, fitted, view, writer)
    if detector.timed:
        timing_rows.extend(cells.timing_cell(det, fitted, plan, writer, note))
    return fitted.outcome
