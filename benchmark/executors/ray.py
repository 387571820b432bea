"""The benchmark grid as Ray tasks: ``python -m benchmark run --executor ray [--address ADDR]``.

Ray does the scheduling, placement and retries; this module only says what the tasks are:

* **Fit**: one task per detector runs :func:`benchmark.engine.cells.fit_cell` (fit, or reload
  a cached fit), which saves the fit in the work folder with the project's own ``save``
  (``state_dict`` / joblib). The fitted detector never travels through Ray's object store.
* **Score**: as soon as a fit is done, its planned conditions are split into chunks (about one
  per cluster CPU) and each chunk is one task: it reloads the fit from the work folder through
  the same fit sequence (``fit_detector(load_only=True)``, which also recomputes the
  detector's view of the dataset) and runs :func:`benchmark.engine.cells.score_cell` per
  condition.
  Fit and score tasks ask for ``--task-cpus`` CPUs, and one GPU when the run's device is CUDA
  (``--device cuda``, or ``auto`` on a cluster with GPUs) and the detector is deep or its
  metadata says ``needs_gpu``; classical detectors never hold a GPU.
* **Cross-dataset** (``--train-on/--test-on``): one task per training set x detector fits it
  and scores every test set (:func:`benchmark.engine.cross.cross_rows`, as the serial path).
* **Timing** is measured, not marked as not comparable: after every fit and scoring task has
  finished, one timing task at a time asks for *all* the CPUs of the largest node (and a GPU
  for a CUDA run), so it runs alone there as far as this run is concerned. Other Ray jobs on
  a shared cluster can still load the node: compare timings across runs with that in mind.

Same answer: tasks run the very cells of the serial path and return their rows (a
:class:`~benchmark.results.rows.RowBuffer`); the driver replays them into the run's ``RowWriter``
in the serial order, detector by detector (a timing failure row lands after all detectors).

Faults: a task whose worker dies is retried by Ray (``MAX_RETRIES``). Rows are added once,
when a task's result arrives, so a retry neither loses nor duplicates them; the task's side
effects (fit, cached predictions and timings, rendered conditions) are atomic writes keyed by
content, so a retry or a re-run resumes from what finished. An exception inside a cell is an
error row exactly as in the serial path; a task lost for good becomes error rows for its cells.

Shared folders: ``--out`` and ``FAKEBENCH_CACHE`` must be on storage that every node mounts at
the same path. The driver writes a sentinel file in both; every task checks them first and
fails fast naming the path and the node. ``import ray`` happens only here.
"""

from __future__ import annotations

import math
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.core.events import Observer
from benchmark.core.samples import Dataset, cache_dir
from benchmark.engine import cells
from benchmark.engine.config import ExecutionConfig, RunSpec, resolve_device
from benchmark.engine.cross import cross_rows, error_rows, targets_of
from benchmark.engine.fitting import fit_detector
from benchmark.engine.plan import Plan
from benchmark.plugins import load_plugins
from benchmark.registry import DETECTORS, Entry, RegistryError
from benchmark.results.rows import RowBuffer, RowWriter

MAX_RETRIES = 3  # per task, when its worker process dies
SENTINEL = ".fakebench-ray-sentinel"


class RayUnavailableError(ValueError):
    """``--executor ray`` without Ray installed."""


class SharedFolderError(FileNotFoundError):
    """A Ray node cannot see the run folder or the cache: they are not on shared storage."""


def require_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise RayUnavailableError(
            "--executor ray needs Ray: pip install 'fakebench[ray]'"
        ) from None
    return ray


