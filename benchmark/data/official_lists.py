"""Layouts ``dfdc``, ``dfdc-preview`` and ``deeperforensics``: their published label lists.

- ``dfdc``: the Deepfake Detection Challenge (Dolhansky et al., "The DeepFake Detection
  Challenge (DFDC) Dataset", 2020). A ``metadata.json`` per part (or at the root) maps each
  video of its folder to ``{"label": "FAKE"|"REAL", "original": "y.mp4", "split": ...}``. The
  ``split`` field gives the split when it names one; the training parts all say ``train``, so
  test and validation are then drawn, keeping a fake with the original it was made from.
- ``dfdc-preview``: the preview release (Dolhansky et al., "The Deepfake Detection Challenge
  (DFDC) Preview Dataset", 2019). ``dataset.json`` maps paths below the root to ``{"label":
  "real"|"fake", "set": "train"|"test"}``; the family is the first folder of a fake
  (``method_A``, ``method_B``); validation is drawn from train with the videos of one folder
  below the method folder (the filmed subject and scene) kept together.
- ``deeperforensics``: DeeperForensics-1.0 (Jiang et al., "DeeperForensics-1.0: A Large-Scale
  Dataset for Real-World Face Forgery Detection", 2020). ``lists/splits/{train,val,test}.txt``
  name fakes ``<target>_<actor>.mp4`` of ``manipulated_videos/end_to_end``; the real part is
  FaceForensics++'s c23 target videos (``target_videos/`` or ``original_sequences/youtube/c23/
  videos``), each in the split of its fakes.

Groups, sources and missing-file errors work as in :mod:`benchmark.data.official`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmark.core.samples import SPLITS, DataError
from benchmark.data.folders import SPLIT_NAMES
from benchmark.data.lists import read_text
from benchmark.data.manifest import Scan
from benchmark.data.official import Video, draw_split, require, scan_videos, video_id
from benchmark.data.video import FRAMES_PER_VIDEO
from benchmark.registry import register_layout


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object file; anything else is a :class:`DataError` naming the file."""
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise DataError(f'{path}: expected {{"<video>": {{"label": ...}}, ...}}')
    return data


def _label(path: Path, name: str, info: dict[str, Any]) -> int:
    label = str(info.get("label", "")).lower()
    if label not in ("real", "fake"):
        raise DataError(f"{path}: {name} has label {info.get('label')!r}, not REAL or FAKE")
    return int(label == "fake")


def _split(path: Path, name: str, value: Any) -> str | None:
    if value in (None, ""):
        return None
    split = SPLIT_NAMES.get(str(value).lower())
    if split is None:
        raise DataError(f"{path}: {name} has split {value!r}, not one of train, val, test")
    return split


# --- DFDC ---------------------------------------------------------------------------------------


def _dfdc_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "metadata.json", *root.glob("*/metadata.json")) if p.is_file())


def detect_dfdc(root: Path) -> bool:
    """A ``metadata.json`` beside videos (a stray one elsewhere is no DFDC part)."""
    return any(next(p.parent.glob("*.mp4"), None) for p in _dfdc_files(root))


@register_layout(
    "dfdc",
    detect=detect_dfdc,
    priority=31,
    description="DFDC parts, each with its metadata.json (label, original, split)",
)
def scan_dfdc(
    root: Path,
    frames_per_video: int = FRAMES_PER_VIDEO,
    val_frac: float = 0.15,
    test_frac: float = 0.2,
    seed: int = 0,
) -> Scan:
    """DFDC videos labelled by their part's ``metadata.json``; a fake stays with its original."""
    videos, listed = [], []
    for meta_file in _dfdc_files(root):
        folder = meta_file.parent
        for name, info in sorted(read_json(meta_file).items()):
            path = folder / name
            label = _label(meta_file, name, info)
            listed.append((meta_file, path))
            meta: dict[str, Any] = {}
            original = info.get("original") if label == 1 else None
            if original:
                meta["source"] = video_id("dfdc", root, folder / str(original))
            group = video_id("dfdc", root, path)
            split = _split(meta_file, name, info.get("split")) or "train"
            videos.append(Video(path, label, split, group, None, meta, str(original or name)))
    require(listed)
    if not any(v.split == "test" for v in videos):
        videos = draw_split(videos, test_frac, seed, into="test")
    if not any(v.split == "val" for v in videos):
        train = sum(v.split == "train" for v in videos) / len(videos)
        videos = draw_split(videos, min(0.5, val_frac / max(train, 1e-9)), seed + 1, into="val")
    return scan_videos("dfdc", root, videos, frames_per_video)


