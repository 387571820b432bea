"""The JPEG quality a stored file was saved at, estimated from its quantisation tables.

A JPEG file carries the quantisation tables its encoder used (Pillow exposes them as
``Image.quantization``; reading them decodes the header only, never the pixels). Encoders
built on the IJG's libjpeg (Pillow's and OpenCV's among them) derive their tables from
the standard luminance table at quality 50 (libjpeg ``jcparam.c``), scaled by
``5000 / quality`` below quality 50 and by ``200 - 2·quality`` above it. ``ijg_quality``
inverts that scaling from the mean of a luma table, which is insensitive to the entry order
(zigzag or row-major); for tables of another encoder it gives the closest IJG quality.

Datasets whose real and fake images were saved at different qualities leak their labels
through the file: ``datasets check`` (``benchmark.engine.audit``) reports the estimate per
class and the ``metadata_baseline`` detector uses it as one of its storage features.
"""

from __future__ import annotations

import numpy as np

#: IJG's standard luminance table at quality 50 (libjpeg ``jcparam.c``), row-major.
IJG_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69,
    56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81,
    104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
], dtype=np.float64)  # fmt: skip


def ijg_quality(luma: np.ndarray) -> float:
    """Quality 1..100 whose IJG scaling is closest to ``luma`` (order-insensitive mean ratio).

    Args:
        luma: the 64 entries of a file's luminance quantisation table, in any order.
    """
    scale = 100.0 * np.mean(luma) / np.mean(IJG_LUMA)  # libjpeg: table = base * scale / 100
    quality = (200.0 - scale) / 2.0 if scale <= 100 else 5000.0 / scale
    return float(np.clip(quality, 1.0, 100.0))