class RayExecutor:
    """Runs a plan's cells as Ray tasks on the cluster ``execution.address`` names.

    Joins ``address`` (``auto``: the cluster started on this node), else ``RAY_ADDRESS`` (set
    under ``ray job submit``), else starts Ray on this machine; a Ray already initialised in
    this process is used as it is.
    """

    in_order = False

    def __init__(self, execution: ExecutionConfig) -> None:
        self.execution = execution
        self.ray = require_ray()
        if not self.ray.is_initialized():
            address = execution.address or os.environ.get("RAY_ADDRESS") or "local"
            self.ray.init(address=address, include_dashboard=False)

    def cuda_available(self) -> bool:
        return self.ray.cluster_resources().get("GPU", 0) > 0

    def execute(
        self, plan: Plan, writer: RowWriter, observer: Observer
    ) -> tuple[list[cells.DetectorOutcome], list[dict]]:
        return _run_grid(self.ray, plan, self.execution.task_cpus, writer, observer)

    def execute_cross(
        self, spec: RunSpec, out: Path, train_sets: list[Dataset], test_sets: list[Dataset],
        say: Any,
    ) -> list[dict[str, Any]]:  # fmt: skip
        device = resolve_device(spec.device, self.cuda_available())
        return _run_cross(
            self.ray, spec, Path(out), device, self.execution, train_sets, test_sets, say
        )


@dataclass(frozen=True)
class _Job:
    """What every task needs besides the plan: picklable, no detector."""

    cache: str  # FAKEBENCH_CACHE of the driver
    sentinels: tuple[str, ...]
    entries: dict[str, Entry]  # registry entries: detectors registered in the driver work too


def _enter(job: _Job, name: str) -> None:
    """At the start of every task: same cache as the driver, shared folders seen, registry,
    and torch's threads = the task's CPUs (Ray reuses a worker process across tasks)."""
    import ray

    os.environ["FAKEBENCH_CACHE"] = job.cache
    cpus = int(ray.get_runtime_context().get_assigned_resources().get("CPU", 0))
    if cpus:
        os.environ["OMP_NUM_THREADS"] = str(cpus)  # read when torch is first imported
        # joblib's n_jobs=-1 (feature extraction, forests, grid searches) = the task's CPUs,
        # not the node's: joblib reads this at every call
        os.environ["LOKY_MAX_CPU_COUNT"] = str(cpus)
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(cpus)
    for path in job.sentinels:
        if not os.path.isfile(path):
            node = f"{socket.gethostname()} ({ray.util.get_node_ip_address()})"
            raise SharedFolderError(
                f"Ray node {node} cannot see {path}: --out and FAKEBENCH_CACHE must be on a "
                "folder every node mounts at the same path (README: Running on a Ray cluster)"
            )
    load_plugins()
    try:
        DETECTORS.get(name)
    except RegistryError:
        DETECTORS.add(job.entries[name])


def _reloaded(plan: Plan, name: str) -> tuple[Any, Dataset]:
    """The fit the fit task saved, and the detector's view of the dataset, through the same
    fit sequence as the fit itself."""
    det, view, _ = fit_detector(name, plan.spec, plan.dataset, plan.work, lambda _: None,
                                load_only=True)  # fmt: skip
    return det, view


def _fit_task(job: _Job, plan: Plan, name: str) -> tuple:
    _enter(job, name)
    rows, notes, says = RowBuffer(), [], []
    fitted = cells.fit_cell(plan, plan.detector(name), rows, notes.append, says.append)[2]
    return fitted, rows, notes, says


def _score_task(job: _Job, plan: Plan, fitted: cells.Fitted, chunk: list, last: bool):
    _enter(job, fitted.name)
    rows, notes = RowBuffer(), []
    det, view = _reloaded(plan, fitted.name)
    for cond in chunk:
        cells.score_cell(det, cond, fitted, view, plan, rows, notes.append)
    if last and plan.detector(fitted.name).retrieval:
        cells.retrieval_cell(det, fitted, view, rows)
    return rows, notes


def _timing_task(job: _Job, plan: Plan, fitted: cells.Fitted) -> tuple:
    _enter(job, fitted.name)
    rows, notes = RowBuffer(), []
    det = _reloaded(plan, fitted.name)[0]
    timing = cells.timing_cell(det, fitted, plan, rows, notes.append)
    return timing, rows, notes


