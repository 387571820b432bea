"""Layout ``folders``: class folders, optionally under split folders.

Accepted (folder names in any case)::

    ROOT/real/...  ROOT/fake/<generator>/...             (also training_real/, Real_faces/ ...)
    ROOT/0-<name>/<generator>/...  ROOT/1-<name>/<generator>/...   (Leonardi's layout)
    ROOT/{train,val|valid|validation,test}/<class folders as above>

A class folder is ``real``/``fake`` (alone or as the last ``_``/``-`` separated word) or starts
with ``0-``/``1-`` (0 real, 1 fake). Its first sub-folder is the generator (``fake/stylegan2/
x.png`` → generator ``stylegan2``); with several ``0-``/``1-`` folders of one class and no
sub-folders, the folder name after the prefix is the generator (``1-stylegan/``).
"""

from __future__ import annotations

import re
from pathlib import Path

from benchmark.core.samples import IMAGE_SUFFIXES, DataError
from benchmark.data.manifest import Record, Scan
from benchmark.registry import register_layout

SPLIT_NAMES = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "test": "test",
    "testing": "test",
}
_WORD = re.compile(r"(?:.*[_\- ])?(real|fake)s?", re.IGNORECASE)
_PREFIX = re.compile(r"([01])[-_](.+)")


def class_of(name: str) -> tuple[int, str | None] | None:
    """(label, generator from the name or None) of a class folder name, else None."""
    m = _PREFIX.fullmatch(name)
    if m:
        return int(m.group(1)), m.group(2)
    m = _WORD.fullmatch(name)
    if m:
        return (0 if m.group(1).lower() == "real" else 1), None
    return None


def _class_dirs(folder: Path) -> list[tuple[Path, int, str | None]]:
    out = []
    for d in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        hit = class_of(d.name)
        if hit is not None:
            out.append((d, *hit))
    return out


def _split_dirs(root: Path) -> dict[str, Path]:
    return {
        SPLIT_NAMES[d.name.lower()]: d
        for d in sorted(root.iterdir())
        if d.is_dir() and d.name.lower() in SPLIT_NAMES
    }


def detect(root: Path) -> bool:
    """Class folders at the root or below split folders."""
    folders = [root, *_split_dirs(root).values()]
    return any({lab for _, lab, _ in _class_dirs(f)} == {0, 1} for f in folders)


def _scan_classes(folder: Path, root: Path, split: str | None) -> list[Record]:
    classes = _class_dirs(folder)
    labels = {lab for _, lab, _ in classes}
    if labels != {0, 1}:
        missing = ", ".join(n for n, lab in (("real", 0), ("fake", 1)) if lab not in labels)
        raise DataError(
            f"{folder}: missing class folder(s) for {missing} "
            "(expected real/ and fake/, or 0-*/ and 1-*/)"
        )
    records = []
    for label in (0, 1):  # reals first, then fakes: the order the split has always seen
        mine = [(d, g) for d, lab, g in classes if lab == label]
        for d, from_name in mine:
            files = sorted(p for p in d.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
            for p in files:
                if not p.is_file():
                    continue
                rel = p.relative_to(d)
                gen = rel.parts[0] if len(rel.parts) > 1 else (from_name if len(mine) > 1 else None)
                records.append(Record(p, label, split, generator=gen))
    return records


@register_layout(
    "folders",
    detect=detect,
    priority=90,
    description="real/ + fake/ (any case) or 0-*/ + 1-*/ class folders, optional train/val/test",
)
def scan(root: Path) -> Scan:
    """Records of every image below the class folders; splits from split folders if any."""
    splits = _split_dirs(root)
    if splits:
        records = []
        for split, folder in splits.items():
            if _class_dirs(folder):
                records += _scan_classes(folder, root, split)
        if not any(r.split == "train" for r in records):
            raise DataError(
                f"{root}: has split folders {sorted(splits)} but no images under train/ class "
                "folders (real/ and fake/)"
            )
    else:
        records = _scan_classes(root, root, None)
    for label, name in ((0, "real"), (1, "fake")):
        if not any(r.label == label for r in records):
            raise DataError(f"{root}: no images in the {name} class folder(s)")
    return Scan("folders", root, records)
