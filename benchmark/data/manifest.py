"""From a layout's records to a checked, split, fingerprinted :class:`Dataset`.

Every layout module returns a :class:`Scan`: records (path, label, split, group, generator,
optional crop box) plus files it already rejected. :func:`build_dataset` does the rest the
same way for all layouts: paths outside the root and conflicting labels are skipped, every
file is checked once (cached), boxes and faces are cropped, splits are made when none are
given (stratified by label with a fixed seed; grouped when a group is known so one video,
identity or source image never lands in two splits), exact duplicates across splits are
reported, and the fingerprint hashes content, not timestamps. The manifest (split, id, label,
path, group, generator, SHA-1, size per sample) is written to ``<cache>/manifests/``.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.core.samples import MIN_SIDE, SPLITS, DataError, Dataset, Sample, cache_dir
from benchmark.data.checks import CheckCache, skip


@dataclass
class Record:
    """One image a layout found. ``box`` is ``(x, y, w, h)`` in pixels when it is a crop."""

    path: Path
    label: int
    split: str | None = None
    group: str | None = None
    generator: str | None = None
    box: tuple[float, float, float, float] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    # the dataset file this image was made from (a video for a frame), when not ``path``;
    # containment in the root is checked on it
    origin: Path | None = None


@dataclass
class Scan:
    """What a layout found under ``root``: records, files it rejected, and its name."""

    layout: str
    root: Path
    records: list[Record]
    skipped: list[dict[str, str]] = field(default_factory=list)


def inside(root: Path, path: Path) -> bool:
    """Whether ``path`` (symlinks resolved) lies under ``root``."""
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, ValueError, RuntimeError):
        return False


def build_dataset(
    scan: Scan,
    *,
    name: str | None = None,
    seed: int = 0,
    val_frac: float = 0.15,
    test_frac: float = 0.2,
    min_side: int = MIN_SIDE,
    crop_faces: bool | str = False,
    face_margin: float = 0.3,
    box_margin: float = 0.2,
    progress: Callable[[str], None] | None = None,
) -> Dataset:
    """Check, crop, split and fingerprint a layout's records (see the module docstring).

    ``crop_faces``: ``haar`` (or True), ``mtcnn``, or False (see :mod:`benchmark.data.faces`).
    """
    from benchmark.data import faces

    method = faces.face_method(crop_faces)
    key = faces.method_key(method)  # a missing face detector fails here, before any file
    root = scan.root
    skipped = list(scan.skipped)
    records = _drop_conflicts(scan, skipped)
    cache = CheckCache(root, min_side)
    kept: list[tuple[Record, Path, dict[str, Any]]] = []
    for i, rec in enumerate(records):
        if i and i % 250 == 0:
            cache.save()  # an interrupted load keeps what it checked
            if progress:
                progress(f"{root.name}: checked {i}/{len(records)} files")
        info = cache.check(rec.path)
        if not info["ok"]:
            skipped.append(skip(_rel(rec.origin or rec.path, root), info["reason"], info["detail"]))
            continue
        path = rec.path
        if rec.box is not None:
            path, why = faces.crop_box_file(path, info["sha1"], rec.box, box_margin)
            if path is None:
                skipped.append(skip(f"{_rel(rec.path, root)} box {rec.box}", "bad_box", why))
                continue
        if method:
            try:
                face = faces.face_crop_file(path, info["sha1"], face_margin, rec.box, method)
            except DataError as exc:  # e.g. a crop file damaged in the cache
                skipped.append(skip(_rel(rec.origin or rec.path, root), "corrupt", str(exc)))
                continue
            if face is None:
                why = skip(_rel(rec.origin or rec.path, root), "no_face", "no face found")
                skipped.append(faces.no_face_skip(why, rec.label, rec.split))
                continue
            path = face
        if path != rec.path:  # a crop: describe the file detectors read, keep the source's hash
            info = info | _describe(path)
        kept.append((rec, path, info))
    cache.save()
    if progress:
        progress(f"{root.name}: {len(kept)} usable image(s), {len(skipped)} skipped")
    samples, groups = [], []
    for rec, path, info in kept:
        sid = _rel(rec.origin or rec.path, root)
        if rec.box:
            sid += "#" + "_".join(str(int(v)) for v in rec.box)
        if "frame" in rec.meta:
            sid += f"#{rec.meta['frame']}"
        label_name = "fake" if rec.label else "real"
        meta = {
            "family": rec.generator or label_name,
            "generator": rec.generator or label_name,
            "group": rec.group or "",
            "layout": scan.layout,
            "width": info["width"],
            "height": info["height"],
            "format": info["format"],
            "mode": info["mode"],
            "sha1": info["sha1"],
            "bytes": info["bytes"],
            **rec.meta,
        }
        samples.append((rec.split, Sample(sid, rec.label, path, meta)))
        # no group known: identical files (same SHA-1) stay together
        groups.append(rec.group or f"sha1:{info['sha1']}")
    splits = _assign_splits(samples, groups, seed, val_frac, test_frac, root)
    # crops change the pixels: their settings are part of what the fingerprint identifies
    crops = f"{key}:{face_margin}:{faces.FACE_VERSION}:{box_margin}:{min_side}"
    h = hashlib.sha1(f"{scan.layout}|{crops}".encode())
    for split in SPLITS:
        for s in splits[split]:
            h.update(f"{split}:{s.id}:{s.label}:{s.meta['sha1']}:{s.meta['family']}".encode())
    h.update(str(sorted((d["file"], d["reason"]) for d in skipped)).encode())
    ds = Dataset(
        name or root.name,
        splits,
        h.hexdigest()[:16],
        f"{scan.layout} layout at {root}",
        skipped,
        find_duplicates(splits),
    )
    write_manifest(ds, cache_dir() / "manifests" / f"{ds.name}-{ds.fingerprint}.csv")
    if method and progress:
        progress(f"{root.name}: {faces.detection_summary(ds, method)}")
    return ds


MANIFEST_COLUMNS = ["split", "id", "label", "path", "group", "generator", "sha1", "width", "height"]


def write_manifest(dataset: Dataset, path: Path) -> Path:
    """The dataset as a CSV manifest (one row per sample, ``MANIFEST_COLUMNS``), atomically."""
    import csv
    import io
    import os

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(MANIFEST_COLUMNS)
    for split in SPLITS:
        for s in dataset.splits[split]:
            m = s.meta
            w.writerow(
                [
                    split,
                    s.id,
                    s.label,
                    s.path,
                    m.get("group", ""),
                    m.get("generator", ""),
                    m.get("sha1", ""),
                    m.get("width", ""),
                    m.get("height", ""),
                ]
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(buf.getvalue())
    tmp.replace(path)
    return path


def _describe(path: Path) -> dict[str, Any]:
    from PIL import Image

    with Image.open(path) as im:
        return {
            "width": im.width,
            "height": im.height,
            "format": im.format or "",
            "mode": im.mode,
            "bytes": path.stat().st_size,
        }


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _drop_conflicts(scan: Scan, skipped: list[dict[str, str]]) -> list[Record]:
    """Skip paths outside the root and files listed with two labels; drop exact repeats."""
    by_key: dict[tuple[str, Any], list[Record]] = defaultdict(list)
    for rec in scan.records:
        if not inside(scan.root, rec.origin or rec.path):
            skipped.append(skip(rec.origin or rec.path, "outside_root", f"not under {scan.root}"))
            continue
        by_key[(str(rec.path.resolve()), rec.box)].append(rec)
    out = []
    for recs in by_key.values():
        labels = sorted({r.label for r in recs})
        if len(labels) > 1:  # labels never change silently: neither label is trusted
            skipped.append(
                skip(_rel(recs[0].path, scan.root), "conflicting_label", f"listed as {labels}")
            )
            continue
        out.append(recs[0])
    return out


def _assign_splits(
    samples: list[tuple[str | None, Sample]],
    groups: list[str],
    seed: int,
    val_frac: float,
    test_frac: float,
    root: Path,
) -> dict[str, list[Sample]]:
    given = {split for split, _ in samples}
    if given - {None} and None in given:
        n = sum(split is None for split, _ in samples)
        raise DataError(f"{root}: {n} image(s) have no split while others do")
    if None not in given:
        splits = {s: [x for split, x in samples if split == s] for s in SPLITS}
        g = {s.id: grp for (_, s), grp in zip(samples, groups, strict=True)}
        if not splits["train"]:
            raise DataError(f"{root}: splits given ({sorted(given)}) but no usable train image")
        if not splits["val"]:
            splits["train"], splits["val"] = split_samples(
                splits["train"], [g[s.id] for s in splits["train"]], val_frac, seed, root
            )
        return splits
    items = [s for _, s in samples]
    train_val, test = split_samples(items, groups, test_frac, seed, root)
    g = {s.id: grp for s, grp in zip(items, groups, strict=True)}
    train, val = split_samples(
        train_val, [g[s.id] for s in train_val], val_frac / (1 - test_frac), seed + 1, root
    )
    return {"train": train, "val": val, "test": test}


def split_samples(
    samples: list[Sample], groups: list[str], frac: float, seed: int, root: Path | str = "dataset"
) -> tuple[list[Sample], list[Sample]]:
    """Split off about ``frac`` of ``samples``, stratified by label with a fixed seed.

    When some group holds several samples (a video's frames, an image's faces, identical
    files), whole groups move together (``StratifiedGroupKFold``), so no group is in both parts.
    """
    from sklearn.model_selection import StratifiedGroupKFold, train_test_split

    labels = [s.label for s in samples]
    if min(labels.count(0), labels.count(1)) < 2:
        raise DataError(
            f"{root}: need at least 2 real and 2 fake usable images to split, "
            f"have {labels.count(0)} real and {labels.count(1)} fake"
        )
    n_splits = max(2, round(1 / frac))
    by_content = all(g.startswith("sha1:") for g in groups)  # no group known, only duplicates
    if len(set(groups)) == len(groups) or (by_content and len(set(groups)) < n_splits):
        a, b = train_test_split(samples, test_size=frac, random_state=seed, stratify=labels)
    else:
        if len(set(groups)) < n_splits:
            raise DataError(
                f"{root}: only {len(set(groups))} groups (videos/sources); need {n_splits} "
                "to split by group - give the splits yourself"
            )
        folds = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        keep, take = next(folds.split(samples, labels, groups))
        a, b = [samples[i] for i in keep], [samples[i] for i in take]
    return sorted(a, key=lambda s: s.id), sorted(b, key=lambda s: s.id)


def find_duplicates(splits: dict[str, list[Sample]]) -> list[dict[str, Any]]:
    """Exact duplicate files (same SHA-1) that sit in more than one split."""
    where: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for split, samples in splits.items():
        for s in samples:
            if s.meta.get("sha1"):
                where[s.meta["sha1"]].append((split, s.id))
    out = []
    for sha, hits in where.items():
        if len({split for split, _ in hits}) > 1:
            out.append(
                {
                    "sha1": sha,
                    "splits": sorted({split for split, _ in hits}),
                    "files": [i for _, i in hits],
                }
            )
    return out
