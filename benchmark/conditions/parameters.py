"""The parameter tables of ``benchmark.conditions.corruptions``: one ``Table`` per corruption.

Each ``Table`` holds a corruption's parameters at severities 1-5, its family (OpenForensics'
Test-Challenge grouping, Le et al. 2021: colour, corruption, distortion, external) and its
source: ImageNet-C (Hendrycks & Dietterich 2019; the tables of ``imagecorruptions``, Michaelis
et al. 2019) wherever it defines the corruption, DeeperForensics-1.0 (Jiang et al. 2020,
``perturbation/distortions.py``) for the rest, and fakebench's own rain (ImageNet-C's snow
recipe with Albumentations ``RandomRain``-like streaks). ``ref_side`` is the shorter side (px)
the spatial parameters were set for. Pure data and helpers only;
``benchmark.conditions.corruptions`` re-exports everything here, and its ``VERSION`` must be
bumped whenever a table changes (rendered test sets are cached by it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

IMAGENET_C = "ImageNet-C, Hendrycks & Dietterich 2019 (make_imagenet_c.py = imagecorruptions)"
IMAGECORRUPTIONS = "imagecorruptions, Michaelis et al. 2019 (size-relative ImageNet-C variant)"
DEEPERFORENSICS = "DeeperForensics-1.0, Jiang et al. 2020 (perturbation/distortions.py)"
FAKEBENCH = "fakebench: ImageNet-C snow recipe with Albumentations RandomRain-like streaks"

FAMILIES = ("colour", "corruption", "distortion", "external")


@dataclass(frozen=True)
class Table:
    """Parameters of one corruption at severities 1..5 and where they come from."""

    family: str
    levels: tuple[Any, ...]
    source: str
    ref_side: int | None = None  # spatial parameters were set for this shorter side (px)


TABLES: dict[str, Table] = {
    # name: Table(family, (severity 1, ..., severity 5), source, reference side)
    "gaussian_noise": Table("corruption", (0.08, 0.12, 0.18, 0.26, 0.38), IMAGENET_C),
    "shot_noise": Table("corruption", (60, 25, 12, 5, 3), IMAGENET_C),
    "impulse_noise": Table("corruption", (0.03, 0.06, 0.09, 0.17, 0.27), IMAGENET_C),
    "speckle_noise": Table("corruption", (0.15, 0.2, 0.35, 0.45, 0.6), IMAGENET_C),
    "color_noise": Table("corruption", (0.001, 0.002, 0.005, 0.01, 0.05), DEEPERFORENSICS),
    "gaussian_blur": Table("corruption", (1, 2, 3, 4, 6), IMAGENET_C, 224),
    "defocus_blur": Table(
        "corruption", ((3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5)), IMAGENET_C, 224
    ),
    "motion_blur": Table(
        "corruption", ((10, 3), (15, 5), (15, 8), (15, 12), (20, 15)), IMAGENET_C, 224
    ),
    # glass: (sigma, max shift, rounds); zoom: np.arange(1, stop, step) as (stop, step)
    "glass_blur": Table(
        "corruption",
        ((0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)),
        IMAGENET_C,
        224,
    ),
    "zoom_blur": Table(
        "corruption",
        ((1.11, 0.01), (1.16, 0.01), (1.21, 0.02), (1.26, 0.02), (1.31, 0.03)),
        IMAGENET_C,
    ),
    "df_gaussian_blur": Table("corruption", (7, 9, 13, 17, 21), DEEPERFORENSICS, 256),
    "jpeg": Table("corruption", (25, 18, 15, 10, 7), IMAGENET_C),
    "pixelate": Table("corruption", (0.6, 0.5, 0.4, 0.3, 0.25), IMAGENET_C),
    "df_pixelate": Table("corruption", (2, 3, 4, 5, 6), DEEPERFORENSICS),
    "brightness": Table("colour", (0.1, 0.2, 0.3, 0.4, 0.5), IMAGENET_C),
    "contrast": Table("colour", (0.4, 0.3, 0.2, 0.1, 0.05), IMAGENET_C),
    "df_contrast": Table("colour", (0.85, 0.725, 0.6, 0.475, 0.35), DEEPERFORENSICS),
    "saturation": Table("colour", (0.4, 0.3, 0.2, 0.1, 0.0), DEEPERFORENSICS),
    # HSV saturation * c[0] + c[1]: severities 1-2 desaturate, 3-5 over-saturate
    "saturate": Table("colour", ((0.3, 0), (0.1, 0), (2, 0), (5, 0.1), (20, 0.2)), IMAGENET_C),
    "elastic_transform": Table(
        "distortion", (12.5, 16.25, 21.25, 25.0, 30.0), IMAGECORRUPTIONS, 224
    ),
    "block_wise": Table("distortion", (16, 32, 48, 64, 80), DEEPERFORENSICS, 256),
    # fog: (fractal strength, wibble decay); snow: (mean, std, flake zoom, threshold,
    # streak radius, streak sigma, image weight); rain: (drop density, streak radius,
    # streak brightness, image dimming)
    "fog": Table("external", ((1.5, 2), (2.0, 2), (2.5, 1.7), (2.5, 1.5), (3.0, 1.4)), IMAGENET_C),
    "snow": Table(
        "external",
        (
            (0.1, 0.3, 3, 0.5, 10, 4, 0.8),
            (0.2, 0.3, 2, 0.5, 12, 4, 0.7),
            (0.55, 0.3, 4, 0.9, 12, 8, 0.7),
            (0.55, 0.3, 4.5, 0.85, 12, 8, 0.65),
            (0.55, 0.3, 2.5, 0.85, 12, 12, 0.55),
        ),
        IMAGENET_C,
        224,
    ),
    # frost: (image weight, frost weight); spatter: (mean, std, blur sigma, threshold,
    # strength, mud?)
    "frost": Table(
        "external", ((1, 0.4), (0.8, 0.6), (0.7, 0.7), (0.65, 0.7), (0.6, 0.75)), IMAGENET_C, 224
    ),
    "spatter": Table(
        "external",
        (
            (0.65, 0.3, 4, 0.69, 0.6, 0),
            (0.65, 0.3, 3, 0.68, 0.6, 0),
            (0.65, 0.3, 2, 0.68, 0.5, 0),
            (0.65, 0.3, 1, 0.65, 1.5, 1),
            (0.67, 0.4, 1, 0.65, 1.5, 1),
        ),
        IMAGENET_C,
        224,
    ),
    "rain": Table(
        "external",
        (
            (0.002, 6, 0.35, 0.95),
            (0.004, 8, 0.45, 0.9),
            (0.006, 10, 0.55, 0.85),
            (0.009, 12, 0.65, 0.8),
            (0.012, 14, 0.75, 0.75),
        ),
        FAKEBENCH,
        224,
    ),
}


# Hendrycks & Dietterich 2019, ImageNet-C: the 15 corruptions of the benchmark (its mCE) and
# the 4 held out for validation, in the paper's order; "jpeg" is its "jpeg_compression".
IMAGENET_C_15 = (
    "gaussian_noise",
    "shot_noise",
    "impulse_noise",
    "defocus_blur",
    "glass_blur",
    "motion_blur",
    "zoom_blur",
    "snow",
    "frost",
    "fog",
    "brightness",
    "contrast",
    "elastic_transform",
    "pixelate",
    "jpeg",
)
IMAGENET_C_EXTRA = ("speckle_noise", "gaussian_blur", "spatter", "saturate")


def parameter_table() -> list[dict[str, Any]]:
    """One row per corruption: name, family, severity 1-5 parameters, reference side, source."""
    return [
        {
            "name": n,
            "family": t.family,
            **{f"s{i + 1}": v for i, v in enumerate(t.levels)},
            "ref_side": t.ref_side,
            "source": t.source,
        }
        for n, t in TABLES.items()
    ]
