"""The published form of rows: ``rows.csv`` (what varies per row) + ``fits.csv`` (per fit).

A published folder stores rows normalised: what is constant per fit (parameters, package
versions, git sha, device, pretrained) is written once per fit to ``fits.csv``, keyed by
``FIT_KEY``, and ``rows.csv`` keeps the rest. ``read_rows`` joins them back, so every reader sees
the wide rows; it also reads a folder published before ``fits.csv`` existed. A long table whose
CSV passes ``GZIP_ABOVE_BYTES`` is written gzipped (``rows.csv.gz``) with a zero timestamp, so the
same content gives the same bytes; ``find_table`` accepts either name.

A folder is updated only under its lock (:func:`publish_lock`), and records the dataset its
rows were made on in ``dataset.json`` (:func:`record_dataset`).
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import logging
import re
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path

import pandas as pd

from benchmark.core.io import (
    FLOAT_FORMAT,
    atomic_write_bytes,
    atomic_write_csv,
    atomic_write_json,
    atomic_write_text,
)
from benchmark.core.locks import LockTimeout, folder_lock
from benchmark.results.rows import ROW_FIELDS
from benchmark.results.upsert import (  # noqa: F401 - re-exported: publish uses them here
    GROUP_KEY,
    MODEL_KEY,
    TIMING_KEY,
    unfitted,
    upsert_rows,
    upsert_timing,
)

log = logging.getLogger(__name__)

FIT_KEY = ("run_id", "detector", "dataset", "train_aug", "tuning", "seed")
FIT_FIELDS = ("pretrained", "params", "device", "git_sha", "versions")  # one value per fit
ROWS_FILE = "rows.csv"
FITS_FILE = "fits.csv"
GZIP_ABOVE_BYTES = 5_000_000  # a long table's CSV above this is published as <name>.gz
TEXT_FIELDS = ("run_id", "condition", "subset", "params", "device", "git_sha", "versions",
               "error", "pretrained")  # fmt: skip
#: ``pretrained`` as written by a run (True/False) and by an upsert that once cast it to float.
_PRETRAINED_TEXT = {"1": "True", "1.0": "True", "true": "True", "0": "False", "0.0": "False",
                    "false": "False"}  # fmt: skip


class RowsError(ValueError):
    """A rows table and its ``fits.csv`` that do not fit together."""


def split_fits(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Wide rows -> (rows without the fit-level columns, one row per fit with them).

    A ``FIT_FIELDS`` column moves to the fits only if it has one value per ``FIT_KEY`` group
    in ``rows`` (missing counts as a value); otherwise it stays on the rows, so the split never
    loses anything and ``join_fits`` undoes it exactly.
    """
    key = [c for c in FIT_KEY if c in rows]
    moved = [c for c in FIT_FIELDS if c in rows] if key else []
    if moved and len(rows):
        counts = rows.groupby(key, dropna=False, sort=False)[moved].nunique(dropna=False)
        moved = [c for c in moved if (counts[c] <= 1).all()]
    fits = rows[key + moved].drop_duplicates(key).reset_index(drop=True)
    return rows.drop(columns=moved), fits


def join_fits(rows: pd.DataFrame, fits: pd.DataFrame, source: str = "fits") -> pd.DataFrame:
    """Rows with their fit's columns added back (columns in ``ROW_FIELDS`` order, then others).

    Raises:
        RowsError: a row whose fit is not in ``fits``, or a fit listed twice.
    """
    key = [c for c in FIT_KEY if c in fits]
    fields = [c for c in fits.columns if c not in key and c not in rows]
    if not fields:  # nothing to add: rows published before fits.csv, or nothing moved
        return rows
    lacking = [c for c in key if c not in rows]
    twice = fits.duplicated(key)
    if lacking or twice.any():
        raise RowsError(
            f"{source}: " + (f"rows lack the fit key {lacking}" if lacking else
                             f"{int(twice.sum())} fit(s) listed twice with the same {key}")
        )  # fmt: skip
    try:  # a key read as int on one side and float (a missing seed) on the other still joins
        fits = fits[key + fields].astype(
            {c: rows[c].dtype for c in key if fits[c].dtype != rows[c].dtype}
        )
    except (ValueError, TypeError) as exc:
        raise RowsError(f"{source}: its fit keys do not match the rows' ({exc})") from exc
    wide = rows.merge(fits, on=key, how="left", sort=False, indicator="_fit")
    orphans = wide["_fit"] == "left_only"
    if orphans.any():
        missing = wide.loc[orphans, key].drop_duplicates().head(3).to_dict("records")
        raise RowsError(f"{source}: {int(orphans.sum())} row(s) have no fit there, e.g. {missing}")
    wide = wide.drop(columns="_fit")
    return wide[[c for c in ROW_FIELDS if c in wide] + [c for c in wide if c not in ROW_FIELDS]]


def find_table(folder: str | Path, name: str) -> Path | None:
    """``folder/name`` or ``folder/name.gz``, whichever exists (the newer if both)."""
    found = [p for p in (Path(folder) / name, Path(folder) / f"{name}.gz") if p.is_file()]
    return max(found, key=lambda p: p.stat().st_mtime_ns) if found else None


