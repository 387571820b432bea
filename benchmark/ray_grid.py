"""The benchmark grid as Ray tasks: ``python -m benchmark run --executor ray [--address ADDR]``.

Ray does the scheduling, placement and retries; this module only says what the tasks are:

* **Fit**: one task per detector runs :func:`benchmark.cells.fit_cell` (fit, or reload a
  cached fit), which saves the fit in the work folder with the project's own ``save``
  (``state_dict`` / joblib). The fitted detector never travels through Ray's object store.
* **Score**: as soon as a fit is done, its conditions are split into chunks (about one per
  cluster CPU) and each chunk is one task: it reloads the fit from the work folder
  (``fit_or_load(load_only=True)``), recomputes the detector's view of the dataset (images
  below its minimum side left out) and runs :func:`benchmark.cells.score_cell` per condition.
  Fit and score tasks ask for ``--task-cpus`` CPUs, and one GPU when the run's device is CUDA
  (``--device cuda``, or ``auto`` on a cluster with GPUs) and the detector is deep or its
  metadata says ``needs_gpu``; classical detectors never hold a GPU.
* **Cross-dataset** (``--train-on/--test-on``): one task per training set x detector fits it
  and scores every test set (:func:`benchmark.crossdata.cross_rows`, as the serial path).
* **Timing** is measured, not marked as not comparable: after every fit and scoring task has
  finished, one timing task at a time asks for *all* the CPUs of the largest node (and a GPU
  for a CUDA run), so it runs alone there as far as this run is concerned. Other Ray jobs on
  a shared cluster can still load the node: compare timings across runs with that in mind.

Same answer: tasks run the very cells of the serial path and return their rows (a
:class:`~benchmark.results.RowBuffer`); the driver replays them into the run's ``RowWriter``
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

import dataclasses
import math
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark import cells
from benchmark.data import Dataset, cache_dir
from benchmark.harness import (
    DetectorOutcome,
    Progress,
    RunConfig,
    build_detector,
    fit_or_load,
    for_detector,
)
from benchmark.results import RowBuffer, RowWriter

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


def connect(cfg: RunConfig) -> tuple[RunConfig, str]:
    """Join ``cfg.address`` (``auto``: the cluster started on this node), else ``RAY_ADDRESS``
    (set under ``ray job submit``), else start Ray on this machine; a Ray already initialised
    in this process is used as it is. Returns the config with an absolute ``out`` (every node
    resolves it alike) and the device the rows record."""
    ray = require_ray()
    if not ray.is_initialized():
        address = cfg.address or os.environ.get("RAY_ADDRESS") or "local"
        ray.init(address=address, include_dashboard=False)
    return dataclasses.replace(cfg, out=Path(cfg.out).resolve()), _device(ray, cfg)


def _device(ray: Any, cfg: RunConfig) -> str:
    """``cuda`` for ``--device cuda``, or ``auto`` on a cluster with a GPU; else ``cpu``."""
    has_gpu = ray.cluster_resources().get("GPU", 0) > 0
    if cfg.device == "cuda" and not has_gpu:
        raise ValueError("--device cuda: the Ray cluster has no GPU")
    return "cuda" if cfg.device == "cuda" or (cfg.device == "auto" and has_gpu) else "cpu"


@dataclass(frozen=True)
class _Job:
    """What every task needs besides the dataset: picklable, no detector."""

    cfg: RunConfig
    wdir: Path
    cache: str  # FAKEBENCH_CACHE of the driver
    sentinels: tuple[str, ...]
    entries: dict[str, Any]  # registry entries: detectors registered in the driver work too


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
    from benchmark.registry import DETECTORS, RegistryError, load_plugins

    load_plugins()
    try:
        DETECTORS.get(name)
    except RegistryError:
        DETECTORS.add(job.entries[name])


def _loaded(job: _Job, name: str, dataset: Dataset) -> tuple[Any, Dataset]:
    """The fit the fit task saved, and the detector's view of the dataset (recomputed)."""
    det = build_detector(name, job.cfg)
    view, _, data_key = for_detector(det, name, dataset, lambda _: None)
    folder = job.wdir / "detectors" / name
    return fit_or_load(det, view, folder, job.cfg, data_key, load_only=True)[0], view


