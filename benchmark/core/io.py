"""Atomic writes, run ids and provenance (git sha, package versions).

Files are written to a temporary name in the same folder and moved into place with
``os.replace``, so a crash never leaves a half-written file and never destroys the last good one.
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import subprocess
import tempfile
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any


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