def _cross_task(job: _Job, spec: RunSpec, out: Path, name: str, train: Dataset,
                targets: list[Dataset]) -> tuple:  # fmt: skip
    _enter(job, name)
    says: list[str] = []
    return cross_rows(spec, out, train, targets, name, says.append), says


def _write_sentinels(out: Path) -> list[Path]:
    """A file in the run's folder and in the cache that every task checks it can see."""
    sentinels = [out / SENTINEL, cache_dir() / f"{SENTINEL}-{os.getpid()}"]
    for path in sentinels:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"fakebench run {out.name}\n")
    return sentinels


def _task_options(entry: Entry, device: str, num_cpus: float) -> dict[str, Any]:
    """Ray resources of a task: a GPU for deep (or ``needs_gpu``) detectors on a CUDA run."""
    gpu = device == "cuda" and (entry.meta.family == "deep" or entry.meta.needs_gpu)
    return {"num_cpus": num_cpus, "num_gpus": int(gpu), "max_retries": MAX_RETRIES}


def _run_cross(
    ray: Any, spec: RunSpec, out: Path, device: str, execution: ExecutionConfig,
    train_sets: list[Dataset], test_sets: list[Dataset], say: Any,
) -> list[dict[str, Any]]:  # fmt: skip
    """``run --train-on/--test-on --executor ray``: one task per training set x detector (fit,
    then every test set), running :func:`benchmark.engine.cross.cross_rows` as the serial
    executor does; the rows come back in the serial order. A lost task becomes error rows."""
    out = out.resolve()  # every node resolves it alike
    sentinels = _write_sentinels(out)
    entries = {n: DETECTORS.get(n) for n in spec.detectors}
    job = _Job(str(cache_dir()), tuple(map(str, sentinels)), entries)
    cross = ray.remote(_cross_task)
    tasks = []
    for train in train_sets:
        targets = targets_of(train, test_sets)
        for name in spec.detectors:
            opts = _task_options(entries[name], device, execution.task_cpus)
            say(f"{name}: task submitted (fit on {train.name}, {len(targets)} test set(s))")
            task = cross.options(**opts).remote(job, spec, out, name, train, targets)
            tasks.append((name, train, targets, task))
    rows: list[dict[str, Any]] = []
    try:
        for name, train, targets, task in tasks:
            try:
                got, says = ray.get(task)
            except Exception as exc:  # noqa: BLE001 - lost for good: its cells are error rows
                got, says = error_rows(name, train, targets, exc), [f"{name}: task failed: {exc}"]
            for text in says:
                say(text)
            rows += got
    finally:
        for path in sentinels:
            path.unlink(missing_ok=True)
    return rows


