"""Check every file once at load: hostile files become counted skips, never a crashed run.

A check opens the header (format, size), guards against decompression bombs *before* decoding
(Pillow only warns below twice its own limit), decodes the whole image (a truncated JPEG only
fails there) and hashes the bytes (exact duplicates across splits). Results are cached per
dataset root in ``<cache>/checks/`` keyed by (size, mtime), so a re-run checks nothing twice.

Skip reasons (``Dataset.skipped[i]["reason"]``): ``missing``, ``zero_byte``, ``not_an_image``,
``corrupt``, ``decompression_bomb``, ``too_small``, ``outside_root``, ``bad_label``,
``conflicting_label``, ``no_face``, ``unreadable_video``, ``bad_box``. One more is per detector,
decided by the harness from the size recorded here: ``below_min_size`` (the image is smaller
than that detector's ``min_side``; the others still use it).

``skipped.csv`` counts skips per dataset, detector and reason; ``*`` as the detector means
skipped at load, for every detector (files written before the detector column read that way).
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from benchmark.core.io import atomic_write_text
from benchmark.core.samples import (  # noqa: F401 - MIN_SIDE: the layouts' floor, re-exported
    MAX_PIXELS,
    MIN_SIDE,
    READ_ERRORS,
    Dataset,
    cache_dir,
    stored_size,
)

CHECK_VERSION = 1  # bump when check_file changes what it decides
# MIN_SIDE (core.samples): smaller is no image for any detector here (one JPEG block); a run
# can raise it with the loader's ``min_side`` option, e.g. to a detector's input size.
BELOW_MIN_SIZE = "below_min_size"  # smaller than one detector's minimum (the harness skips it)
ALL_DETECTORS = "*"  # skipped.csv's detector for files skipped at load, for every detector
SKIPPED_COLUMNS = ["dataset", "detector", "reason", "count"]


def skip(file: str | Path, reason: str, detail: str = "") -> dict[str, str]:
    """One skipped-file record (the file, a reason key, a one-line human detail)."""
    return {"file": str(file), "reason": reason, "detail": detail}


def check_file(path: Path, min_side: int = MIN_SIDE) -> dict[str, Any]:
    """Decide whether ``path`` is a usable image.

    Returns:
        ``{"ok": True, "width", "height", "format", "mode", "sha1", "bytes"}`` or
        ``{"ok": False, "reason", "detail"}`` with a reason from the module docstring.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {"ok": False, "reason": "missing", "detail": "file not found"}
    except OSError as exc:
        return {"ok": False, "reason": "missing", "detail": f"cannot read ({exc.strerror})"}
    if not data:
        return {"ok": False, "reason": "zero_byte", "detail": "empty file"}
    try:
        with Image.open(path) as im:
            w, h = im.size
            fmt, mode = im.format or "", im.mode
            if w * h > MAX_PIXELS:
                return {
                    "ok": False,
                    "reason": "decompression_bomb",
                    "detail": f"{w}x{h} px > guard of {MAX_PIXELS} px",
                }
            im.load()  # full decode: truncated or corrupt data fails here, not in a detector
    except UnidentifiedImageError:
        return {"ok": False, "reason": "not_an_image", "detail": "no image format recognised"}
    except Image.DecompressionBombError as exc:  # Pillow's own limit, hit while opening
        return {"ok": False, "reason": "decompression_bomb", "detail": str(exc)[:200]}
    except READ_ERRORS as exc:
        return {"ok": False, "reason": "corrupt", "detail": f"{type(exc).__name__}: {exc}"[:200]}
    if min(w, h) < min_side:
        return {"ok": False, "reason": "too_small", "detail": f"{w}x{h} px < {min_side} px"}
    return {
        "ok": True,
        "width": w,
        "height": h,
        "format": fmt,
        "mode": mode,
        "sha1": hashlib.sha1(data).hexdigest(),
        "bytes": len(data),
    }


