"""A run from end to end: plan, execute, keep the rows in memory, publish once.

:func:`run` builds the plan (:mod:`benchmark.engine.plan`) for a :class:`RunSpec` on a
dataset, hands it to the executor an :class:`ExecutionConfig` names, and returns a
:class:`RunResult`: the rows, per-image scores and timing rows in memory (as every reader of
the run folder's files would type them), each detector's outcome and the paths. The run
folder keeps the same rows on disk as they are produced, so nothing computed is lost if the
process dies.

:func:`publish_run` then writes what the run means, each file once: the skipped-image counts,
the upserted published rows and the tables derived from them (``benchmark.publish``), the
figures that need the images and fits (``benchmark.explain``), and last the folder's
``report.html``. :func:`run_cross` is the cross-dataset counterpart of :func:`run`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from benchmark import executors, publish
from benchmark.core import events
from benchmark.core.events import Observer
from benchmark.core.io import atomic_write_json, git_sha, make_run_id, package_versions
from benchmark.core.samples import Dataset
from benchmark.data.checks import write_skipped
from benchmark.engine.cells import DetectorOutcome
from benchmark.engine.config import ExecutionConfig, RunSpec, resolve_device
from benchmark.engine.cross import COLUMNS
from benchmark.engine.plan import Plan, build_plan
from benchmark.explain.run_figures import write_run_figures
from benchmark.report.page import write_folder_page
from benchmark.results.rows import RowWriter
from benchmark.results.store import (
    PublishError,
    dataset_folder,
    dataset_info,
    publish_lock,
    typed_rows,
    typed_scores,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunResult:
    """What a run produced, in memory.

    Attributes:
        plan: the plan it executed.
        run_id: the id on every row.
        run_dir: the run's folder (``rows.csv``, ``scores.csv``, ``timing.json``, ...).
        rows: the wide long table (one row per measurement).
        scores: every clean test image's score per detector.
        timing: the timing rows.
        outcomes: per detector, ok or its error, and the images it left out.
    """

    plan: Plan
    run_id: str
    run_dir: Path
    rows: pd.DataFrame
    scores: pd.DataFrame
    timing: pd.DataFrame
    outcomes: tuple[DetectorOutcome, ...]

    @property
    def work_dir(self) -> Path:
        return self.plan.work.root

    @property
    def skipped(self) -> list[dict[str, str]]:
        """Every detector's ``below_min_size`` records."""
        return [d for o in self.outcomes for d in o.skipped]


def run(
    spec: RunSpec,
    dataset: Dataset,
    execution: ExecutionConfig | None = None,
    observer: Observer | None = None,
) -> RunResult:
    """Plan ``spec`` on ``dataset``, execute the plan, return its rows in memory.

    The executor (``execution.executor``: ``local`` or ``ray``) only decides who runs the
    cells; the rows are the same.
    """
    execution = execution or ExecutionConfig()
    observer = observer or Observer()
    executor = executors.create(execution)
    device = resolve_device(spec.device, executor.cuda_available())  # what the rows record
    plan = build_plan(spec, dataset, execution.out, device)
    run_id = make_run_id()
    run_dir = plan.work.run(run_id)
    common = {"run_id": run_id, "device": device, "seed": spec.seed, "git_sha": git_sha(),
              "versions": package_versions()}  # fmt: skip
    writer = RowWriter(run_dir / "rows.csv", common)
    atomic_write_json(
        run_dir / "config.json",
        {
            "spec": spec.__dict__,
            "execution": execution.__dict__,
            "device": device,
            "dataset": {
                "name": dataset.name,
                "fingerprint": dataset.fingerprint,
                "summary": dataset.summary(),
            },
        },
    )
    for note in plan.notes:
        observer.message(note)
    observer.start(plan.cells(), in_order=executor.in_order)
    outcomes, timing_rows = executor.execute(plan, writer, observer)
    atomic_write_json(run_dir / "timing.json", timing_rows)
    writer.flush()
    return RunResult(
        plan=plan,
        run_id=run_id,
        run_dir=run_dir,
        rows=typed_rows(writer.frame()),
        scores=typed_scores(writer.scores_frame()),
        timing=pd.DataFrame(timing_rows),
        outcomes=tuple(outcomes),
    )