# --- DFDC preview -------------------------------------------------------------------------------


def detect_preview(root: Path) -> bool:
    """``dataset.json`` at the root and videos in folders below it."""
    return (root / "dataset.json").is_file() and next(root.glob("*/**/*.mp4"), None) is not None


@register_layout(
    "dfdc-preview",
    detect=detect_preview,
    priority=31,
    description="DFDC preview: dataset.json with label and set (train/test) per video",
)
def scan_preview(
    root: Path, frames_per_video: int = FRAMES_PER_VIDEO, val_frac: float = 0.15, seed: int = 0
) -> Scan:
    """DFDC-preview videos in their ``set``, validation drawn from train by subject folder."""
    lst = root / "dataset.json"
    videos, listed = [], []
    for name, info in sorted(read_json(lst).items()):
        rel = Path(name.replace("\\", "/"))
        path = root / rel
        label = _label(lst, name, info)
        listed.append((lst, path))
        family = rel.parts[0] if label == 1 and len(rel.parts) > 1 else None
        unit = "/".join(rel.parts[1:-1]) or None  # the same subject folder under each method
        split = _split(lst, name, info.get("set")) or "train"
        group = video_id("dfdc-preview", root, path)
        videos.append(Video(path, label, split, group, family, {}, unit))
    require(listed)
    if not any(v.split == "val" for v in videos):
        videos = draw_split(videos, val_frac, seed, into="val")
    return scan_videos("dfdc-preview", root, videos, frames_per_video)


# --- DeeperForensics-1.0 ------------------------------------------------------------------------


def _deeper_splits(root: Path) -> dict[str, Path]:
    base = root / "lists" / "splits"
    return {s: base / f"{s}.txt" for s in SPLITS if (base / f"{s}.txt").is_file()}


def detect_deeper(root: Path) -> bool:
    return (root / "manipulated_videos").is_dir() and "train" in _deeper_splits(root)


def _target_folder(root: Path) -> Path:
    for folder in (root / "target_videos", root / "original_sequences/youtube/c23/videos"):
        if folder.is_dir():
            return folder
    raise DataError(
        f"{root}: DeeperForensics-1.0's real videos are FaceForensics++'s c23 target videos; "
        "put them in target_videos/ or original_sequences/youtube/c23/videos/"
    )


def scan_deeper(
    root: Path,
    frames_per_video: int = FRAMES_PER_VIDEO,
    variant: str = "end_to_end",
    val_frac: float = 0.15,
    seed: int = 0,
) -> Scan:
    """DeeperForensics-1.0 fakes in their listed splits, each real in the split of its fakes."""
    fakes_dir, targets = root / "manipulated_videos" / variant, _target_folder(root)
    videos, listed, real_split = [], [], {}
    order = {"test": 0, "val": 1, "train": 2}  # a real shared across splits goes to the first
    for split, lst in _deeper_splits(root).items():
        for line in read_text(lst).splitlines():
            if not line.strip():
                continue
            path = fakes_dir / Path(line.strip().replace("\\", "/")).name
            target, _, actor = path.stem.partition("_")
            listed.append((lst, path))
            meta = {"identity": actor, "variant": variant}
            real = targets / f"{target}.mp4"
            meta["source"] = video_id("deeperforensics", root, real)
            group = video_id("deeperforensics", root, path)
            videos.append(Video(path, 1, split, group, None, meta, f"identity:{actor}"))
            listed.append((lst, real))
            if real not in real_split or order[split] < order[real_split[real][0]]:
                real_split[real] = (split, f"identity:{actor}")
    require(listed)
    for real, (split, unit) in sorted(real_split.items()):
        videos.append(Video(real, 0, split, video_id("deeperforensics", root, real), unit=unit))
    if "val" not in _deeper_splits(root):
        videos = draw_split(videos, val_frac, seed, into="val")
    return scan_videos("deeperforensics", root, videos, frames_per_video)


register_layout(
    "deeperforensics",
    detect=detect_deeper,
    priority=30,
    description="DeeperForensics-1.0 lists/splits/*.txt; reals: FF++ c23 target videos",
)(scan_deeper)
