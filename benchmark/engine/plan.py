"""The plan: detectors × cells, decided before anything runs.

:func:`build_plan` builds every detector from its parameters (no fit), decides which
conditions it is scored on (its ``condition_grid``: the full grid, or the light one of the
slowest backbones; native-resolution conditions only for resolution-agnostic detectors),
whether it has retrieval metrics and whether it is timed, and resolves the device the rows
record. Executors take the frozen :class:`Plan` and run its cells; the progress display gets
the same plan, so its counts and ETA are right under every executor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmark.conditions.grid import Condition, build_conditions
from benchmark.core.samples import Dataset
from benchmark.engine.config import RunSpec
from benchmark.engine.fitting import build_detector
from benchmark.engine.folders import WorkFolder
from benchmark.engine.scoring import native_size
from benchmark.protocol import model_input_size

#: A detector's ``condition_grid`` parameter: ``full`` (every condition) or ``light`` (clean,
#: resolutions and each corruption at its middle severity only: the slowest detectors on a CPU).
CONDITION_GRIDS = ("full", "light")


@dataclass(frozen=True)
class DetectorPlan:
    """One detector's cells: its fit, the conditions it is scored on, retrieval, timing.

    A detector that cannot be built from its parameters (a bad ``--set``) has only its fit
    cell, which builds it again and fails with that error as its row. ``error`` is set when it
    builds but its ``condition_grid`` is not one of ``CONDITION_GRIDS``: the fit cell fails with
    it before fitting. ``not_applicable`` is set when the detector needs pretrained weights that
    are not on this machine (and the run did not ask for ``--allow-random-init``): its one
    cell is a ``not applicable`` row saying how to fetch them, and costs no time.
    """

    name: str
    conditions: tuple[Condition, ...] = ()
    retrieval: bool = False
    timed: bool = False
    error: str = ""
    not_applicable: str = ""

    @property
    def n_cells(self) -> int:
        """Cells the progress display counts: the fit, each condition, the timing."""
        return 1 + len(self.conditions) + int(self.timed)


@dataclass(frozen=True)
class Plan:
    """What a run will do, frozen before the first fit.

    Attributes:
        spec: what to run.
        dataset: the data every detector sees (each its own view, minus images below its
            minimum side).
        work: the work folder (fits, cached predictions, run folders), an absolute path so
            every process (and every Ray node) resolves it alike.
        device: the device the rows record (``auto`` resolved).
        grid: the run's whole condition grid; each detector's share is in ``detectors``.
        detectors: the detectors in run order.
        notes: what planning left out, in words (resolutions at or above the images' size).
    """

    spec: RunSpec
    dataset: Dataset
    work: WorkFolder
    device: str
    grid: tuple[Condition, ...]
    detectors: tuple[DetectorPlan, ...]
    notes: tuple[str, ...] = field(default=())

    def cells(self) -> list[tuple[str, int]]:
        """``(detector, number of cells)`` in run order, for the progress display."""
        return [(d.name, d.n_cells) for d in self.detectors]

    def detector(self, name: str) -> DetectorPlan:
        return next(d for d in self.detectors if d.name == name)


def condition_grid(grid: str, conditions: Sequence[Condition], agnostic: bool) -> list[Condition]:
    """The conditions a detector with ``condition_grid=grid`` is scored on, in order.

    ``agnostic``: the detector works at any size (no model input), so the native-resolution
    conditions (degraded, not resized back) mean something for it; others skip them.
    """
    if grid not in CONDITION_GRIDS:
        raise ValueError(f"condition_grid must be one of {CONDITION_GRIDS}, got {grid!r}")
    chosen = list(conditions)
    if grid == "light":
        from benchmark.conditions.social import SOCIAL  # named one-severity conditions stay

        sev = sorted({
            c.severity for c in chosen if c.kind == "corruption" and c.corruption not in SOCIAL
        })  # fmt: skip
        middle = sev[len(sev) // 2] if sev else None
        chosen = [
            c for c in chosen
            if c.kind != "corruption" or c.severity == middle or c.corruption in SOCIAL
        ]  # fmt: skip
    return [c for c in chosen if c.mode != "native" or agnostic]


def plan_detector(name: str, spec: RunSpec, grid: Sequence[Condition]) -> DetectorPlan:
    """One detector's cells, from its parameters alone (it is built, not fitted)."""
    try:
        det = build_detector(name, spec)
    except Exception:  # noqa: BLE001 - the fit cell builds it again: its error is the row
        return DetectorPlan(name)
    missing = missing_weights(det, spec)
    if missing:
        return DetectorPlan(name, not_applicable=missing)
    try:
        conditions = condition_grid(
            det.get_params().get("condition_grid", "full"), grid, model_input_size(det) is None
        )
    except ValueError as exc:
        return DetectorPlan(name, error=str(exc))
    return DetectorPlan(
        name,
        tuple(conditions),
        retrieval="retrieval" in det.capabilities,
        timed=spec.timing and not det.meta.needs_files,  # file readers can't take random input
    )


def missing_weights(det: object, spec: RunSpec) -> str:
    """Why ``det`` cannot run here for want of its pretrained weights ("" when it can).

    Only a detector with the ``pretrained_weights`` capability, no explicit ``weights_path``
    and no ``allow_random_init`` is checked: where its ``weights_source_spec`` points
    (``toolkit.weights.locate``) must hold the file. A random-init detector would run, but
    measure an architecture without its pretraining, not the method: never implied.
    """
    from benchmark.toolkit.weights import locate

    if spec.allow_random_init or "pretrained_weights" not in det.capabilities:  # type: ignore[attr-defined]
        return ""
    params = det.get_params()  # type: ignore[attr-defined]
    if params.get("weights_path") or params.get("allow_random_init"):
        return ""
    source = det.weights_source_spec()  # type: ignore[attr-defined]
    if source is None:
        return ""
    where = locate(*source)
    if where["cached"]:
        return ""
    name = det.meta.name  # type: ignore[attr-defined]
    return (
        f"weights not found: `python -m benchmark weights fetch {name}`, then run again "
        f"({source[0]}:{source[1]} expected at {where['path']})"
    )


def build_plan(spec: RunSpec, dataset: Dataset, out: str | Path, device: str) -> Plan:
    """The run's plan: its grid (resolutions at or above the test images' size dropped:
    degrading never up-scales), and every detector's cells."""
    native = native_size(dataset) or 0
    resolutions = [r for r in spec.resolutions if r < native]
    notes = ()
    if len(resolutions) < len(spec.resolutions):
        notes = (f"resolutions >= the test images' {native} px are the clean condition: skipped",)
    grid = tuple(
        build_conditions(
            list(spec.corruptions), list(spec.severities), resolutions, resolution_agnostic=True
        )
    )
    return Plan(
        spec=spec,
        dataset=dataset,
        work=WorkFolder.of(Path(out).resolve(), dataset, spec.seed, spec.train_aug),
        device=device,
        grid=grid,
        detectors=tuple(plan_detector(name, spec, grid) for name in spec.detectors),
        notes=notes,
    )
