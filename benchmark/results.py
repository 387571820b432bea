"""Tidy result rows and atomic writing.

Every measurement is one row of a long table (run id, detector, dataset, split, condition,
subset, metric, value, n, params, device, seed, git sha, package versions, timestamp, error).
Files are written to a temporary name in the same folder and moved into place with
``os.replace``, so a crash never leaves a half-written table and never destroys the last good one.
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

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
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="") as fh:
            fh.write(text)
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


def atomic_write_csv(path: str | Path, frame: Any) -> Path:
    """Write a pandas DataFrame as CSV atomically.

    Floats keep 10 significant digits: enough for metrics and for parameter counts into the
    billions (6 digits turned 16 872 450 parameters into 1.68724e+07).
    """
    return atomic_write_text(path, frame.to_csv(index=False, float_format="%.10g"))


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