def _fit_task(job: _Job, name: str, dataset: Dataset, conditions: list) -> tuple:
    _enter(job, name)
    rows, notes, says = RowBuffer(), [], []
    args = (name, dataset, job.cfg, job.wdir, conditions, rows, notes.append, says.append)
    fitted = cells.fit_cell(*args)[2]
    return fitted, rows, notes, says


def _score_task(job: _Job, fitted: cells.Fitted, dataset: Dataset, chunk: list, last: bool):
    _enter(job, fitted.name)
    rows, notes = RowBuffer(), []
    det, view = _loaded(job, fitted.name, dataset)
    for cond in chunk:
        args = (det, cond, fitted, view, dataset, job.cfg, job.wdir, rows, notes.append)
        cells.score_cell(*args)
    if last and fitted.retrieval:
        cells.retrieval_cell(det, fitted, view, rows)
    return rows, notes


def _timing_task(job: _Job, fitted: cells.Fitted, dataset: Dataset) -> tuple:
    _enter(job, fitted.name)
    rows, notes = RowBuffer(), []
    det = _loaded(job, fitted.name, dataset)[0]
    timing = cells.timing_cell(det, fitted, dataset, job.cfg, job.wdir, rows, notes.append)
    return timing, rows, notes


def _cross_task(job: _Job, name: str, train: Dataset, targets: list[Dataset]) -> tuple:
    from benchmark.crossdata import cross_rows

    _enter(job, name)
    says: list[str] = []
    return cross_rows(job.cfg, train, targets, name, says.append), says


def _write_sentinels(out: Path) -> list[Path]:
    """A file in the run's folder and in the cache that every task checks it can see."""
    sentinels = [out / SENTINEL, cache_dir() / f"{SENTINEL}-{os.getpid()}"]
    for path in sentinels:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"fakebench run {out.name}\n")
    return sentinels


def _task_options(entry: Any, device: str, num_cpus: float) -> dict[str, Any]:
    """Ray resources of a task: a GPU for deep (or ``needs_gpu``) detectors on a CUDA run."""
    gpu = device == "cuda" and (entry.meta.family == "deep" or entry.meta.needs_gpu)
    return {"num_cpus": num_cpus, "num_gpus": int(gpu), "max_retries": MAX_RETRIES}


def run_cross_tasks(
    cfg: RunConfig, train_sets: list[Dataset], test_sets: list[Dataset], progress: Any
) -> list[dict[str, Any]]:
    """``run --train-on/--test-on --executor ray``: one task per training set x detector (fit,
    then every test set), running :func:`benchmark.crossdata.cross_rows` as the serial path
    does; the rows come back in the serial order. A task Ray gave up on becomes error rows."""
    from benchmark.crossdata import error_rows, targets_of
    from benchmark.registry import DETECTORS

    ray = require_ray()
    cfg, device = connect(cfg)
    cfg = dataclasses.replace(cfg, device=device)
    sentinels = _write_sentinels(Path(cfg.out))
    entries = {n: DETECTORS.get(n) for n in cfg.detectors}
    job = _Job(cfg, Path(cfg.out), str(cache_dir()), tuple(map(str, sentinels)), entries)
    cross = ray.remote(_cross_task)
    tasks = []
    for train in train_sets:
        targets = targets_of(train, test_sets)
        for name in cfg.detectors:
            opts = _task_options(entries[name], device, cfg.task_cpus)
            progress(f"{name}: task submitted (fit on {train.name}, {len(targets)} test set(s))")
            tasks.append(
                (name, train, targets, cross.options(**opts).remote(job, name, train, targets))
            )
    rows: list[dict[str, Any]] = []
    try:
        for name, train, targets, task in tasks:
            try:
                got, says = ray.get(task)
            except Exception as exc:  # noqa: BLE001 - lost for good: its cells are error rows
                got, says = error_rows(name, train, targets, exc), [f"{name}: task failed: {exc}"]
            for text in says:
                progress(text)
            rows += got
    finally:
        for path in sentinels:
            path.unlink(missing_ok=True)
    return rows


