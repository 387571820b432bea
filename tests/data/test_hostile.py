"""Hostile files never sink a run: skipped with a reason and counted; odd modes converted."""

from __future__ import annotations

import csv
import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from benchmark.core.samples import DataError, read_image
from benchmark.data import load_folder
from benchmark.data.checks import check_file


def _png_header_only(path: Path, width: int, height: int) -> None:
    """A valid PNG signature + IHDR claiming ``width`` x ``height``, then a tiny IDAT."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 16)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def _modes(folder: Path) -> dict[str, Path]:
    """One image per awkward mode, all 32x48 (EXIF-rotated: stored 48x32, rotated on load)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 256, (48, 32, 3), dtype=np.uint8))
    out = {
        "gray": (rgb.convert("L"), "png"),
        "palette": (rgb.convert("P"), "png"),
        "rgba": (rgb.convert("RGBA"), "png"),
        "cmyk": (rgb.convert("CMYK"), "jpg"),
        "sixteen": (Image.fromarray(np.asarray(rgb.convert("L")).astype(np.uint16) * 257), "png"),
    }
    paths = {}
    for name, (im, fmt) in out.items():
        paths[name] = folder / f"{name}.{fmt}"
        im.save(paths[name])
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    paths["exif"] = folder / "exif.jpg"
    rgb.transpose(Image.Transpose.ROTATE_90).save(paths["exif"], exif=exif.tobytes())
    return paths


