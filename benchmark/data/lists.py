"""Layouts ``datalist`` and ``yolo`` (the two annotation types of Govi, Poppi & Marinelli,
"Deep Learning for DeepFake Creation and Detection").

``datalist``: one text file per split at the root (``train.txt``, ``val.txt``/``valid.txt``,
``test.txt``, also ``train_list.txt`` ...), each line ``<path> <label>`` with the path relative
to the root (or to the list file) and label 0 real / 1 fake; ``#`` starts a comment. Paths may
hold spaces (the label is the last field); commas or tabs also separate.

``yolo``: every image has a same-named ``.txt`` beside it (or in a parallel ``labels/`` folder
instead of ``images/``) whose lines start with the class, 0 real / 1 fake (a YOLO box may
follow). Splits come from ``train``/``val``/``test`` folder names in the path.

Lines that do not parse are counted skips (``bad_label``) naming file and line; a file whose
lines disagree on the class is a ``conflicting_label`` skip.
"""

from __future__ import annotations

import re
from pathlib import Path

from benchmark.core.samples import IMAGE_SUFFIXES, DataError
from benchmark.data.checks import skip
from benchmark.data.folders import SPLIT_NAMES
from benchmark.data.manifest import Record, Scan
from benchmark.registry import register_layout

_LIST = re.compile(r"(train|training|val|valid|validation|test|testing)(?:[_\-.]?list)?", re.I)
_SEP = re.compile(r"[\s,;]+")


def _list_files(root: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for p in sorted(root.glob("*.txt")):
        m = _LIST.fullmatch(p.stem)
        if m and p.is_file():
            out.setdefault(SPLIT_NAMES[m.group(1).lower()], p)
    return out


def detect_datalist(root: Path) -> bool:
    return "train" in _list_files(root) or "test" in _list_files(root)


def parse_line(line: str) -> tuple[str, int] | None:
    """``"<path> <label>"`` → (path, label); None when the line is not of that form."""
    line = line.strip()
    m = re.fullmatch(r"(.+?)[\s,;]+([^\s,;]+)", line)
    if not m or m.group(2) not in ("0", "1"):
        return None
    return m.group(1).strip().strip('"'), int(m.group(2))


def read_text(path: Path) -> str:
    """A small text file as str; undecodable bytes are replaced, a read error names the file."""
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None


def resolve(root: Path, base: Path, name: str) -> Path:
    """``name`` relative to ``base`` when it exists there, else relative to ``root``."""
    name = name.replace("\\", "/")
    first = base / name
    return first if base != root and first.exists() else root / name


@register_layout(
    "datalist",
    detect=detect_datalist,
    priority=20,
    description="train.txt / val.txt / test.txt lists of '<path> <label>' lines",
)
def scan_datalist(root: Path) -> Scan:
    """Records from the per-split list files."""
    files = _list_files(root)
    if not files:
        raise DataError(f"{root}: no train.txt / val.txt / test.txt list file")
    records, skipped = [], []
    for split, lst in files.items():
        for n, line in enumerate(read_text(lst).splitlines(), 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            parsed = parse_line(line)
            if parsed is None:
                skipped.append(
                    skip(f"{lst.name}:{n}", "bad_label", f"not '<path> 0|1': {line!r}"[:120])
                )
                continue
            if "\x00" in parsed[0]:
                skipped.append(skip(f"{lst.name}:{n}", "bad_label", "NUL in path"))
                continue
            records.append(Record(resolve(root, lst.parent, parsed[0]), parsed[1], split))
    if not records:
        raise DataError(
            f"{root}: list files {sorted(p.name for p in files.values())} hold no "
            "'<path> <label>' line"
        )
    return Scan("datalist", root, records, skipped)


def _label_file(img: Path) -> Path | None:
    beside = img.with_suffix(".txt")
    if beside.is_file():
        return beside
    parts = list(img.parts)
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == "images":
            other = Path(*parts[:i], "labels", *parts[i + 1 :]).with_suffix(".txt")
            return other if other.is_file() else None
    return None


def detect_yolo(root: Path) -> bool:
    for i, img in enumerate(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
        if _label_file(img) is not None:
            return True
        if i > 200:
            return False
    return False


def yolo_label(text: str) -> int | str:
    """Class of a YOLO label file (0/1), or a reason string when it has none or several."""
    classes = {ln.split()[0] for ln in text.splitlines() if ln.strip()}
    if not classes:
        return "empty label file"
    if not classes <= {"0", "1"}:
        return f"classes {sorted(classes)[:3]} are not 0/1"
    if len(classes) > 1:
        return "conflicting"
    return int(classes.pop())


@register_layout(
    "yolo",
    detect=detect_yolo,
    priority=95,  # after class folders: a stray x.txt beside x.png must not turn them into yolo
    description="a same-named .txt per image (or labels/ beside images/) starting with 0|1",
)
def scan_yolo(root: Path) -> Scan:
    """Records of every image that has a label file; the others are counted skips."""
    records, skipped = [], []
    for img in sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
        rel = img.relative_to(root)
        lab_file = _label_file(img)
        if lab_file is None:
            skipped.append(skip(rel, "bad_label", "no label file"))
            continue
        label = yolo_label(read_text(lab_file))
        if label == "conflicting":
            skipped.append(skip(rel, "conflicting_label", f"{lab_file.name} holds 0 and 1"))
        elif isinstance(label, str):
            skipped.append(skip(rel, "bad_label", f"{lab_file.name}: {label}"))
        else:
            split = next(
                (SPLIT_NAMES[p.lower()] for p in rel.parts if p.lower() in SPLIT_NAMES), None
            )
            records.append(Record(img, label, split))
    return Scan("yolo", root, records, skipped)