def run_grid(
    cfg: RunConfig,
    dataset: Dataset,
    conditions: list[Any],
    wdir: Path,
    writer: RowWriter,
    progress: Progress,
) -> tuple[list[DetectorOutcome], list[dict]]:
    """Every detector's cells as Ray tasks; rows go to ``writer``. Returns outcomes, timing."""
    ray = require_ray()
    from benchmark.registry import DETECTORS

    names = list(cfg.detectors)
    sentinels = _write_sentinels(writer.path.parent)
    entries = {n: DETECTORS.get(n) for n in names}
    job = _Job(cfg, wdir, str(cache_dir()), tuple(map(str, sentinels)), entries)
    fit, score, timing = (ray.remote(f) for f in (_fit_task, _score_task, _timing_task))
    device, cpus = _device(ray, cfg), ray.cluster_resources().get("CPU", 1)
    data = ray.put(dataset)

    def opts(name: str, num_cpus: float) -> dict[str, Any]:
        return _task_options(entries[name], device, num_cpus)

    # task -> (detector, index of its rows in parts[detector], the cells it runs: [] = the fit)
    pending: dict[Any, tuple[str, int, list]] = {}
    fits: dict[str, cells.Fitted] = {}
    parts: dict[str, list[RowBuffer | None]] = {n: [None] for n in names}
    for name in names:
        progress.message(f"{name}: fit task submitted")
        task = fit.options(**opts(name, cfg.task_cpus)).remote(job, name, data, conditions)
        pending[task] = (name, 0, [])
    done = 0
    try:
        while pending:
            [task], _ = ray.wait(list(pending), num_returns=1)
            name, index, todo = pending.pop(task)
            if not todo:  # a fit finished: its scoring chunks go out now
                fits[name], parts[name][0], notes, says = _get(ray, task, name, dataset, cfg)
                for text in says:
                    progress.message(text)
                conds = fits[name].conditions
                size = max(1, math.ceil(len(conds) / cpus))  # about one chunk per cluster CPU
                for i in range(0, len(conds), size):
                    chunk, last = conds[i : i + size], i + size >= len(conds)
                    task = score.options(**opts(name, cfg.task_cpus)).remote(
                        job, fits[name], data, chunk, last
                    )
                    pending[task] = (name, len(parts[name]), chunk)
                    parts[name].append(None)
            else:
                parts[name][index], notes = _get(ray, task, name, dataset, cfg, fits[name], todo)
            for text in notes:
                progress.cell(name, text)
            while done < len(names) and all(p is not None for p in parts[names[done]]):
                for rows in parts[names[done]]:
                    writer.replay(rows)
                writer.flush()  # finished detectors are on disk if the driver dies
                done += 1
        # One timing task at a time, holding all the CPUs of the largest node.
        node_cpus = max(n["Resources"].get("CPU", 1) for n in ray.nodes() if n["Alive"])
        timing_rows: list[dict] = []
        for name in (n for n in names if fits[n].timed):
            task = timing.options(**opts(name, node_cpus)).remote(job, fits[name], data)
            rows_t, rows, notes = _get(ray, task, name, dataset, cfg, fits[name], ["timing"])
            timing_rows += rows_t
            writer.replay(rows)
            for text in notes:
                progress.cell(name, text)
    finally:
        for path in sentinels:
            path.unlink(missing_ok=True)
    return [fits[n].outcome for n in names], timing_rows


def _get(ray: Any, task: Any, name: str, dataset: Dataset, cfg: RunConfig,
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
            base = cells.fit_base(name, dataset, cfg)
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
        if fitted.retrieval and todo and todo[-1] is fitted.conditions[-1]:  # the last chunk
            where = fitted.base | {"condition": "retrieval"}
            cells.failed(name, lost, rows, where, "retrieval metrics")
        notes = [f"{key} FAILED: Ray task lost" for key in keys]
        return ([], rows, notes) if todo == ["timing"] else (rows, notes)