class CheckCache:
    """Check results of one dataset root, stored in ``<cache>/checks/<hash of root>.json``."""

    def __init__(self, root: Path, min_side: int = MIN_SIDE) -> None:
        key = hashlib.sha1(f"{root.resolve()}|{min_side}|{CHECK_VERSION}".encode()).hexdigest()
        self.file = cache_dir() / "checks" / f"{key[:16]}.json"
        self.min_side = min_side
        self.dirty = False
        try:
            self.table: dict[str, Any] = json.loads(self.file.read_text())
        except (OSError, ValueError):
            self.table = {}

    def check(self, path: Path) -> dict[str, Any]:
        """Cached :func:`check_file`; a changed size or mtime re-checks the file."""
        try:
            st = path.stat()
            stamp = [st.st_size, st.st_mtime_ns]
        except OSError:
            stamp = None
        hit = self.table.get(str(path))
        if stamp is not None and hit is not None and hit.get("stamp") == stamp:
            return hit["result"]
        result = check_file(path, self.min_side)
        if stamp is not None:
            self.table[str(path)] = {"stamp": stamp, "result": result}
            self.dirty = True
        return result

    def save(self) -> None:
        if not self.dirty:
            return
        self.file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.file.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(self.table))
        tmp.replace(self.file)
        self.dirty = False


def drop_below_min_side(
    dataset: Dataset, min_side: int, detector: str
) -> tuple[Dataset, list[dict[str, str]]]:
    """``dataset`` without the images whose stored shorter side is below ``min_side`` px.

    Sizes come from the load-time check (or the pixels' shape): nothing is decoded again.

    Returns:
        The kept view (same name and fingerprint, so every detector's conditions render the
        same images and per-image scores still pair by id; labels untouched) and one skip
        record per image left out: reason ``below_min_size``, both sizes in the detail, the
        detector and the split named. The dataset itself is returned when nothing is left out.
    """
    dropped: list[dict[str, str]] = []
    splits = {}
    for split, samples in dataset.splits.items():
        kept = []
        for s in samples:
            w, h = stored_size(s)
            if min(w, h) < min_side:
                why = f"{w}x{h} px: shorter side {min(w, h)} < {detector}'s minimum {min_side} px"
                dropped.append(
                    skip(s.id, BELOW_MIN_SIZE, why) | {"detector": detector, "split": split}
                )
            else:
                kept.append(s)
        splits[split] = kept
    if not dropped:
        return dataset, []
    return dataclasses.replace(dataset, splits=splits), dropped