def hostile_dataset(root: Path) -> dict[str, int]:
    """A datalist dataset of good images salted with every hostile case; expected skips."""
    rng = np.random.default_rng(1)
    lines = {"train": [], "val": [], "test": []}
    for split, n in (("train", 12), ("val", 6), ("test", 6)):
        for i in range(n):
            for label in (0, 1):
                p = root / split / f"{label}_{i}.png"
                p.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(p)
                lines[split].append(f"{p.relative_to(root)} {label}")
    bad = root / "train" / "bad"
    bad.mkdir()
    (bad / "zero.jpg").write_bytes(b"")
    good = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(good, "JPEG")
    (bad / "truncated.jpg").write_bytes(good.getvalue()[: len(good.getvalue()) // 2])
    (bad / "text.png").write_text("I am not an image")
    _png_header_only(bad / "bomb.png", 100_000, 100_000)
    Image.new("RGB", (4, 4)).save(bad / "tiny.png")
    outside = root.parent / "outside.png"
    Image.new("RGB", (32, 32)).save(outside)
    names = ["zero.jpg", "truncated.jpg", "text.png", "bomb.png", "tiny.png"]
    lines["train"] += [f"train/bad/{n} {i % 2}" for i, n in enumerate(names)]
    lines["train"] += ["../outside.png 0", "train/missing.png 1", "train/0_0.png 1"]  # conflict
    lines["train"] += ["this line has no label", "train/0_1.png 7"]
    modes = _modes(root / "train" / "modes")
    lines["train"] += [f"{p.relative_to(root)} 0" for p in modes.values()]
    for split, ls in lines.items():
        (root / f"{split}.txt").write_text("\n".join(ls) + "\n")
    return {
        "zero_byte": 1,
        "corrupt": 1,
        "not_an_image": 1,
        "decompression_bomb": 1,
        "too_small": 1,
        "outside_root": 1,
        "missing": 1,
        "conflicting_label": 1,
        "bad_label": 2,
    }


def test_hostile_files_are_skipped_with_a_reason_and_counted(tmp_path):
    expected = hostile_dataset(tmp_path / "ds")
    ds = load_folder(tmp_path / "ds")
    assert ds.skip_counts() == expected
    assert all(item["file"] and item["detail"] for item in ds.skipped)
    ids = {s.id for s in ds.train + ds.val}
    assert "train/0_0.png" not in ids  # listed as real and as fake: never silently relabelled
    for name in ("gray", "palette", "rgba", "cmyk", "sixteen", "exif"):
        sample = next(
            s
            for s in ds.train + ds.val
            if s.id.endswith(f"modes/{name}.png") or s.id.endswith(f"modes/{name}.jpg")
        )
        pixels = sample.load()
        assert pixels.dtype == np.uint8 and pixels.shape == (48, 32, 3), name


def test_hostile_fixture_scores_end_to_end(tmp_path, capsys):
    from benchmark.cli import main

    hostile_dataset(tmp_path / "ds")
    code = main(
        [
            "run",
            "-d",
            "fft_spectrum,metadata_baseline",
            "--dataset",
            str(tmp_path / "ds"),
            "--corruptions",
            "none",
            "--resolutions",
            "none",
            "--no-timing",
            "--out",
            str(tmp_path / "runs"),
            "--results",
            str(tmp_path / "res"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "10 file(s) skipped" in out and "decompression_bomb 1" in out
    with (tmp_path / "res" / "ds" / "skipped.csv").open() as fh:
        counts = {r["reason"]: int(r["count"]) for r in csv.DictReader(fh)}
    assert counts["zero_byte"] == 1 and sum(counts.values()) == 10
    rows = next((tmp_path / "runs").glob("*/runs/*/rows.csv")).read_text()
    assert rows.count("roc_auc") >= 2 and ",error," not in rows


def test_sixteen_bit_is_scaled_not_clipped(tmp_path):
    path = tmp_path / "x.png"
    Image.fromarray(np.full((8, 8), 32768, np.uint16)).save(path)
    assert read_image(path)[0, 0, 0] == 128  # Pillow's convert("RGB") would give 255


def test_bomb_guard_runs_before_decoding(tmp_path):
    _png_header_only(tmp_path / "b.png", 50_000, 50_000)
    assert check_file(tmp_path / "b.png")["reason"] == "decompression_bomb"
    with pytest.raises(DataError, match="b.png.*decompression-bomb"):
        read_image(tmp_path / "b.png")


def _good_pairs(root: Path) -> list[str]:
    rng = np.random.default_rng(2)
    names = []
    for i in range(6):
        for label in (0, 1):
            p = root / f"{label}_{i}.png"
            Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(p)
            names.append(f"{p.name} {label}")
    return names


_NAME = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"),
    min_size=1,
    max_size=20,
).filter(lambda s: s not in (".", ".."))


@pytest.mark.parametrize("target", ["train.txt", "data.csv", "Train_poly.json", "label.txt"])
@given(blob=st.binary(max_size=300))
def test_parsers_on_arbitrary_bytes_give_data_error_or_counted_skips(
    tmp_path_factory, target, blob
):
    root = tmp_path_factory.mktemp("fuzz")
    _good_pairs(root)
    if target == "label.txt":  # a YOLO label file beside an image
        (root / "0_0.txt").write_bytes(blob)
    else:
        (root / target).write_bytes(blob)
    try:
        ds = load_folder(
            root,
            layout={
                "train.txt": "datalist",
                "data.csv": "csv",
                "Train_poly.json": "coco",
                "label.txt": "yolo",
            }[target],
        )
    except DataError:
        return
    assert all(item["reason"] for item in ds.skipped)


@given(names=st.lists(_NAME, min_size=1, max_size=4, unique=True), blob=st.binary(max_size=64))
def test_arbitrary_file_names_and_contents(tmp_path_factory, names, blob):
    root = tmp_path_factory.mktemp("names")
    lines = _good_pairs(root)
    written = []
    for n in names:
        try:
            (root / n).write_bytes(blob)
        except OSError:  # a name this file system refuses is no input we can get
            continue
        written.append(n)
    (root / "train.txt").write_text(
        "\n".join(lines + [f"{n} 1" for n in written]), encoding="utf-8", errors="surrogateescape"
    )
    try:
        ds = load_folder(root, layout="datalist")
    except DataError:
        return
    assert len(ds.train + ds.val + ds.test) + len(ds.skipped) >= 12