def _run_grid(
    ray: Any, plan: Plan, task_cpus: int, writer: RowWriter, observer: Observer
) -> tuple[list[cells.DetectorOutcome], list[dict]]:
    """Every detector's planned cells as Ray tasks; rows go to ``writer`` in plan order."""
    names = [d.name for d in plan.detectors]
    sentinels = _write_sentinels(writer.path.parent)
    entries = {n: DETECTORS.get(n) for n in names}
    job = _Job(str(cache_dir()), tuple(map(str, sentinels)), entries)
    fit, score, timing = (ray.remote(f) for f in (_fit_task, _score_task, _timing_task))
    cpus = ray.cluster_resources().get("CPU", 1)
    shared = ray.put(plan)

    def opts(name: str, num_cpus: float) -> dict[str, Any]:
        return _task_options(entries[name], plan.device, num_cpus)

    # task -> (detector, index of its rows in parts[detector], the cells it runs: [] = the fit)
    pending: dict[Any, tuple[str, int, list]] = {}
    fits: dict[str, cells.Fitted] = {}
    parts: dict[str, list[RowBuffer | None]] = {n: [None] for n in names}
    for name in names:
        observer.message(f"{name}: fit task submitted")
        task = fit.options(**opts(name, task_cpus)).remote(job, shared, name)
        pending[task] = (name, 0, [])
    done = 0
    try:
        while pending:
            [task], _ = ray.wait(list(pending), num_returns=1)
            name, index, todo = pending.pop(task)
            if not todo:  # a fit finished: its scoring chunks go out now
                fits[name], parts[name][0], notes, says = _get(ray, task, name, plan)
                for text in says:
                    observer.message(text)
                conds = list(plan.detector(name).conditions) if fits[name].ok else []
                size = max(1, math.ceil(len(conds) / cpus))  # about one chunk per cluster CPU
                for i in range(0, len(conds), size):
                    chunk, last = conds[i : i + size], i + size >= len(conds)
                    task = score.options(**opts(name, task_cpus)).remote(
                        job, shared, fits[name], chunk, last
                    )
                    pending[task] = (name, len(parts[name]), chunk)
                    parts[name].append(None)
            else:
                parts[name][index], notes = _get(ray, task, name, plan, fits[name], todo)
            for text in notes:
                observer.cell(name, text)
            while done < len(names) and all(p is not None for p in parts[names[done]]):
                for rows in parts[names[done]]:
                    writer.replay(rows)
                writer.flush()  # finished detectors are on disk if the driver dies
                done += 1
        # One timing task at a time, holding all the CPUs of the largest node.
        node_cpus = max(n["Resources"].get("CPU", 1) for n in ray.nodes() if n["Alive"])
        timing_rows: list[dict] = []
        for name in (n for n in names if fits[n].ok and plan.detector(n).timed):
            task = timing.options(**opts(name, node_cpus)).remote(job, shared, fits[name])
            rows_t, rows, notes = _get(ray, task, name, plan, fits[name], ["timing"])
            timing_rows += rows_t
            writer.replay(rows)
            for text in notes:
                observer.cell(name, text)
    finally:
        for path in sentinels:
            path.unlink(missing_ok=True)
    return [fits[n].outcome for n in names], timing_rows


def _get(ray: Any, task: Any, name: str, plan: Plan,
         fitted: cells.Fitted | None = None, todo: list | None = None) -> tuple:  # fmt: skip
    """A task's result. A task Ray gave up on (its worker died ``MAX_RETRIES`` + 1 times, or
    it raised outside a cell) becomes error rows for its cells, as a failing cell does."""
    try:
        return ray.get(task)
    except SharedFolderError as exc:  # the whole run stops: say which node and path, plainly
        raise SharedFolderError(str(getattr(exc, "cause", exc))) from None
    except ray.exceptions.RayError as exc:
        cause = getattr(exc, "cause", None) or exc
        first = (str(cause).splitlines() or [""])[0]
        lost = RuntimeError(f"Ray task lost: {type(cause).__name__}: {first}")
        rows = RowBuffer()
        if fitted is None:
            base = cells.fit_base(name, plan)
            return (
                cells.Fitted(name, cells.failed(name, lost, rows, base, "fit"), base),
                rows,
                [],
                [],
            )
        keys = ["timing"] if todo == ["timing"] else [c.key for c in todo or []]
        for key in keys:
            stage = key if key == "timing" else f"condition {key}"
            cells.failed(name, lost, rows, fitted.base | {"condition": key}, stage)
        conditions = plan.detector(name).conditions
        if plan.detector(name).retrieval and todo and todo[-1] is conditions[-1]:  # last chunk
            where = fitted.base | {"condition": "retrieval"}
            cells.failed(name, lost, rows, where, "retrieval metrics")
        notes = [f"{key} FAILED: Ray task lost" for key in keys]
        return ([], rows, notes) if todo == ["timing"] else (rows, notes)
