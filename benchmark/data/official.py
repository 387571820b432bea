"""Layouts ``ff++`` and ``celeb-df``: video datasets in their published splits, and the helpers.

Each reads the split files the dataset ships, never a split of our own where one is given:

- ``ff++``: FaceForensics++ (Rössler et al., "FaceForensics++: Learning to Detect Manipulated
  Facial Images", 2019). ``{train,val,test}.json`` (in ``dataset/splits/``, ``splits/`` or the
  root) list id pairs such as ``["071", "054"]``; the fakes ``071_054.mp4`` and ``054_071.mp4``
  of every method present (``manipulated_sequences/<method>/<comp>/videos``) and the originals
  ``071.mp4`` and ``054.mp4`` (``original_sequences/youtube/<comp>/videos``) are in that split.
  Compression ``c23`` when present (``--layout ff++-c40`` / ``ff++-raw`` choose another).
- ``celeb-df``: Celeb-DF v1/v2 (Li et al., "Celeb-DF: A Large-scale Challenging Dataset for
  DeepFake Forensics", 2020). ``List_of_testing_videos.txt`` lines ``<label> <folder>/<file>``
  are the test set, where **1 means real** (mapped here to our 0 = real); every other video of
  ``Celeb-real``, ``YouTube-real`` and ``Celeb-synthesis`` is train, and validation is drawn
  from train grouped by the filmed identity (``id0_0003`` and its fakes ``id0_id16_0003``).

Every video becomes ``frames_per_video`` frames (:func:`benchmark.data.video.extract_frames`).
Every frame carries an explicit group, its video's id (``ff++:manipulated_sequences/Deepfakes/
c23/videos/071_054``: a path below the root, so a real and a fake of one name never share it),
and where the format gives them the source video it was made from (``source``), the id pair
(``pair``), the identity and the manipulation family. A listed video that is not on disk is an
error naming the list file and the video. DFDC, its preview and DeeperForensics-1.0 are in
:mod:`benchmark.data.official_lists`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.core.samples import SPLITS, DataError, Sample
from benchmark.data.checks import skip
from benchmark.data.lists import read_text
from benchmark.data.manifest import Record, Scan, split_samples
from benchmark.data.video import FRAMES_PER_VIDEO, extract_frames, frame_index
from benchmark.registry import register_layout


@dataclass(frozen=True)
class Video:
    """One listed video: its label, split, explicit id (``group``) and what the format says."""

    path: Path
    label: int
    split: str | None
    group: str
    generator: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    unit: str | None = None  # what must not straddle a split we draw (default: the video)


def video_id(prefix: str, root: Path, path: Path) -> str:
    """``<prefix>:<path below root without suffix>``: unique per video, never a bare name."""
    return f"{prefix}:{path.relative_to(root).with_suffix('').as_posix()}"


def require(videos: Iterable[tuple[Path, Path]]) -> None:
    """Raise a :class:`DataError` naming the list file and the video for missing files."""
    missing = [(lst, p) for lst, p in videos if not p.is_file()]
    if missing:
        lst, first = missing[0]
        more = f" (and {len(missing) - 1} more listed video(s) missing)" if len(missing) > 1 else ""
        raise DataError(f"{lst}: lists {first.name}, but {first} is not there{more}")


def draw_split(
    videos: list[Video], frac: float, seed: int, *, into: str, source: str = "train"
) -> list[Video]:
    """Move about ``frac`` of the ``source`` videos to split ``into``, stratified by label,
    whole ``unit`` groups together (the video itself when it has none)."""
    pool = [v for v in videos if v.split == source]
    if not pool:
        return videos
    stand_in = [Sample(v.group, v.label) for v in pool]
    groups = [v.unit or v.group for v in pool]
    _, taken = split_samples(stand_in, groups, frac, seed, pool[0].path.parent)
    moved = {s.id for s in taken}
    return [dataclasses.replace(v, split=into) if v.group in moved else v for v in videos]


def frame_records(
    root: Path, videos: list[Video], frames_per_video: int
) -> tuple[list[Record], list[dict[str, str]]]:
    """Records of ``frames_per_video`` frames per video; undecodable videos are skips."""
    records, skipped = [], []
    for v in videos:
        rel = v.path.relative_to(root)
        frames = extract_frames(v.path, frames_per_video)
        if not frames:
            skipped.append(skip(rel, "unreadable_video", "OpenCV decoded no frame"))
            continue
        for frame in frames:
            meta = {"video": v.group, "frame": frame.stem, "frame_index": frame_index(frame)}
            records.append(
                Record(frame, v.label, v.split, v.group, v.generator, None, meta | v.meta, v.path)
            )
    return records, skipped


def scan_videos(layout: str, root: Path, videos: list[Video], frames_per_video: int) -> Scan:
    for split in ("train", "test"):
        if not any(v.split == split for v in videos):
            raise DataError(f"{root}: the {layout} lists give no {split} video")
    records, skipped = frame_records(root, videos, frames_per_video)
    return Scan(layout, root, records, skipped)


# --- FaceForensics++ ---------------------------------------------------------------------------

FFPP_METHODS = ("Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures", "FaceShifter")


def _ffpp_split_files(root: Path) -> dict[str, Path]:
    for base in (root / "dataset" / "splits", root / "splits", root):
        found = {s: base / f"{s}.json" for s in SPLITS if (base / f"{s}.json").is_file()}
        if found:
            return found
    return {}


def detect_ffpp(root: Path) -> bool:
    return (root / "original_sequences").is_dir() and bool(_ffpp_split_files(root))


def _ffpp_pairs(path: Path) -> list[tuple[str, str]]:
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from None
    ok = isinstance(data, list) and all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(i, str) for i in p) for p in data
    )
    if not ok:
        raise DataError(f'{path}: expected a list of id pairs such as [["071", "054"], ...]')
    return [(a, b) for a, b in data]


def _ffpp_compression(root: Path, wanted: str | None) -> str:
    base = root / "original_sequences" / "youtube"
    have = sorted(d.name for d in base.iterdir() if d.is_dir()) if base.is_dir() else []
    if wanted is None:
        wanted = "c23" if "c23" in have or len(have) != 1 else have[0]
    if wanted not in have:
        raise DataError(
            f"{base}: no {wanted}/ folder of original videos (found: {', '.join(have) or 'none'}; "
            "--layout ff++-c23, ff++-c40 or ff++-raw choose one)"
        )
    return wanted


def scan_ffpp(
    root: Path,
    frames_per_video: int = FRAMES_PER_VIDEO,
    compression: str | None = None,
    val_frac: float = 0.15,
    seed: int = 0,
) -> Scan:
    """FaceForensics++ videos of every method present, in the splits of the JSON files."""
    files = _ffpp_split_files(root)
    if "train" not in files or "test" not in files:
        raise DataError(
            f"{root}: FaceForensics++ needs train.json and test.json (from the FaceForensics "
            "repository's dataset/splits/) in dataset/splits/, splits/ or the root"
        )
    comp = _ffpp_compression(root, compression)
    originals = root / "original_sequences" / "youtube" / comp / "videos"
    methods = [m for m in FFPP_METHODS if (root / "manipulated_sequences" / m / comp).is_dir()]
    seen: dict[str, Path] = {}
    videos, listed = [], []
    for split, lst in files.items():
        for a, b in _ffpp_pairs(lst):
            pair = f"{a}_{b}"
            for i in (a, b):
                if i in seen:
                    raise DataError(f"{lst}: video {i} is listed again (first in {seen[i].name})")
                seen[i] = lst
                path = originals / f"{i}.mp4"
                listed.append((lst, path))
                group = video_id("ff++", root, path)
                meta = {"pair": pair, "compression": comp}
                videos.append(Video(path, 0, split, group, None, meta, pair))
            for method in methods:
                folder = root / "manipulated_sequences" / method / comp / "videos"
                for target, source in ((a, b), (b, a)):
                    path = folder / f"{target}_{source}.mp4"
                    listed.append((lst, path))
                    meta = {
                        "pair": pair,
                        "compression": comp,
                        "source": video_id("ff++", root, originals / f"{target}.mp4"),
                    }
                    group = video_id("ff++", root, path)
                    videos.append(Video(path, 1, split, group, method, meta, pair))
    require(listed)
    if "val" not in files:  # the published splits have one; a partial copy may not
        videos = draw_split(videos, val_frac, seed, into="val")
    return scan_videos("ff++", root, videos, frames_per_video)


register_layout(
    "ff++",
    detect=detect_ffpp,
    priority=30,
    description="FaceForensics++ videos with its dataset/splits/{train,val,test}.json (c23)",
)(scan_ffpp)


def _variant(comp: str) -> Any:
    """Register a factory that pins the compression as ``ff++-<comp>``."""

    def decorator(fn: Any) -> Any:
        return register_layout(
            f"ff++-{comp}",
            detect=lambda root: False,  # chosen with --layout only
            priority=99,
            description=f"FaceForensics++ at compression {comp} (--layout only)",
        )(fn)

    return decorator


@_variant("c23")
def scan_ffpp_c23(root: Path, frames_per_video: int = FRAMES_PER_VIDEO, seed: int = 0) -> Scan:
    return scan_ffpp(root, frames_per_video, "c23", seed=seed)


@_variant("c40")
def scan_ffpp_c40(root: Path, frames_per_video: int = FRAMES_PER_VIDEO, seed: int = 0) -> Scan:
    return scan_ffpp(root, frames_per_video, "c40", seed=seed)


@_variant("raw")
def scan_ffpp_raw(root: Path, frames_per_video: int = FRAMES_PER_VIDEO, seed: int = 0) -> Scan:
    return scan_ffpp(root, frames_per_video, "raw", seed=seed)


# --- Celeb-DF -----------------------------------------------------------------------------------

CELEB_LIST = "List_of_testing_videos.txt"
CELEB_FOLDERS = {"celeb-real": 0, "youtube-real": 0, "celeb-synthesis": 1}


def _celeb_folders(root: Path) -> dict[Path, int]:
    return {
        d: CELEB_FOLDERS[d.name.lower()]
        for d in sorted(root.iterdir())
        if d.is_dir() and d.name.lower() in CELEB_FOLDERS
    }


def detect_celeb(root: Path) -> bool:
    return (root / CELEB_LIST).is_file() and bool(_celeb_folders(root))


def celeb_label(listed: str) -> int:
    """Our label of a Celeb-DF test-list label: the list says 1 for real, 0 for fake."""
    return {"1": 0, "0": 1}[listed]


def _celeb_video(root: Path, path: Path, label: int, split: str | None) -> Video:
    parts = path.stem.split("_")  # id0_0003 (real), id0_id16_0003 (fake of id0_0003), 00170
    identity = parts[0] if parts[0].startswith("id") else None
    meta: dict[str, Any] = {"identity": identity} if identity else {}
    if label == 1 and len(parts) == 3:
        real = root / "Celeb-real" / f"{parts[0]}_{parts[2]}{path.suffix}"
        meta["source"] = video_id("celeb-df", root, real)
        meta["swapped_in"] = parts[1]
    group = video_id("celeb-df", root, path)
    return Video(
        path, label, split, group, None, meta, f"identity:{identity}" if identity else None
    )


def scan_celeb(
    root: Path, frames_per_video: int = FRAMES_PER_VIDEO, val_frac: float = 0.15, seed: int = 0
) -> Scan:
    """Celeb-DF: the test list, the rest as train, validation drawn from train by identity."""
    lst = root / CELEB_LIST
    folders = {d.name.lower(): (d, lab) for d, lab in _celeb_folders(root).items()}
    videos, listed, test_paths = [], [], set()
    for n, line in enumerate(read_text(lst).splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split(maxsplit=1)
        if len(fields) != 2 or fields[0] not in ("0", "1"):
            raise DataError(
                f"{lst}:{n}: expected '<1 real | 0 fake> <folder>/<file>', got {line!r}"
            )
        label, rel = celeb_label(fields[0]), Path(fields[1].strip().replace("\\", "/"))
        folder = folders.get(rel.parts[0].lower()) if len(rel.parts) > 1 else None
        if folder is None:
            raise DataError(
                f"{lst}:{n}: {rel} is not in Celeb-real/, YouTube-real/ or Celeb-synthesis/"
            )
        path = folder[0].joinpath(*rel.parts[1:])
        if not path.is_file() and folder[0].joinpath("videos", *rel.parts[1:]).is_file():
            path = folder[0].joinpath("videos", *rel.parts[1:])  # a copy with videos/ folders
        if folder[1] != label:
            said = "real" if label == 0 else "fake"
            raise DataError(
                f"{lst}:{n}: {rel} is listed as {said} ({fields[0]}; 1 means real in this "
                f"list) but lies in {folder[0].name}/"
            )
        listed.append((lst, path))
        test_paths.add(path)
        videos.append(_celeb_video(root, path, label, "test"))
    require(listed)
    for d, label in _celeb_folders(root).items():
        for path in sorted(p for p in d.rglob("*.mp4") if p.is_file()):
            if path not in test_paths:
                videos.append(_celeb_video(root, path, label, "train"))
    videos = draw_split(videos, val_frac, seed, into="val")
    return scan_videos("celeb-df", root, videos, frames_per_video)


register_layout(
    "celeb-df",
    detect=detect_celeb,
    priority=30,
    description="Celeb-DF v1/v2 with List_of_testing_videos.txt (1 = real there); rest is train",
)(scan_celeb)
