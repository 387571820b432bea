"""Layout ``csv``: a table with a path (or id) column and a label column.

For example Kaggle's "140k Real and Fake Faces" (``train.csv``/``valid.csv``/``test.csv``
with ``path``, ``label`` and ``label_str``) or a ``data.csv`` of a real-vs-fake face set.
Columns are found by name, case-insensitively:

* path: ``path``, ``filepath``, ``file_path``, ``image_path``, ``file``, ``filename``,
  ``file_name``, ``image``, ``img``, ``id``, ``image_id`` (the first present). An id without a
  suffix is tried with each image suffix; a path is tried relative to the CSV's folder, the
  root and each folder directly below the root;
* label: a text column (``label_str``, ``label``, ``class``, ``target``) holding real/fake
  wins over a numeric one (0 real / 1 fake), because some sets number real as 1: when both are
  present and the numbers are the inverse of the words, the words are used and the run log
  says so; labels are never flipped silently;
* optional ``split`` (train/val/valid/test), ``group`` / ``video`` / ``identity`` / ``source``
  (split by group) and ``generator`` / ``method`` / ``family``.

Several CSVs named after splits (``train.csv``, ``valid.csv``, ``test.csv``) give the splits.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from benchmark.core import events
from benchmark.core.samples import IMAGE_SUFFIXES, DataError
from benchmark.data.checks import skip
from benchmark.data.folders import SPLIT_NAMES
from benchmark.data.lists import read_text
from benchmark.data.manifest import Record, Scan
from benchmark.registry import register_layout

PATH_COLS = (
    "path",
    "filepath",
    "file_path",
    "image_path",
    "file",
    "filename",
    "file_name",
    "image",
    "img",
    "id",
    "image_id",
)
LABEL_COLS = ("label_str", "label", "labels", "class", "target", "is_fake", "fake")
GROUP_COLS = ("group", "video", "video_id", "identity", "person", "subject", "source")
GEN_COLS = ("generator", "method", "family", "manipulation")
WORDS = {"real": 0, "fake": 1, "0": 0, "1": 1, "true": 1, "false": 0}


def _tables(root: Path) -> list[Path]:
    return sorted(p for p in root.glob("*.csv") if p.is_file())


def detect(root: Path) -> bool:
    for p in _tables(root):
        head = read_text(p).splitlines()[:1]
        cols = {c.strip().lower() for c in head[0].split(",")} if head else set()
        if cols & set(PATH_COLS) and cols & set(LABEL_COLS):
            return True
    return False


def _pick(header: list[str], names: tuple[str, ...]) -> str | None:
    low = {h.strip().lower(): h for h in header}
    return next((low[n] for n in names if n in low), None)


def read_table(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of a CSV; anything that is not a CSV is a DataError naming the file."""
    text = read_text(path).replace("\x00", "")
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        rows = list(reader)
        header = list(reader.fieldnames or [])
    except csv.Error as exc:
        raise DataError(f"{path}: not a readable CSV ({exc})") from None
    return header, rows


def _label(row: dict[str, str], cols: list[str]) -> tuple[int | None, bool]:
    """Label from the first label column that parses, and whether another column disagrees."""
    values = [WORDS.get(str(row.get(c) or "").strip().lower()) for c in cols]
    known = [v for v in values if v is not None]
    if not known:
        return None, False
    return known[0], len(set(known)) > 1


def _find(root: Path, base: Path, name: str, subdirs: list[Path]) -> Path:
    name = name.replace("\\", "/").strip()
    candidates = [base / name, root / name] + [d / name for d in subdirs]
    for c in candidates:
        if c.suffix.lower() in IMAGE_SUFFIXES and c.is_file():
            return c
        for suffix in sorted(IMAGE_SUFFIXES) if not c.suffix else ():
            if c.with_suffix(suffix).is_file():
                return c.with_suffix(suffix)
    return candidates[0]  # missing: the check names it


@register_layout(
    "csv",
    detect=detect,
    priority=40,
    description="CSV with a path/id column and a label column (e.g. Kaggle real-vs-fake faces)",
)
def scan(root: Path) -> Scan:
    """Records from every CSV at the root that has a path and a label column."""
    records, skipped, used = [], [], []
    subdirs = sorted(d for d in root.iterdir() if d.is_dir())
    for table in _tables(root):
        header, rows = read_table(table)
        path_col = _pick(header, PATH_COLS)
        words = [c for c in (_pick(header, (n,)) for n in LABEL_COLS) if c]
        if path_col is None or not words:
            continue
        used.append(table.name)
        split_col, group_col = _pick(header, ("split", "subset")), _pick(header, GROUP_COLS)
        gen_col = _pick(header, GEN_COLS)
        file_split = SPLIT_NAMES.get(table.stem.lower())
        n_disagree = 0
        for n, row in enumerate(rows, 2):
            where = f"{table.name}:{n}"
            name = str(row.get(path_col) or "")
            label, disagree = _label(row, words)
            n_disagree += disagree
            if not name or "\x00" in name or label is None:
                skipped.append(skip(where, "bad_label", "no path or no 0/1/real/fake label"))
                continue
            raw_split = str(row.get(split_col) or "").strip().lower() if split_col else ""
            split = SPLIT_NAMES.get(raw_split, file_split)
            if raw_split and raw_split not in SPLIT_NAMES:
                skipped.append(skip(where, "bad_label", f"unknown split {raw_split!r}"[:80]))
                continue
            records.append(
                Record(
                    _find(root, table.parent, name, subdirs),
                    label,
                    split,
                    group=str(row.get(group_col) or "") or None if group_col else None,
                    generator=str(row.get(gen_col) or "") or None if gen_col else None,
                )
            )
        if n_disagree:
            events.emit(
                f"{table}: {n_disagree} row(s) where the label columns {words} disagree; "
                f"used {words[0]!r} (text labels win over numbers)"
            )
    if not used:
        raise DataError(f"{root}: no CSV with a path column {PATH_COLS[:4]}... and a label column")
    return Scan("csv", root, records, skipped)