def run_cross(
    spec: RunSpec,
    train_sets: list[Dataset],
    test_sets: list[Dataset],
    execution: ExecutionConfig | None = None,
    say: Callable[[str], None] = lambda _: None,
) -> pd.DataFrame:
    """Long table (``engine.cross.COLUMNS``) of every detector x training set x test set.

    Args:
        spec: what to run (detectors, seed, device, overrides, ...).
        train_sets: datasets whose train/val splits fit the detectors.
        test_sets: datasets whose test splits are scored (the training sets' own test splits
            are scored too, as the in-domain reference).
        execution: who runs the cells and where the work folders are.
        say: receives one line per fit and per scored test set.

    Returns:
        One row per (detector, train_on, test_on, metric); failures carry ``error``.
    """
    execution = execution or ExecutionConfig()
    executor = executors.create(execution)
    rows = executor.execute_cross(spec, Path(execution.out), train_sets, test_sets, say)
    return pd.DataFrame(rows, columns=COLUMNS)


def publish_run(result: RunResult, results: Path | None, reference: str) -> Path:
    """Write a run's tables, figures and page, each once; returns the tables' folder.

    ``results``: the results root to upsert into (``results/<dataset>/``, or its
    ``seeds/seed<N>/`` for another seed); ``None`` keeps the tables in the run folder
    (``<run>/tables``). ``reference``: the robustness summary's reference detector.

    Publishing holds the folder's lock from the skip counts to the page, so runs finishing at
    the same moment publish one after another; ``dataset.json`` records the dataset's
    fingerprint.

    Raises:
        PublishError: the published folder cannot take the rows, or another publish held it
            too long; this run's tables are then in ``<run>/tables`` and the message says how
            to publish them.
    """
    plan, run_dir = result.plan, result.run_dir
    dataset, names = plan.dataset, [d.name for d in plan.detectors]
    # per detector: images below its minimum size (below_min_size), counted and listed
    write_skipped(dataset, run_dir, detector_skips=result.skipped, detectors=names)
    title = dataset.name
    if results is None:
        tables = run_dir / "tables"
        publish.write_tables(result.rows, result.timing, tables, reference, title=title,
                             scores=result.scores, page=False)  # fmt: skip
        _figures_and_page(result, tables)
        return tables
    tables = dataset_folder(results, dataset.name, plan.spec.seed)
    info = dataset_info(dataset.name, dataset.fingerprint, dataset.summary())
    try:
        with publish_lock(tables):  # skip counts, tables, figures, page: one publish at a time
            write_skipped(  # counts per detector and reason beside the tables, per detector
                dataset, tables, files=False, detector_skips=result.skipped, detectors=names,
                merge=True,
            )  # fmt: skip
            publish.publish(result.rows, result.timing, tables, reference, title=title,
                            scores=result.scores, page=False, dataset=info)  # fmt: skip
            _figures_and_page(result, tables)
    except PublishError as exc:  # keep this run's tables; say how to publish them
        publish.write_tables(result.rows, result.timing, run_dir / "tables", reference,
                             title=title)  # fmt: skip
        raise PublishError(
            f"{exc}. This run's tables are in {run_dir / 'tables'}; "
            f"`python -m benchmark report {run_dir} --results DIR` publishes them"
        ) from exc
    return tables


def _figures_and_page(result: RunResult, tables: Path) -> None:
    """The figures that need the images and the fits, then the page that shows them all."""
    plan = result.plan
    names = [d.name for d in plan.detectors]
    write_run_figures(plan.dataset, plan.work.detectors, tables, result.scores, names)
    try:
        if (tables / "leaderboard.csv").is_file():
            write_folder_page(tables)
    except (OSError, ValueError, KeyError, pd.errors.ParserError) as exc:  # tables stay valid
        log.warning("report page failed", exc_info=True)
        events.emit(f"report page not written: {type(exc).__name__}: {exc}")
