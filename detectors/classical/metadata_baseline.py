"""The shortcut alarm: a detector that never looks at pixels, only at how each file was stored.

If real and fake images of a dataset were saved differently (another JPEG quality, format,
size, EXIF, chroma subsampling), a classifier can "detect fakes" from the container alone —
and a pixel detector may be learning the same shortcut. This baseline measures that risk: a
high score here means the dataset leaks its labels through storage, not through content.

Features per file, read with Pillow from the header only (pixels are never decoded):
format (one-hot), JPEG quantisation tables (``im.quantization``: log of the 64 luma and 64
chroma entries, zeros and a flag when absent), the IJG quality they imply
(``benchmark.data.jpeg.ijg_quality``), chroma subsampling (``JpegImagePlugin.get_sampling``),
progressive encoding, bytes per pixel (file size / (w·h)), width, height, mode (grey / alpha /
palette), EXIF and ICC presence. They are standardised and fed to a logistic regression.
In-memory samples (no file) are not applicable.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import ClassVar

import numpy as np

from benchmark.core.samples import DataError, Sample
from benchmark.data.jpeg import ijg_quality
from benchmark.protocol import BaseDetector, NotApplicableError
from benchmark.registry import register_detector

FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "TIFF")
N_FEATURES = len(FORMATS) + 1 + 2 * 64 + 1 + 1 + 4 + 1 + 5 + 3 + 2


def file_features(path: str | Path) -> np.ndarray:
    """Storage features of one image file (``N_FEATURES`` floats).

    Raises:
        DataError: naming the file, when it is missing or not an image Pillow can parse.
    """
    from PIL import Image, JpegImagePlugin

    path = Path(path)
    try:
        n_bytes = path.stat().st_size
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DecompressionBombWarning etc.: header only here
            with Image.open(path) as im:
                fmt, (w, h), mode, info = im.format or "", im.size, im.mode, dict(im.info)
                quant = {
                    int(k): list(v) for k, v in (getattr(im, "quantization", None) or {}).items()
                }
                sampling = JpegImagePlugin.get_sampling(im) if fmt == "JPEG" else -1
                has_exif = bool(info.get("exif")) or len(im.getexif()) > 0
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except Exception as exc:  # Pillow raises many types on malformed headers; all mean one thing
        raise DataError(
            f"{path}: cannot read image metadata ({type(exc).__name__}: {exc})"
        ) from None
    if w <= 0 or h <= 0:
        raise DataError(f"{path}: image has an empty size {w}x{h}")
    tables = np.zeros((2, 64))
    for slot, key in enumerate(sorted(quant)[:2]):
        values = np.asarray(quant[key][:64], dtype=np.float64)
        tables[slot, : len(values)] = values
    if len(quant) == 1:
        tables[1] = tables[0]  # greyscale JPEG: one table serves both
    feats = [float(fmt == f) for f in FORMATS] + [float(fmt not in FORMATS)]
    feats += list(np.log1p(tables.reshape(-1)))
    feats += [float(bool(quant)), ijg_quality(tables[0]) / 100.0 if quant else 0.0]
    feats += [float(sampling == s) for s in (-1, 0, 1, 2)]
    feats += [float(bool(info.get("progressive") or info.get("progression")))]
    feats += [
        math.log(n_bytes / (w * h) + 1e-6),
        math.log(w),
        math.log(h),
        math.log(w / h),
        float(w * h < 4096),
    ]
    feats += [float(mode in ("L", "LA", "I", "I;16", "1")), float("A" in mode), float(mode == "P")]
    feats += [float(has_exif), float(bool(info.get("icc_profile")))]
    out = np.asarray(feats, dtype=np.float64)
    assert out.shape == (N_FEATURES,)
    return out


class MetadataBaseline(BaseDetector):
    """File-storage features → StandardScaler + logistic regression (no pixels)."""

    #: Tried by ``run --tune N`` on the validation split (``benchmark.engine.tuning``).
    search_space: ClassVar[dict[str, tuple]] = {"C": (0.01, 0.1, 1.0, 10.0)}

    def __init__(self, C: float = 1.0, seed: int = 0):
        self.C = C
        self.seed = seed

    def _features(self, samples: list[Sample], stage: str) -> np.ndarray:
        missing = [s.id for s in samples if s.path is None]
        if missing:
            raise NotApplicableError(
                f"metadata_baseline reads how each file was stored, but {len(missing)} of "
                f"{len(samples)} {stage} samples are in-memory pixels without a file "
                f"(first: {missing[0]!r}); it only applies to datasets loaded from files"
            )
        return np.stack([file_features(s.path) for s in samples])

    def _fit(self, train: list[Sample], val: list[Sample] | None) -> None:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        x = self._features(train, "training")
        y = np.array([s.label for s in train])
        clf = LogisticRegression(C=self.C, max_iter=5000, random_state=self.seed)
        self.model_ = make_pipeline(StandardScaler(), clf).fit(x, y)

    def _predict_fake(self, samples: list[Sample]) -> np.ndarray:
        return self.model_.predict_proba(self._features(samples, "query"))[:, 1]

    def n_parameters(self) -> int:
        return 3 * N_FEATURES + 1

    def cost_info(self) -> dict[str, object]:
        return {"feature": f"{N_FEATURES} file-header numbers (no pixel decoding)"}


@register_detector(
    family="baseline",
    paper="none (a shortcut check): storage metadata only (JPEG tables, size, format, EXIF)",
    input_size=None,
    normalisation="none (pixels never read)",
    needs_files=True,
    min_side=1,  # reads the stored file's header, never its pixels: any size will do
)
def metadata_baseline(**kw):
    """Never looks at pixels: JPEG tables, bytes/pixel, size, format, EXIF → logistic regression."""
    return MetadataBaseline(**kw)