def skip_count_rows(
    dataset: Dataset, detector_skips: Iterable[dict[str, str]] = (), detectors: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """``skipped.csv`` rows: load-time skips (detector ``*``), then per detector and reason.

    Every detector in ``detectors`` gets a ``below_min_size`` row, zero included, so "none
    skipped" is recorded rather than unknown.
    """
    rows = [
        {"dataset": dataset.name, "detector": ALL_DETECTORS, "reason": reason, "count": n}
        for reason, n in dataset.skip_counts().items()
    ]
    counts = Counter((d["detector"], d["reason"]) for d in detector_skips)
    for det in detectors:
        counts.setdefault((det, BELOW_MIN_SIZE), 0)
    rows += [
        {"dataset": dataset.name, "detector": det, "reason": reason, "count": n}
        for (det, reason), n in sorted(counts.items())
    ]
    return rows


def read_skipped(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a ``skipped.csv``; older files without a detector column read as detector ``*``."""
    with Path(path).open(newline="") as fh:
        return [
            {
                "dataset": r.get("dataset") or "",
                "detector": r.get("detector") or ALL_DETECTORS,
                "reason": r["reason"],
                "count": int(r.get("count") or 0),
            }
            for r in csv.DictReader(fh)
            if r.get("reason")
        ]


def _write_counts(path: Path, rows: list[dict[str, Any]], ran: set[str] | None = None) -> Path:
    """Write skip-count ``rows`` to ``path``; with ``ran``, keep the rows already there for
    detectors not in ``ran`` (a published folder is updated per detector, like its tables)."""
    import io

    if ran is not None and path.is_file():
        kept = [r for r in read_skipped(path) if r["detector"] not in ran]
        rows = sorted(kept + rows, key=lambda r: (r["detector"] != ALL_DETECTORS, r["detector"]))
    buf = io.StringIO()
    w = csv.DictWriter(buf, SKIPPED_COLUMNS, extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    return atomic_write_text(path, buf.getvalue())


def merge_skipped(run_file: str | Path, folder: str | Path, dataset: str) -> Path | None:
    """Fold a run's ``skipped.csv`` counts for ``dataset`` into ``folder/skipped.csv``.

    The run's rows replace the published rows of the detectors it counted (``*`` included)
    and keep the others, as ``write_skipped(merge=True)`` does at the end of ``run``; used when
    ``report RUN --results DIR`` publishes a run after the fact. ``None`` when the run folder
    has no ``skipped.csv`` (older runs).
    """
    if not Path(run_file).is_file():
        return None
    new = [
        r | {"dataset": dataset} for r in read_skipped(run_file) if r["dataset"] in ("", dataset)
    ]
    return _write_counts(Path(folder) / "skipped.csv", new, {r["detector"] for r in new})


def write_skipped(
    dataset: Dataset,
    folder: str | Path,
    files: bool = True,
    *,
    detector_skips: Iterable[dict[str, str]] = (),
    detectors: Iterable[str] = (),
    merge: bool = False,
) -> Path:
    """Write ``skipped.csv`` (dataset, detector, reason, count) and, with ``files``,
    ``skipped_files.csv`` (file, reason, detail, detector, split).

    Both are written (atomically) even when nothing was skipped, so "zero" is recorded rather
    than unknown. Published folders get the counts only: the file list names the user's files.

    Args:
        dataset: the loaded dataset (its load-time skips are detector ``*``).
        folder: where to write.
        files: also write the per-file list.
        detector_skips: records of :func:`drop_below_min_side` from this run.
        detectors: the detectors this run evaluated (each gets a row, zero included).
        merge: keep the rows of an existing ``skipped.csv`` for detectors this run did not
            evaluate (a published folder is updated per detector, like its tables).
    """
    import io

    folder = Path(folder)
    detector_skips, detectors = list(detector_skips), list(detectors)
    rows = skip_count_rows(dataset, detector_skips, detectors)
    ran = {ALL_DETECTORS, *detectors, *(d["detector"] for d in detector_skips)} if merge else None
    path = _write_counts(folder / "skipped.csv", rows, ran)
    if files:
        buf = io.StringIO()
        cols = ["file", "reason", "detail", "detector", "split"]
        dw = csv.DictWriter(buf, cols, extrasaction="ignore")
        dw.writeheader()
        dw.writerows({"detector": ALL_DETECTORS} | d for d in dataset.skipped)
        dw.writerows(detector_skips)
        atomic_write_text(folder / "skipped_files.csv", buf.getvalue())
    return path


def min_size_summary(detector: str, min_side: int, dropped: list[dict[str, str]]) -> str:
    """One line for the run log: how many images a detector's minimum size left out, by split."""
    by_split = Counter(d["split"] for d in dropped)
    parts = ", ".join(f"{split} {by_split[split]}" for split in ("train", "val", "test"))
    return (
        f"{detector}: {len(dropped)} image(s) below its minimum side of {min_side} px skipped "
        f"({BELOW_MIN_SIZE}: {parts}); labels unchanged, files in skipped_files.csv"
    )


def skip_summary(dataset: Dataset) -> str:
    """One line for the run log: how many files were skipped, per reason."""
    counts = dataset.skip_counts()
    if not counts:
        return f"dataset {dataset.name}: no file skipped"
    parts = ", ".join(f"{reason} {n}" for reason, n in counts.items())
    return f"dataset {dataset.name}: {sum(counts.values())} file(s) skipped ({parts})"
