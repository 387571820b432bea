"""Publishing tables so that no run ever loses a published row.

Layout of a results folder (``results/`` by default)::

    results/
        index.md, index.csv          generated: every table set below, with its dataset and runs
        <dataset>/
            rows.csv                 the published long table; every row carries its run id
            fits.csv                 one row per fit (run id, detector, dataset, train_aug,
                                     tuning, seed): parameters, versions, git sha, device,
                                     pretrained; ``results.read_rows`` joins it to the rows
            timing.csv               published timing rows
            scores.csv               every clean test image's score per detector
            leaderboard.{csv,md}, robustness.csv, robustness_summary.csv, resolution.csv
                                     re-derived from rows.csv + timing.csv at every publish
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
"""

from __future__ import annotations

import gzip
import re
import zlib
from pathlib import Path

import pandas as pd

from benchmark import report
from benchmark.results import (
    ROWS_FILE,
    RowsError,
    atomic_write_csv,
    atomic_write_text,
    find_table,
    read_rows,
    write_rows,
    write_table,
)

GROUP_KEY = ("dataset", "detector", "train_aug", "tuning", "seed", "condition")
TIMING_KEY = ("detector", "device")
TIMING_FILE = "timing.csv"
SCORES_FILE = "scores.csv"  # clean test score of every image, per detector (same upsert key)


class PublishError(ValueError):
    """A results folder that cannot be updated without losing something."""


def dataset_folder(results: Path, dataset: str, seed: int = 0) -> Path:
    """``results/<dataset>/`` for seed 0, ``results/<dataset>/seeds/seed<N>/`` otherwise."""
    base = Path(results) / safe_name(dataset)
    return base if seed == 0 else base / "seeds" / f"seed{seed}"


def safe_name(name: str) -> str:
    """A dataset name as one folder name (no separators, no leading dot)."""
    cleaned = re.sub(r"[^A-Za-z0-9._+-]+", "_", str(name)).lstrip(".")
    return cleaned or "dataset"


def _group(frame: pd.DataFrame) -> pd.DataFrame:
    """The upsert key of each row; fit-level rows (condition '' or 'fit') form one group."""
    cols = {}
    for col in GROUP_KEY:
        cols[col] = (
            frame[col].astype(object).where(frame[col].notna(), "").astype(str)
            if (col in frame)
            else pd.Series("", index=frame.index)
        )
    key = pd.DataFrame(cols, index=frame.index)
    key["condition"] = key["condition"].replace("", "fit")
    key["tuning"] = key["tuning"].replace("", "default")  # rows from before --tune existed
    return key


def upsert_rows(published: pd.DataFrame | None, new: pd.DataFrame) -> pd.DataFrame:
    """``published`` with every group that ``new`` has replaced by ``new``'s rows."""
    if published is None or published.empty:
        return new.reset_index(drop=True)
    new_keys = set(map(tuple, _group(new).to_numpy()))
    old_keys = _group(published).apply(tuple, axis=1)
    kept = published[~old_keys.isin(new_keys)]
    return pd.concat([kept, new], ignore_index=True)


def upsert_timing(published: pd.DataFrame | None, new: pd.DataFrame) -> pd.DataFrame:
    """Timing rows: a detector timed again on a device replaces its old rows there."""
    if published is None or published.empty:
        return new.reset_index(drop=True)
    if new.empty:
        return published.reset_index(drop=True)
    key = [c for c in TIMING_KEY if c in new and c in published]
    new_keys = set(map(tuple, new[key].astype(str).to_numpy()))
    old = published[key].astype(str).apply(tuple, axis=1)
    return pd.concat([published[~old.isin(new_keys)], new], ignore_index=True)


def _read(path: Path) -> pd.DataFrame | None:
    """A published table (``path`` or ``path.gz``); None when absent or without columns."""
    found = find_table(path.parent, path.name)
    if found is None:
        return None
    try:
        if path.name == ROWS_FILE:
            return read_rows(found)  # with fits.csv joined: the wide rows
        if path.name == SCORES_FILE:
            return read_scores(found)
        # "n/a" (a layout without one, say) is a value, not a missing one: keep it
        return pd.read_csv(found, keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError:  # a run without timing writes a table with no columns
        return None
    except (
        pd.errors.ParserError, UnicodeDecodeError, RowsError, gzip.BadGzipFile, EOFError,
        zlib.error,
    ) as exc:  # fmt: skip
        raise PublishError(
            f"{found}: cannot read the published table ({exc}); nothing was written. "
            "Restore it (git checkout) or publish elsewhere with --results DIR"
        ) from exc


def read_scores(path: Path) -> pd.DataFrame:
    """A ``scores.csv`` with ids and groups kept as text."""
    text = {"sample_id": str, "group": str, "family": str, "condition": str}
    return pd.read_csv(path, dtype=text, keep_default_na=False, na_values=[""])


def publish(
    rows: pd.DataFrame,
    timing: pd.DataFrame,
    folder: Path,
    reference: str,
    title: str = "",
    scores: pd.DataFrame | None = None,
    bootstrap: int = report.DEFAULT_BOOTSTRAP,
) -> dict[str, Path]:
    """Upsert ``rows``/``timing``/``scores`` into ``folder``; re-derive its tables from them.

    ``bootstrap`` is the number of resamples of the leaderboard's intervals.
    """
    folder = Path(folder)
    published = _read(folder / ROWS_FILE)
    if published is None and (folder / "leaderboard.csv").is_file():
        raise PublishError(
            f"{folder} holds tables but no {ROWS_FILE} to merge into (written by an older "
            "fakebench?); refusing to overwrite them. Move them away or publish elsewhere "
            "with --results DIR"
        )
    merged = upsert_rows(published, rows)
    merged_timing = upsert_timing(_read(folder / TIMING_FILE), timing)
    paths = write_rows(folder, merged)  # rows + fits.csv; fits no row references are dropped
    merged_scores = _read(folder / SCORES_FILE)
    if scores is not None and not scores.empty:
        merged_scores = upsert_rows(merged_scores, scores)
        paths["scores"] = write_table(folder / SCORES_FILE, merged_scores)
    paths |= report.write_tables(
        merged, merged_timing, folder, reference, title=title, scores=merged_scores,
        bootstrap=bootstrap,
    )  # fmt: skip
    return paths | refresh_seed_summary(folder)


def refresh_seed_summary(folder: Path) -> dict[str, Path]:
    """``write_seed_summary`` of the dataset that ``folder`` (``results/<dataset>/`` or one of
    its ``seeds/seed<N>/``) belongs to, once it has seed folders; else nothing. Called wherever
    a folder's leaderboard is rewritten, so the summary over seeds never lags behind it."""
    folder = Path(folder)
    dataset_dir = folder.parent.parent if folder.parent.name == "seeds" else folder
    return write_seed_summary(dataset_dir) if (dataset_dir / "seeds").is_dir() else {}


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
    """``index.csv`` and ``index.md``: every published table set under ``results``."""
    results = Path(results)
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
            report._md(index.assign(folder=[f"[{f}]({f}/leaderboard.md)" for f in index.folder])),
        ]
    )
    from benchmark.page import write_index_page

    return {
        "index": atomic_write_csv(results / "index.csv", index),
        "index_markdown": atomic_write_text(results / "index.md", text),
        "index_html": write_index_page(results),
    }
