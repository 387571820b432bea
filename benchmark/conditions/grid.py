"""Test conditions (clean, corruption x severity, resolution x mode) and their cached rendering.

A ``Condition`` names one way of presenting the test split: unchanged (``clean``), corrupted
(``jpeg@3``), or degraded in resolution (``res64-resized``: area-downscaled so the longer side
is 64 px, then resized to the detector's input size; ``res64-native``: left at 64 px, for
resolution-agnostic detectors). ``render`` turns samples into their corrupted/degraded copies.

Each corrupted test set is rendered once per (dataset fingerprint, condition, seed, target
size) and cached as lossless PNG under ``cache_dir()/conditions/<key>/<variant>/``, so every
detector scores the very same pixels and a rerun reuses them. ImageNet-C's authors
(Hendrycks & Dietterich 2019) distribute rendered images and advise against re-rendering
on the fly: implementation differences in on-the-fly corruption have moved reported accuracy
by about ten points. The images are written to a temporary folder and moved into place with
``os.replace``, so an interrupted run never leaves a half-written file behind. Each image's
random generator is seeded from (seed, condition key, sample id), so the result does not
depend on sample order or on which other samples are rendered with it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.conditions import corruptions as C
from benchmark.conditions import social as S
from benchmark.core.samples import Sample, cache_dir

KINDS = ("clean", "corruption", "resolution")
MODES = ("resized", "native")
MAX_SEVERITY = 5
MAX_RESOLUTION = 8192
_KEY = re.compile(r"^(?:(clean)|([a-z0-9_]+)@(\d)|res(\d+)-(resized|native))$")


@dataclass(frozen=True)
class Condition:
    """One test condition; ``key`` is its stable, file-name-safe name."""

    kind: str = "clean"
    corruption: str | None = None
    severity: int = 0
    resolution: int | None = None
    mode: str | None = None

    def __post_init__(self) -> None:
        fields = (self.corruption, self.severity, self.resolution, self.mode)
        ok = {
            "clean": fields == (None, 0, None, None),
            "corruption": (self.corruption in C.CORRUPTIONS or self.corruption in S.SOCIAL)
            and self.resolution is None
            and self.mode is None
            and isinstance(self.severity, int)
            and 1 <= self.severity <= (1 if self.corruption in S.SOCIAL else MAX_SEVERITY),
            "resolution": self.corruption is None
            and self.severity == 0
            and self.mode in MODES
            and isinstance(self.resolution, int)
            and 1 <= self.resolution <= MAX_RESOLUTION,
        }.get(self.kind)
        if not ok:
            raise ValueError(
                f"invalid condition {self!r}: clean takes no fields, corruption a "
                f"known name and severity 1-{MAX_SEVERITY}, resolution a size in "
                f"1-{MAX_RESOLUTION} px and a mode in {MODES}"
            )

    @property
    def key(self) -> str:
        if self.kind == "corruption":
            return f"{self.corruption}@{self.severity}"
        if self.kind == "resolution":
            return f"res{self.resolution}-{self.mode}"
        return "clean"

    def as_row(self) -> dict[str, Any]:
        """Fields for a result row (``condition``, ``corruption``, ``severity``, ...)."""
        return {
            "condition": self.key,
            "corruption": self.corruption or "",
            "severity": self.severity if self.kind != "resolution" else "",
            "resolution": self.resolution or "",
            "mode": self.mode or "",
        }

    @classmethod
    def from_key(cls, key: str) -> Condition:
        """Inverse of ``key``: ``clean``, ``jpeg@3``, ``res64-native``."""
        m = _KEY.match(key)
        if not m:
            raise ValueError(
                f"bad condition key {key!r}; expected clean, <corruption>@<1-5> "
                "or res<px>-resized|native"
            )
        if m[1]:
            return cls()
        if m[2]:
            return cls("corruption", m[2], int(m[3]))
        return cls("resolution", None, 0, int(m[4]), m[5])

    def __str__(self) -> str:
        return self.key


CLEAN = Condition()


def _items(text: Any, what: str) -> list[str]:
    if not isinstance(text, str):
        raise ValueError(f"{what}: expected a string, got {type(text).__name__}")
    items = [t.strip() for t in text.split(",")]
    if not text.strip() or any(not t for t in items):
        raise ValueError(f"{what}: empty item in {text!r}; give a comma-separated list")
    return items


def parse_severities(text: str) -> list[int]:
    """``"1-5"``, ``"1,3,5"``, ``"3"`` or a mix (``"1-2,5"``) -> sorted unique severities."""
    out: set[int] = set()
    for item in _items(text, "severities"):
        m = re.fullmatch(r"(\d{1,3})(?:\s*-\s*(\d{1,3}))?", item, re.ASCII)
        lo, hi = (int(m[1]), int(m[2] or m[1])) if m else (-1, -1)
        if not m or not 1 <= lo <= hi <= MAX_SEVERITY:
            raise ValueError(
                f"severities: bad item {item!r} in {text!r}; use integers "
                f"1-{MAX_SEVERITY} like '1-5', '1,3,5' or '3' (0 is the clean run)"
            )
        out.update(range(lo, hi + 1))
    return sorted(out)


def parse_resolutions(text: str) -> list[int]:
    """``"32,64,128"`` -> sorted unique sizes in pixels (the longer side after degrading)."""
    out: set[int] = set()
    for item in _items(text, "resolutions"):
        px = int(item) if re.fullmatch(r"\d{1,5}", item, re.ASCII) else 0
        if not 1 <= px <= MAX_RESOLUTION:
            raise ValueError(
                f"resolutions: bad item {item!r} in {text!r}; use pixel sizes "
                f"1-{MAX_RESOLUTION} like '32,64,128'"
            )
        out.add(px)
    return sorted(out)


# Named groups: ImageNet-C's 15 (Hendrycks & Dietterich 2019, the corruptions of its mCE) and its
# 4 held-out ones, in the paper's order, so an mCE table can be read beside ImageNet-C's.
GROUPS: dict[str, tuple[str, ...]] = {
    "imagenet-c": C.IMAGENET_C_15,
    "imagenet-c-extra": C.IMAGENET_C_EXTRA,
    # opt-in, never in "all" or "default": SIDBench's grid and AI-GenBench's chain
    "social": S.ALL,
}


def parse_corruptions(text: str) -> list[str]:
    """``"all"``, ``"default"``, ``"none"``, or a comma list of names, fnmatch wildcards
    (``"*blur"``), family names (``"external"``) and groups (``"imagenet-c"``: ImageNet-C's 15;
    ``"imagenet-c-extra"``: its 4 held-out ones; ``"social"``: SIDBench's grid and AI-GenBench's
    chain, ``benchmark.conditions.social``, opt-in only) -> corruption names, in order given."""
    keyword = text.strip().lower() if isinstance(text, str) else ""
    if keyword in ("all", "default", "none"):
        return {"all": list(C.ALL), "default": list(C.DEFAULT_SUBSET), "none": []}[keyword]
    out: list[str] = []
    for item in _items(text, "corruptions"):
        if item.lower() in GROUPS:
            names = list(GROUPS[item.lower()])
        elif item in C.FAMILIES:
            names = [n for n in C.ALL if C.TABLES[n].family == item]
        elif any(ch in item for ch in "*?["):
            names = C.list_corruptions(item)
            if not names:
                raise ValueError(f"corruptions: {item!r} matches none of {', '.join(C.ALL)}")
        elif item in S.SOCIAL:
            names = [item]
        else:
            C.get_corruption(item)  # raises with a "did you mean"
            names = [item]
        out.extend(n for n in names if n not in out)
    return out


def build_conditions(
    corruptions: Iterable[str],
    severities: Iterable[int],
    resolutions: Iterable[int],
    resolution_agnostic: bool,
) -> list[Condition]:
    """Clean first, then every corruption x severity, then every resolution (resized, and
    native too when some detector is ``resolution_agnostic``)."""
    out = [CLEAN]
    # a social condition is named: one level (severity 1), whatever the severities
    out += [
        Condition("corruption", c, 1 if c in S.SOCIAL else int(s))
        for c in corruptions
        for s in severities
    ]
    for px in resolutions:
        out.append(Condition("resolution", None, 0, int(px), "resized"))
        if resolution_agnostic:
            out.append(Condition("resolution", None, 0, int(px), "native"))
    return list(dict.fromkeys(out))


def image_rng(seed: int, condition: Condition, sample_id: str) -> np.random.Generator:
    """The generator for one image: a function of (seed, condition key, sample id) only."""
    digest = hashlib.sha256(f"{seed}\x00{condition.key}\x00{sample_id}".encode()).digest()
    return np.random.default_rng(np.random.SeedSequence(int.from_bytes(digest[:16], "little")))


def apply(
    image: np.ndarray,
    condition: Condition,
    rng: np.random.Generator | None = None,
    target_size: int | None = None,
) -> np.ndarray:
    """The condition applied to one image (uncached). ``target_size``: longer side of the
    ``resized`` mode (default: the image's own)."""
    if condition.kind == "corruption":
        rng = rng if rng is not None else np.random.default_rng(0)
        if condition.corruption in S.SOCIAL:
            return S.SOCIAL[condition.corruption](image, condition.severity, rng)
        return C.corrupt(image, condition.corruption, condition.severity, rng)
    if condition.kind == "resolution":
        back = (target_size or max(image.shape[:2])) if condition.mode == "resized" else None
        return C.degrade_resolution(image, condition.resolution, back)
    return image


def render_dir(
    condition: Condition, *, seed: int, dataset_fingerprint: str, target_size: int | None = None
) -> Path:
    """Where ``render`` keeps this condition's images."""
    fp = dataset_fingerprint
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", fp):
        fp = hashlib.sha1(fp.encode()).hexdigest()[:16]
    to = f"-to{target_size}" if condition.mode == "resized" and target_size else ""
    social = f"-s{S.VERSION}" if condition.corruption in S.SOCIAL else ""
    return cache_dir() / "conditions" / condition.key / f"{fp}-seed{seed}{to}-v{C.VERSION}{social}"


def _file_name(sample_id: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", sample_id)[-60:]
    return f"{safe}-{hashlib.sha1(sample_id.encode()).hexdigest()[:10]}.png"


def _write_png(path: Path, image: np.ndarray) -> None:
    import cv2

    ok, buf = cv2.imencode(
        ".png", np.ascontiguousarray(image[:, :, ::-1]), [cv2.IMWRITE_PNG_COMPRESSION, 1]
    )
    if not ok:
        raise OSError(f"{path}: PNG encoding failed")
    path.write_bytes(buf.tobytes())


def render(
    samples: Sequence[Sample],
    condition: Condition,
    *,
    seed: int,
    dataset_fingerprint: str,
    target_size: int | None = None,
) -> list[Sample]:
    """Samples under ``condition``: same id, label and meta (plus the condition's fields),
    ``path`` set to the cached rendered PNG. Clean returns the samples unchanged.

    Args:
        samples: the test samples (in-memory or file-backed).
        condition: what to apply.
        seed: run seed; with the condition key and sample id it seeds each image's generator.
        dataset_fingerprint: cache key of the samples' dataset.
        target_size: longer side for ``resized`` resolution conditions (the detector's input
            size); ignored otherwise. None resizes back to each image's own size.
    """
    if condition.kind == "clean":
        return list(samples)
    out_dir = render_dir(
        condition, seed=seed, dataset_fingerprint=dataset_fingerprint, target_size=target_size
    )
    names = [_file_name(s.id) for s in samples]
    missing = [(s, n) for s, n in zip(samples, names, strict=True) if not (out_dir / n).is_file()]
    if missing:
        _render_missing(missing, condition, out_dir, seed, dataset_fingerprint, target_size)
    extra = condition.as_row()
    return [s.with_path(out_dir / n, **extra) for s, n in zip(samples, names, strict=True)]


def _render_missing(
    todo: list[tuple[Sample, str]],
    condition: Condition,
    out_dir: Path,
    seed: int,
    fingerprint: str,
    target_size: int | None,
) -> None:
    """Render into a temporary sibling folder, then publish it with ``os.replace``: the whole
    folder when it is new, else file by file; partial results never appear under their name."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".tmp-{out_dir.name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        for sample, name in todo:
            rng = image_rng(seed, condition, sample.id)
            _write_png(tmp / name, apply(sample.load(), condition, rng, target_size))
        (tmp / "condition.json").write_text(
            json.dumps(
                {
                    "condition": condition.key,
                    "dataset_fingerprint": fingerprint,
                    "seed": seed,
                    "target_size": target_size,
                    "corruptions_version": C.VERSION,
                },
                indent=1,
            )
        )
        try:
            os.replace(tmp, out_dir)  # atomic when out_dir does not exist yet
        except OSError:  # out_dir exists (earlier subset, or a concurrent run): per file
            for f in tmp.iterdir():
                os.replace(f, out_dir / f.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
