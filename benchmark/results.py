"""Tidy result rows, their published form, and atomic writing.

Every measurement is one row of a long table (run id, detector, dataset, split, condition,
subset, metric, value, n, params, device, seed, git sha, package versions, timestamp, error).
Files are written to a temporary name in the same folder and moved into place with
``os.replace``, so a crash never leaves a half-written table and never destroys the last good one.

A run keeps its rows in that wide form (``runs/<run_id>/rows.csv``). A published folder stores
them normalised: what is constant per fit (parameters, package versions, git sha, device,
pretrained) is written once per fit to ``fits.csv``, keyed by ``FIT_KEY``, and ``rows.csv``
keeps the rest. ``read_rows`` joins them back, so every reader sees the wide rows; it also
reads a folder published before ``fits.csv`` existed (wide rows, no ``fits.csv``). A long
table whose CSV passes ``GZIP_ABOVE_BYTES`` is written gzipped (``rows.csv.gz``) with a zero
timestamp, so the same content gives the same bytes; ``find_table`` accepts either name.
"""

from __future__ import annotations

import gzip
import io
import itertools
import json
import os
import platform
import subprocess
import tempfile
import zlib
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

ROW_FIELDS = (
    "run_id",
    "detector",
    "dataset",
    "split",
    "condition",
    "corruption",
    "severity",
    "resolution",
    "mode",
    "subset",
    "metric",
    "value",
    "n",
    "train_aug",
    "tuning",
    "pretrained",
    "params",
    "device",
    "seed",
    "git_sha",
    "versions",
    "timestamp",
    "error",
)


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (temp file + ``os.replace``)."""
    return _atomic_write(path, text)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file + ``os.replace``)."""
    return _atomic_write(path, data)


