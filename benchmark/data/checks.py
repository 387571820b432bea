"""Check every file once at load: hostile files become counted skips, never a crashed run.

A check opens the header (format, size), guards against decompression bombs *before* decoding
(Pillow only warns below twice its own limit), decodes the whole image (a truncated JPEG only
fails there) and hashes the bytes (exact duplicates across splits). Results are cached per
dataset root in ``<cache>/checks/`` keyed by (size, mtime), so a re-run checks nothing twice.

Skip reasons (``Dataset.skipped[i]["reason"]``): ``missing``, ``zero_byte``, ``not_an_image``,
``corrupt``, ``decompression_bomb``, ``too_small``, ``outside_root``, ``bad_label``,
``conflicting_label``, ``no_face``, ``unreadable_video``, ``bad_box``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from benchmark.data.samples import MAX_PIXELS, READ_ERRORS, Dataset, cache_dir

CHECK_VERSION = 1  # bump when check_file changes what it decides
# Smaller than this is no image for any detector here (one JPEG block); a run can raise it
# with the loader's ``min_side`` option, e.g. to a detector's input size.
MIN_SIDE = 8


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


def write_skipped(dataset: Dataset, folder: str | Path, files: bool = True) -> Path:
    """Write ``skipped.csv`` (reason, count) and, with ``files``, ``skipped_files.csv``.

    Both are written (atomically) even when nothing was skipped, so "zero" is recorded rather
    than unknown. Published folders get the counts only: the file list names the user's files.
    """
    import io

    from benchmark.results import atomic_write_text

    folder = Path(folder)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["dataset", "reason", "count"])
    for reason, count in dataset.skip_counts().items():
        w.writerow([dataset.name, reason, count])
    path = atomic_write_text(folder / "skipped.csv", buf.getvalue())
    if files:
        buf = io.StringIO()
        dw = csv.DictWriter(buf, ["file", "reason", "detail"])
        dw.writeheader()
        dw.writerows(dataset.skipped)
        atomic_write_text(folder / "skipped_files.csv", buf.getvalue())
    return path


def skip_summary(dataset: Dataset) -> str:
    """One line for the run log: how many files were skipped, per reason."""
    counts = dataset.skip_counts()
    if not counts:
        return f"dataset {dataset.name}: no file skipped"
    parts = ", ".join(f"{reason} {n}" for reason, n in counts.items())
    return f"dataset {dataset.name}: {sum(counts.values())} file(s) skipped ({parts})"
