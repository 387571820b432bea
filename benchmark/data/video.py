"""Layout ``video``: FaceForensics++-style videos, ``frames_per_video`` frames each.

Labels come from the path: a folder named like a class (``real``/``fake``, ``0-*``/``1-*``,
see ``folders``), or FaceForensics++'s ``original_sequences`` (real) and
``manipulated_sequences/<method>`` (fake, generator = method; Rössler et al. 2019). Frames are
sampled evenly over the video — ``np.linspace(0, frames - 1, frames_per_video)`` rounded down,
32 by default, the rule and count of DeepfakeBench (Yan et al., "DeepfakeBench: A Comprehensive
Benchmark of Deepfake Detection", 2023) — decoded in order with OpenCV (``cv2.VideoCapture``)
and written once as PNG to ``<cache>/frames/`` (keyed by the video's path, size, mtime and the
count). Train and test use the same count. The group is the video, so all
frames of one video land in one split; in FaceForensics++ it is the target video's number
(``000_003.mp4`` is a fake of ``000.mp4``), so a fake never sits in another split than the
original it was made from. Split folders in the path give the splits.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from benchmark.core.samples import IMAGE_SUFFIXES, cache_dir
from benchmark.data.checks import skip
from benchmark.data.folders import SPLIT_NAMES, class_of
from benchmark.data.manifest import Record, Scan
from benchmark.registry import register_layout

VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v"}


def _videos(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())


def detect(root: Path) -> bool:
    """More videos than images among the first 1000 files (a stray clip is no video set)."""
    videos = images = 0
    for i, p in enumerate(root.rglob("*")):
        suffix = p.suffix.lower()
        videos += suffix in VIDEO_SUFFIXES
        images += suffix in IMAGE_SUFFIXES
        if i >= 1000:
            break
    return videos > images


def label_of(rel: Path) -> tuple[int, str | None] | None:
    """(label, generator) from a video's path below the root, or None."""
    parts = rel.parts[:-1]
    for i, part in enumerate(parts):
        low = part.lower()
        if low == "original_sequences":
            return 0, None
        if low == "manipulated_sequences":
            return 1, parts[i + 1] if i + 1 < len(parts) else None
        hit = class_of(part)
        if hit is not None:
            rest = parts[i + 1 :]
            return hit[0], hit[1] or (rest[0] if rest else None)
    return None


FRAMES_PER_VIDEO = 32
_FRAMES_VERSION = "linspace-1"  # part of the cache key: a new sampling rule re-extracts


def frame_indices(total: int, n: int) -> list[int]:
    """The ``n`` frame indices evenly spaced over ``total`` frames, first and last included
    (``np.linspace``, rounded down; fewer when the video has fewer than ``n`` frames)."""
    import numpy as np

    if total <= 0 or n <= 0:
        return []
    return sorted({int(i) for i in np.linspace(0, total - 1, n)})


def _frame_count(cap: Any, cv2: Any) -> int:
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    if total > 0:
        return total
    while cap.grab():  # a container without a frame count: count by decoding once
        total += 1
    cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
    return total


def extract_frames(video: Path, n: int = FRAMES_PER_VIDEO) -> list[Path] | None:
    """``n`` frames evenly spaced over ``video`` as cached PNGs; None if it cannot be decoded.

    Frames are decoded in order (``grab`` every frame, ``retrieve`` the chosen ones) rather
    than by seeking: OpenCV's seek lands on key frames with some codecs and builds, and the
    same video must give the same frames everywhere. File names are ``<k>-f<index>.png``.
    """
    import cv2

    st = video.stat()
    key = f"{video.resolve()}|{st.st_size}|{st.st_mtime_ns}|{n}|{_FRAMES_VERSION}"
    folder = cache_dir() / "frames" / hashlib.sha1(key.encode()).hexdigest()[:20]
    done = folder / "done"
    if done.is_file():
        return sorted(folder.glob("*.png"))
    folder.mkdir(parents=True, exist_ok=True)
    cap = cv2.VideoCapture(str(video))
    out = []
    try:
        wanted = frame_indices(_frame_count(cap, cv2), n) if cap.isOpened() else []
        position = 0
        for index in wanted:
            while position < index and cap.grab():
                position += 1
            ok, frame = cap.read() if position == index else (False, None)
            position += 1
            if not ok or frame is None:
                break  # the count overstated the video: keep the frames read so far
            path = folder / f"{len(out):03d}-f{index:06d}.png"
            cv2.imwrite(str(path), frame)
            out.append(path)
    finally:
        cap.release()
    if not out:
        return None
    done.touch()
    return out


def frame_index(frame: Path) -> int:
    """The video frame index of a frame file written by :func:`extract_frames`."""
    return int(frame.stem.rsplit("-f", 1)[1])


@register_layout(
    "video",
    detect=detect,
    priority=50,
    description="videos (FaceForensics++ or real/ fake/ folders): N frames per video",
)
def scan(root: Path, frames_per_video: int = FRAMES_PER_VIDEO) -> Scan:
    """Records of ``frames_per_video`` frames of every labelled video (group: the video)."""
    records, skipped = [], []
    for video in _videos(root):
        rel = video.relative_to(root)
        hit = label_of(rel)
        if hit is None:
            skipped.append(skip(rel, "bad_label", "no real/fake folder in the path"))
            continue
        frames = extract_frames(video, frames_per_video)
        if not frames:
            skipped.append(skip(rel, "unreadable_video", "OpenCV decoded no frame"))
            continue
        group = str(rel)
        if any(p.lower().endswith("_sequences") for p in rel.parts):
            group = "ffpp:" + re.split(r"[_.]", video.name)[0]
        split = next((SPLIT_NAMES[p.lower()] for p in rel.parts if p.lower() in SPLIT_NAMES), None)
        for frame in frames:
            records.append(
                Record(
                    frame,
                    hit[0],
                    split,
                    group=group,
                    generator=hit[1],
                    meta={"video": str(rel), "frame": frame.stem},
                    origin=video,
                )
            )
    return Scan("video", root, records, skipped)