def read_table(path: str | Path) -> pd.DataFrame:
    """A rows or fits table (``.csv`` or ``.csv.gz``): empty cells are missing, ids are text."""
    text = dict.fromkeys(TEXT_FIELDS, str)
    frame = pd.read_csv(path, dtype=text, keep_default_na=False, na_values=[""])
    if "pretrained" in frame:  # text, so a column of True/False and blanks never becomes 1.0/0.0
        frame["pretrained"] = frame["pretrained"].replace(_PRETRAINED_TEXT)
    return frame


def typed_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows built in memory, typed exactly as :func:`read_table` types them from a file.

    The frame goes through the same CSV text a run writes (``FLOAT_FORMAT``) and the same
    reader, so tables derived from a run in memory are the tables derived from its files.
    """
    return read_table(io.StringIO(frame.to_csv(index=False, float_format=FLOAT_FORMAT)))


def typed_scores(frame: pd.DataFrame) -> pd.DataFrame:
    """Per-image scores built in memory, typed exactly as :func:`read_scores` reads them."""
    return read_scores(io.StringIO(frame.to_csv(index=False, float_format=FLOAT_FORMAT)))


def read_rows(path: str | Path) -> pd.DataFrame:
    """The wide rows of a ``rows.csv[.gz]`` or of a folder holding one, ``fits.csv`` joined.

    Reads a run's rows, a published folder and one published before ``fits.csv`` existed (its
    rows are already wide) alike.

    Raises:
        FileNotFoundError: no rows table there.
        RowsError: the rows and the ``fits.csv`` beside them do not match.
    """
    path = Path(path)
    file = find_table(path, ROWS_FILE) if path.is_dir() else path
    if file is None:
        raise FileNotFoundError(f"{path}: no {ROWS_FILE} or {ROWS_FILE}.gz")
    rows = read_table(file)
    fits_file = file.parent / FITS_FILE
    if not fits_file.is_file():
        return rows
    return join_fits(rows, read_table(fits_file), source=str(fits_file))


def write_table(path: str | Path, frame: pd.DataFrame, gzip_above: int | None = None) -> Path:
    """``frame`` as CSV at ``path``, or gzipped at ``path.gz`` when the CSV is larger than
    ``gzip_above`` bytes (default ``GZIP_ABOVE_BYTES``); the other of the two names is removed.

    The gzip header carries no time and no file name: the same table gives the same bytes.
    The decompressed text is exactly the CSV that would have been written.
    """
    path = Path(path)
    limit = GZIP_ABOVE_BYTES if gzip_above is None else gzip_above
    text = frame.to_csv(index=False, float_format=FLOAT_FORMAT)
    zipped = path.with_name(f"{path.name}.gz")
    if len(text.encode("utf-8")) > limit:
        out, stale = atomic_write_bytes(zipped, _gzip_by_fit(frame)), path
    else:
        out, stale = atomic_write_text(path, text), zipped
    stale.unlink(missing_ok=True)
    return out


MAX_GZIP_SEGMENTS = 2000  # more run/detector changes than this: one deflate stream


def _gzip_by_fit(frame: pd.DataFrame) -> bytes:
    """``frame``'s CSV gzipped, the deflate stream fully flushed wherever run or detector changes.

    After a full flush deflate starts afresh, so a fit's rows compress to the same bytes wherever
    they sit in the table, and git stores a republished table as a small delta (measured on a
    25-detector full grid: ~40 KiB a republish; ~490 KiB, the whole file, for one gzip stream).
    """
    import numpy as np

    cols = [c for c in ("run_id", "detector") if c in frame]
    inner: list[int] = []
    if cols and len(frame) > 1:
        key = frame[cols].astype(str)
        inner = (np.flatnonzero(key.ne(key.shift()).any(axis=1).to_numpy()[1:]) + 1).tolist()
    bounds = [0, *(inner if len(inner) < MAX_GZIP_SEGMENTS else []), len(frame)]
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0) as out:
        for start, stop in zip(bounds, bounds[1:], strict=False):
            part = frame.iloc[start:stop]
            out.write(
                part.to_csv(index=False, header=start == 0, float_format=FLOAT_FORMAT).encode()
            )
            out.flush(zlib.Z_FULL_FLUSH)
    return buf.getvalue()


def write_rows(folder: str | Path, rows: pd.DataFrame, gzip_above: int | None = None) -> dict:
    """Publish wide ``rows`` into ``folder`` as ``rows.csv[.gz]`` + ``fits.csv``.

    ``fits.csv`` ends with exactly the fits the rows reference (others are dropped). It is
    first written as the union of the old and new fits, then the rows, then the final fits:
    a crash between any two steps leaves every row's fit findable.

    Returns:
        ``{"rows": path, "fits": path}``.
    """
    folder = Path(folder)
    narrow, fits = split_fits(rows)
    fits_file = folder / FITS_FILE
    if fits_file.is_file():
        old = read_table(fits_file)
        key = [c for c in FIT_KEY if c in fits and c in old]
        both = fits
        if key:
            both = pd.concat([old, fits], ignore_index=True).drop_duplicates(key, keep="last")
        atomic_write_csv(fits_file, both)
    else:  # first: a folder of wide rows stays readable (its rows already hold the fits)
        atomic_write_csv(fits_file, fits)
    rows_path = write_table(folder / ROWS_FILE, narrow, gzip_above)
    return {"rows": rows_path, "fits": atomic_write_csv(fits_file, fits)}


# --- The published store: upsert by group, so a run never loses a published row ---

TIMING_FILE = "timing.csv"
SCORES_FILE = "scores.csv"  # clean test score of every image, per detector (same upsert key)


class PublishError(ValueError):
    """A results folder that cannot be updated without losing something."""


#: Seconds a writer waits for the one holding a results folder's lock. A publish (tables,
#: figures, page) holds it for seconds to minutes; a dead holder's lock is freed by the kernel at
#: once, so only a hung one lasts this long.
LOCK_TIMEOUT_S = 900.0


@contextlib.contextmanager
def publish_lock(folder: str | Path) -> Iterator[None]:
    """Hold ``folder``'s lock (``<folder>/.lock``) while reading, merging and rewriting it.

    Every read-modify-write of a results folder runs inside one: without it, two processes
    publishing at once each rewrite what they read before the other wrote, and one's rows are
    lost. Re-entrant within a thread, so a locked publish can call a function that locks too.

    Raises:
        PublishError: still held by another writer after ``LOCK_TIMEOUT_S`` (a ``ValueError``,
            so the CLI reports it and a run keeps its tables in its run folder).
    """
    try:
        with folder_lock(folder, LOCK_TIMEOUT_S):
            yield
    except LockTimeout as exc:
        raise PublishError(
            f"{exc}: another publish into it is running or hung; publish again once it ends"
        ) from exc


DATASET_FILE = "dataset.json"  # the dataset (name, fingerprint, images) the rows were made on


def dataset_info(
    name: str, fingerprint: str, summary: Mapping[str, Mapping[str, int]] | None = None
) -> dict:
    """What ``dataset.json`` records: name, full fingerprint and images per split.

    ``summary`` is ``Dataset.summary()`` (real and fake count per split), as a run's
    ``config.json`` also stores it.
    """
    info: dict = {"name": name, "fingerprint": fingerprint}
    if summary:
        info["n_samples"] = {split: int(sum(n.values())) for split, n in summary.items()}
    return info


def read_dataset_info(folder: str | Path) -> dict | None:
    """The ``dataset.json`` of a published folder; None when it has none (or not a readable one:
    it is a record beside the rows, and the next publish rewrites it)."""
    path = Path(folder) / DATASET_FILE
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError included
        log.warning("%s: unreadable (%s); treated as absent", path, exc)
        return None
    return info if isinstance(info, dict) else None


def record_dataset(folder: str | Path, info: Mapping) -> str | None:
    """Write ``info`` as ``folder/dataset.json`` (atomically); the warning to give when the
    folder recorded another fingerprint, else None.

    The published rows of the other fingerprint stay (a run only replaces its own groups);
    each row's ``run_id`` says which run, hence which dataset version, produced it.
    """
    folder = Path(folder)
    old = read_dataset_info(folder) or {}
    atomic_write_json(folder / DATASET_FILE, dict(info))
    before, now = old.get("fingerprint"), info["fingerprint"]
    if not before or before == now:
        return None
    return (
        f"{folder}: its rows were published on dataset {old.get('name', '?')} with fingerprint "
        f"{before}; these rows come from fingerprint {now} (its files changed?). Published "
        f"rows they do not replace stay, told apart by run_id; {DATASET_FILE} now records {now}"
    )


def dataset_folder(results: Path, dataset: str, seed: int = 0) -> Path:
    """``results/<dataset>/`` for seed 0, ``results/<dataset>/seeds/seed<N>/`` otherwise."""
    base = Path(results) / safe_name(dataset)
    return base if seed == 0 else base / "seeds" / f"seed{seed}"


def safe_name(name: str) -> str:
    """A dataset name as one folder name (no separators, no leading dot)."""
    cleaned = re.sub(r"[^A-Za-z0-9._+-]+", "_", str(name)).lstrip(".")
    return cleaned or "dataset"


def read_optional(path: Path) -> pd.DataFrame | None:
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


def read_scores(path: str | Path | io.StringIO) -> pd.DataFrame:
    """A ``scores.csv`` with ids and groups kept as text."""
    text = {"sample_id": str, "group": str, "family": str, "condition": str, "video": str}
    return pd.read_csv(path, dtype=text, keep_default_na=False, na_values=[""])


def upsert_cross(path: Path, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` plus the published cells of ``path`` for (detector, train, test) it lacks."""
    if not path.is_file():
        return frame
    old = pd.read_csv(path, keep_default_na=False, na_values=[""])
    key = ["detector", "train_on", "test_on"]
    new_keys = set(map(tuple, frame[key].astype(str).to_numpy()))
    kept = old[~old[key].astype(str).apply(tuple, axis=1).isin(new_keys)]
    return pd.concat([kept, frame], ignore_index=True)
