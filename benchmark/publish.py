"""Publishing tables so that no run ever loses a published row.

Layout of a results folder (``results/`` by default)::

    results/
        index.md, index.csv          generated: every table set below, with its dataset and runs
        deepfakebench/deepfakebench.{csv,md}   ``run --protocol deepfakebench``'s matrix
        <dataset>/
            rows.csv                 the published long table; every row carries its run id
            fits.csv                 one row per fit (run id, detector, dataset, train_aug,
                                     tuning, seed): parameters, versions, git sha, device,
                                     pretrained; ``results.read_rows`` joins it to the rows
            timing.csv               published timing rows
            scores.csv               every clean test image's score per detector
            dataset.json             the dataset the rows were made on: name, fingerprint, images
                                     per split (a publish on another fingerprint warns)
            leaderboard.{csv,md}, robustness.csv, robustness_summary.csv, resolution.csv
                                     re-derived from rows.csv + timing.csv at every publish
            leave_one_out.{csv,md}   ``run --leave-one-out``: AUC on each held-out family beside
                                     the in-distribution AUC (a section of leaderboard.md too)
            seeds/seed<N>/...        runs with another seed than 0, same layout
            seeds/leaderboard_seeds.{csv,md}   mean, sd, min, max over the seed folders

A run *upserts*: for each (dataset, detector, training mode, tuning, seed, condition) group it
produced, the published rows of that group are replaced by the run's; every other published
row stays. So ``run -d fft_spectrum`` updates only ``fft_spectrum``'s rows, and a run with
fewer corruptions keeps the published rows of the others. The fit-level rows (training
seconds, parameters, a fit error) form one group ("fit"), so a successful refit clears an
old fit error and a failed refit shows as failed. Timing rows are replaced per detector and
device. Rows of different runs can therefore sit side by side; ``run_id`` on every row (and
its fit's ``git_sha``) says which run produced it.

A long table whose CSV would pass 5 MB (``results.GZIP_ABOVE_BYTES``: ``rows``, ``scores``,
``robustness``, ``resolution``) is written gzipped as ``<name>.csv.gz`` instead; readers take
either. A folder published before ``fits.csv`` existed (parameters on every row) is read as it
is and written in this form by its next publish or ``report``.

Every read-modify-write of a folder holds its lock, ``<folder>/.lock`` (git-ignored; see
``results.store.publish_lock``): one dataset folder's whole publish (rows, derived tables,
figures, page), the summary over seeds (``seeds/.lock``), the index and the generalisation
table (the results root's ``.lock``). Processes publishing into one folder at once then run one
after another and none loses the other's rows; the kernel frees the lock of a process that dies
holding it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from benchmark import report
from benchmark.core.io import atomic_write_csv, atomic_write_text
from benchmark.report import figures
from benchmark.report.freeze import freeze_table
from benchmark.report.freeze import markdown_section as freeze_markdown
from benchmark.report.generalisation import generalisation_markdown
from benchmark.report.leave_one_out import markdown_section as held_out_markdown
from benchmark.report.leave_one_out import replace_section
from benchmark.report.markdown import markdown
from benchmark.report.page import write_folder_page, write_index_page
from benchmark.report.protocol import protocol_markdown
from benchmark.report.tables import (
    DEFAULT_BOOTSTRAP,
    condition_table,
    leaderboard,
    robustness_summary,
)
from benchmark.report.tuning import markdown_section
from benchmark.report.video import markdown_section as video_markdown
from benchmark.results.store import (  # noqa: F401 - dataset_folder, read_scores: public here
    DATASET_FILE,
    ROWS_FILE,
    SCORES_FILE,
    TIMING_FILE,
    PublishError,
    dataset_folder,
    find_table,
    publish_lock,
    read_optional,
    read_scores,
    record_dataset,
    unfitted,
    upsert_cross,
    upsert_rows,
    upsert_timing,
    write_rows,
    write_table,
)

log = logging.getLogger(__name__)

LEAVE_ONE_OUT_FILE = "leave_one_out.csv"
PROTOCOL_FILE = "deepfakebench.csv"


def publish(
    rows: pd.DataFrame,
    timing: pd.DataFrame,
    folder: Path,
    reference: str,
    title: str = "",
    scores: pd.DataFrame | None = None,
    bootstrap: int = report.DEFAULT_BOOTSTRAP,
    page: bool = True,
    dataset: Mapping | None = None,
) -> dict[str, Path]:
    """Upsert ``rows``/``timing``/``scores`` into ``folder``; re-derive its tables from them.

    ``bootstrap`` is the number of resamples of the leaderboard's intervals; ``page``: also
    write the folder's ``report.html`` (see :func:`write_tables`). ``dataset``: the
    ``results.store.dataset_info`` of the rows' dataset, recorded as ``dataset.json``; when
    the folder recorded another fingerprint, a warning names both. ``None`` (rows whose
    dataset is not known) leaves ``dataset.json`` as it is.

    Everything from reading the published rows to the last derived file is done holding the
    folder's lock, so concurrent publishes into one folder never drop each other's rows.
    """
    folder = Path(folder)
    with publish_lock(folder):
        published = read_optional(folder / ROWS_FILE)
        if published is None and (folder / "leaderboard.csv").is_file():
            raise PublishError(
                f"{folder} holds tables but no {ROWS_FILE} to merge into (written by an older "
                "fakebench?); refusing to overwrite them. Move them away or publish elsewhere "
                "with --results DIR"
            )
        gone = unfitted(rows)  # fits that failed or do not apply now: their old rows all go
        merged = upsert_rows(published, rows, drop=gone)
        merged_timing = upsert_timing(read_optional(folder / TIMING_FILE), timing, drop=gone)
        paths = write_rows(folder, merged)  # rows + fits.csv; fits no row references are dropped
        if dataset is not None:
            changed = record_dataset(folder, dataset)
            paths["dataset"] = folder / DATASET_FILE
            if changed:
                log.warning("%s", changed)
        merged_scores = read_optional(folder / SCORES_FILE)
        if (scores is not None and not scores.empty) or (gone and merged_scores is not None):
            new_scores = scores if scores is not None else merged_scores.iloc[:0]
            merged_scores = upsert_rows(merged_scores, new_scores, drop=gone)
            paths["scores"] = write_table(folder / SCORES_FILE, merged_scores)
        paths |= write_tables(
            merged, merged_timing, folder, reference, title=title, scores=merged_scores,
            bootstrap=bootstrap, page=page,
        )  # fmt: skip
        return paths | refresh_seed_summary(folder)


def refresh_seed_summary(folder: Path) -> dict[str, Path]:
    """``write_seed_summary`` of the dataset that ``folder`` (``results/<dataset>/`` or one of
    its ``seeds/seed<N>/``) belongs to, once it has seed folders; else nothing. Called wherever
    a folder's leaderboard is rewritten, so the summary over seeds never lags behind it.

    Holds ``seeds/.lock``: publishes of two seeds hold different folder locks, and the one
    that writes the summary last must have read both leaderboards."""
    folder = Path(folder)
    dataset_dir = folder.parent.parent if folder.parent.name == "seeds" else folder
    if not (dataset_dir / "seeds").is_dir():
        return {}
    with publish_lock(dataset_dir / "seeds"):
        return write_seed_summary(dataset_dir)


def write_seed_summary(dataset_dir: Path) -> dict[str, Path]:
    """``seeds/leaderboard_seeds.*`` over every seed folder published for this dataset."""
    boards = []
    for seed, board_file in _seed_boards(Path(dataset_dir)):
        boards.append(pd.read_csv(board_file).assign(seed=seed))
    if not boards:
        return {}
    summary = report.seed_summary(boards)
    return report.write_seed_summary(summary, Path(dataset_dir) / "seeds")


def _seed_boards(dataset_dir: Path) -> list[tuple[int, Path]]:
    """(seed, leaderboard) of every seed published: seed 0 is the dataset folder itself."""
    out = []
    for sub in sorted((dataset_dir / "seeds").glob("seed*")):
        if sub.name[4:].isdigit() and (sub / "leaderboard.csv").is_file():
            out.append((int(sub.name[4:]), sub / "leaderboard.csv"))
    if (dataset_dir / "leaderboard.csv").is_file():  # seeds/seed0 only in the old layout
        out = [(0, dataset_dir / "leaderboard.csv")] + [(s, p) for s, p in out if s != 0]
    return sorted(out)


def write_index(results: Path) -> dict[str, Path]:
    """``index.csv`` and ``index.md``: every published table set under ``results``.

    Holds the results root's lock, so the index written last is read after every publish
    that finished before it."""
    results = Path(results)
    with publish_lock(results):
        return _write_index(results)


def _write_index(results: Path) -> dict[str, Path]:
    entries = []
    for board_file in sorted(results.rglob("leaderboard.csv")):
        folder = board_file.parent
        rel = folder.relative_to(results)
        board = pd.read_csv(board_file)
        rows_file = find_table(folder, ROWS_FILE)
        runs, updated = "", ""
        if rows_file is not None:
            rows = pd.read_csv(rows_file, usecols=lambda c: c in ("run_id", "timestamp"))
            runs = ", ".join(sorted(rows["run_id"].dropna().astype(str).unique()))
            updated = str(rows["timestamp"].dropna().max()) if "timestamp" in rows else ""
        ok = board[board.get("status", pd.Series("ok", index=board.index)) == "ok"]
        best = ok.sort_values("roc_auc", ascending=False).head(1) if "roc_auc" in ok else ok[:0]
        entries.append(
            {
                "folder": str(rel),
                "dataset": ", ".join(sorted(board["dataset"].dropna().astype(str).unique())),
                "seed": rel.name[4:] if rel.name.startswith("seed") else "0",
                "detectors": int(board["detector"].nunique()),
                "best_detector": best["detector"].iloc[0] if len(best) else "",
                "best_roc_auc": float(best["roc_auc"].iloc[0]) if len(best) else float("nan"),
                "runs": runs,
                "updated": updated,
            }
        )
    index = pd.DataFrame(
        entries,
        columns=["folder", "dataset", "seed", "detectors", "best_detector", "best_roc_auc",
                 "runs", "updated"],
    )  # fmt: skip
    text = "\n".join(
        [
            "# Published results\n",
            "Generated by fakebench at every publish; one line per table set (a folder with "
            "`leaderboard.md`). How each was produced: `README.md` in this folder.\n",
            report.markdown_table(
                index.assign(folder=[f"[{f}]({f}/leaderboard.md)" for f in index.folder])
            ),
        ]
    )
    return {
        "index": atomic_write_csv(results / "index.csv", index),
        "index_markdown": atomic_write_text(results / "index.md", text),
        "index_html": write_index_page(results),
    }


def write_tables(
    rows: pd.DataFrame,
    timing: pd.DataFrame,
    results_dir: Path,
    reference: str,
    title: str = "",
    scores: pd.DataFrame | None = None,
    bootstrap: int = DEFAULT_BOOTSTRAP,
    page: bool = True,
) -> dict[str, Path]:
    """Write leaderboard.{csv,md}, robustness.csv, resolution.csv, timing.csv atomically.

    ``robustness.csv`` and ``resolution.csv`` become ``.csv.gz`` past
    ``results.store.GZIP_ABOVE_BYTES`` (``results.store.write_table``).

    Then the figures of these tables (``figures/``) and, with ``page``, the folder's
    ``report.html`` (a run passes ``page=False`` and writes the page once, after the figures
    that need its images and fits).
    """
    results_dir = Path(results_dir)
    board = leaderboard(rows, timing, scores, bootstrap)
    robust = condition_table(rows, "corruption")
    resol = condition_table(rows, "resolution")
    summary = robustness_summary(robust, reference)
    paths = {
        "leaderboard": atomic_write_csv(results_dir / "leaderboard.csv", board),
        "robustness": write_table(results_dir / "robustness.csv", robust),  # .gz when large
        "robustness_summary": atomic_write_csv(results_dir / "robustness_summary.csv", summary),
        "resolution": write_table(results_dir / "resolution.csv", resol),
        "timing": atomic_write_csv(results_dir / "timing.csv", timing),
    }
    freeze = freeze_table(board, rows)
    paths["freeze_policy"] = atomic_write_csv(results_dir / "freeze_policy.csv", freeze)
    paths["markdown"] = atomic_write_text(
        results_dir / "leaderboard.md",
        markdown(board, robust, resol, summary, timing, title)
        + video_markdown(board)
        + markdown_section(board, rows)
        + freeze_markdown(freeze)
        + held_out_markdown(read_optional(results_dir / LEAVE_ONE_OUT_FILE)),
    )
    paths |= figures.write_table_figures(results_dir, board, robust, resol, timing, scores)
    _drop_stale_run_figures(results_dir, board)
    if page:
        paths["report_page"] = write_folder_page(results_dir)
    return paths


def _drop_stale_run_figures(results_dir: Path, board: pd.DataFrame) -> None:
    """Remove the Grad-CAM grid of each detector that has no fit here now (``not applicable``
    or ``failed``): it was drawn from an older fit whose rows are gone."""
    if board.empty or "status" not in board:
        return
    unfit = board[board["status"].isin(["not applicable", "failed"])]["detector"].astype(str)
    for name in set(unfit) - set(board[board["status"] == "ok"]["detector"].astype(str)):
        (results_dir / figures.FIGURES_DIR / f"saliency_{name}.png").unlink(missing_ok=True)


def publish_generalisation(frame: pd.DataFrame, results_dir: str | Path) -> dict[str, Path]:
    """Upsert a cross-dataset table into ``results_dir/generalisation.csv`` (cells it lacks are
    kept) and write ``generalisation.md`` (the AUC matrix) beside it, atomically.

    Returns:
        ``{"csv": path, "md": path}``.
    """
    results_dir = Path(results_dir)
    with publish_lock(results_dir):  # read, merge, write: one writer at a time
        merged = upsert_cross(results_dir / "generalisation.csv", frame)
        paths = {"csv": atomic_write_csv(results_dir / "generalisation.csv", merged)}
        text = generalisation_markdown(merged)
        paths["md"] = atomic_write_text(results_dir / "generalisation.md", text)
    return paths


def publish_leave_one_out(table: pd.DataFrame, folder: str | Path) -> dict[str, Path]:
    """Upsert a held-out manipulation table (``report.leave_one_out``) into ``folder``'s
    ``leave_one_out.csv`` (rows of other detectors, families or training modes kept), write
    ``leave_one_out.md`` and refresh the held-out section of ``leaderboard.md`` when there is
    one (every later publish of the folder keeps it)."""
    folder = Path(folder)
    with publish_lock(folder):
        key = ["dataset", "held_out", "detector", "train_aug"]
        old = read_optional(folder / LEAVE_ONE_OUT_FILE)
        if old is not None and set(key) <= set(old.columns):
            new_keys = set(map(tuple, table[key].astype(str).to_numpy()))
            old = old[~old[key].astype(str).apply(tuple, axis=1).isin(new_keys)]
            table = pd.concat([old, table], ignore_index=True)
        paths = {"leave_one_out": atomic_write_csv(folder / LEAVE_ONE_OUT_FILE, table)}
        section = held_out_markdown(table)
        paths["leave_one_out_md"] = atomic_write_text(folder / "leave_one_out.md", section)
        board_md = folder / "leaderboard.md"
        if board_md.is_file():
            text = replace_section(board_md.read_text(encoding="utf-8"), section)
            paths["markdown"] = atomic_write_text(board_md, text)
    return paths


def publish_protocol(frame: pd.DataFrame, folder: str | Path) -> dict[str, Path]:
    """Upsert the DeepfakeBench protocol's cells into ``folder/deepfakebench.csv`` (cells it
    lacks are kept) and write ``deepfakebench.md``: the matrix in DeepfakeBench's layout with
    its published numbers beside ours (``report.protocol``)."""
    folder = Path(folder)
    with publish_lock(folder):
        merged = upsert_cross(folder / PROTOCOL_FILE, frame)
        paths = {"csv": atomic_write_csv(folder / PROTOCOL_FILE, merged)}
        paths["md"] = atomic_write_text(folder / "deepfakebench.md", protocol_markdown(merged))
    return paths
