"""Tidy result rows: the long table of one run and its per-image scores.

Every measurement is one row of a long table (run id, detector, dataset, split, condition,
subset, metric, value, n, params, device, seed, git sha, package versions, timestamp, error).
A run keeps its rows in that wide form (``runs/<run_id>/rows.csv``); ``scores.csv`` beside it
holds every clean test image's score.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from benchmark.core.io import atomic_write_csv, now_iso

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
SCORE_FIELDS = ("run_id", "detector", "dataset", "seed", "train_aug", "tuning", "condition",
                "sample_id", "label", "family", "group", "score", "threshold",
                "video")  # fmt: skip


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
            "video": str(s.meta.get("video") or ""),  # explicit id; "" where not a video frame
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
        """The rows so far, as a DataFrame with the ``ROW_FIELDS`` columns."""
        import pandas as pd

        return pd.DataFrame(self.rows, columns=list(ROW_FIELDS))

    def scores_frame(self) -> Any:
        """The per-image scores so far, as a DataFrame with the ``SCORE_FIELDS`` columns."""
        import pandas as pd

        return pd.DataFrame(self.scores, columns=list(SCORE_FIELDS))