def _atomic_write(path: str | Path, data: str | bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        binary = isinstance(data, bytes)
        with os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", newline="") as fh:
            fh.write(data)
        # mkstemp creates 0600; a published table gets what an ordinary open() would give
        # (0644 under the usual umask), so other users and a web server can read it.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    """The process umask (reading it means setting it, so set it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


FLOAT_FORMAT = "%.10g"


def atomic_write_csv(path: str | Path, frame: Any) -> Path:
    """Write a pandas DataFrame as CSV atomically.

    Floats keep 10 significant digits: enough for metrics and for parameter counts into the
    billions (6 digits turned 16 872 450 parameters into 1.68724e+07).
    """
    return atomic_write_text(path, frame.to_csv(index=False, float_format=FLOAT_FORMAT))


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


@lru_cache(maxsize=1)
def git_sha() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
        return out.stdout.strip() if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


@lru_cache(maxsize=1)
def package_versions() -> str:
    """Compact ``name=version`` list of the packages that decide a result."""
    from importlib.metadata import PackageNotFoundError, version

    parts = [f"python={platform.python_version()}"]
    for dist in (
        "fakebench",
        "torch",
        "torchvision",
        "timm",
        "scikit-learn",
        "numpy",
        "opencv-contrib-python",
        "scipy",
    ):
        try:
            parts.append(f"{dist}={version(dist)}")
        except PackageNotFoundError:
            continue
    return ";".join(parts)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


_RUN_COUNTER = itertools.count()


def make_run_id() -> str:
    """UTC time, process id and a per-process counter: two runs in one second stay apart."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    n = next(_RUN_COUNTER)
    return f"{stamp}-{os.getpid()}" + (f"-{n}" if n else "")


SCORE_FIELDS = ("run_id", "detector", "dataset", "seed", "train_aug", "tuning", "condition",
                "sample_id", "label", "family", "group", "score", "threshold")  # fmt: skip


def sample_group(meta: Mapping[str, Any]) -> str:
    """The unit of independence of a sample: its video, identity or source photo group.

    Images of one source are not independent; bootstrap intervals resample whole groups.
    Empty when the dataset does not know one (each image is then its own group).
    """
    for key in ("group", "source_group", "video", "identity", "source"):
        value = meta.get(key)
        if value not in (None, ""):
            return str(value)
    return ""


def score_rows(
    base: Mapping[str, Any], samples: Iterable[Any], scores: Any, threshold: float
) -> list[dict[str, Any]]:
    """``scores.csv`` rows of ``samples`` (without the run-wide fields)."""
    where = {k: v for k, v in base.items() if k in SCORE_FIELDS}
    return [
        where
        | {
            "sample_id": s.id,
            "label": int(s.label),
            "family": str(s.meta.get("family", "fake" if s.label else "real")),
            "group": sample_group(s.meta),
            "score": float(score),
            "threshold": float(threshold),
        }
        for s, score in zip(samples, scores, strict=True)
    ]


class RowBuffer:
    """What a cell adds to a run when it runs away from the run's :class:`RowWriter`.

    Same ``add``/``add_scores`` interface; it keeps plain dicts (picklable, no images), and
    ``RowWriter.replay`` adds them to the run later, in order (the Ray executor's tasks
    return one of these).
    """

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.scores: list[dict[str, Any]] = []

    def add(self, **fields: Any) -> None:
        self.rows.append(fields)

    def add_scores(self, base: Mapping[str, Any], samples: Iterable[Any], scores: Any,
                   threshold: float) -> None:  # fmt: skip
        self.scores.extend(score_rows(base, samples, scores, threshold))


class RowWriter:
    """Collects rows for one run and flushes the whole table atomically after each detector.

    Beside the long table (``rows.csv``) it keeps every clean test image's score
    (``scores.csv``: one row per detector × image), from which curves, intervals and paired
    tests are computed.
    """

    def __init__(self, path: Path, common: Mapping[str, Any]) -> None:
        self.path = Path(path)
        self.common = dict(common)
        self.rows: list[dict[str, Any]] = []
        self.scores: list[dict[str, Any]] = []

    def add_scores(self, base: Mapping[str, Any], samples: Iterable[Any], scores: Any,
                   threshold: float) -> None:  # fmt: skip
        """One ``scores.csv`` row per sample: its label, family, group and fake score."""
        self.add_score_rows(score_rows(base, samples, scores, threshold))

    def add_score_rows(self, rows: Iterable[Mapping[str, Any]]) -> None:
        common = {k: v for k, v in self.common.items() if k in SCORE_FIELDS}
        self.scores.extend({k: "" for k in SCORE_FIELDS} | common | dict(r) for r in rows)

    def replay(self, buffer: RowBuffer) -> None:
        """Add the rows and scores a cell recorded elsewhere (a Ray task), in their order."""
        for row in buffer.rows:
            self.add(**row)
        self.add_score_rows(buffer.scores)

    def add(self, **fields: Any) -> None:
        row = {k: "" for k in ROW_FIELDS} | self.common | {"timestamp": now_iso()} | fields
        if isinstance(row.get("params"), Mapping):
            row["params"] = json.dumps(row["params"], sort_keys=True, default=str)
        self.rows.append(row)

    def extend(self, rows: Iterable[Mapping[str, Any]]) -> None:
        for r in rows:
            self.add(**r)

    def flush(self) -> Path:
        import pandas as pd

        frame = pd.DataFrame(self.rows, columns=list(ROW_FIELDS))
        scores = pd.DataFrame(self.scores, columns=list(SCORE_FIELDS))
        atomic_write_csv(self.path.with_name("scores.csv"), scores)
        return atomic_write_csv(self.path, frame)

    def frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self.rows, columns=list(ROW_FIELDS))


# --- Published rows: rows.csv (what varies per row) + fits.csv (what is constant per fit) ---

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
    import pandas as pd

    text = dict.fromkeys(TEXT_FIELDS, str)
    frame = pd.read_csv(path, dtype=text, keep_default_na=False, na_values=[""])
    if "pretrained" in frame:  # text, so a column of True/False and blanks never becomes 1.0/0.0
        frame["pretrained"] = frame["pretrained"].replace(_PRETRAINED_TEXT)
    return frame


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
    import pandas as pd

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
