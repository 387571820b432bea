"""Metadata baseline: separates JPEG qualities without pixels; files only; never crashes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from benchmark.core.samples import DataError, Sample
from benchmark.plugins import create_detector
from benchmark.protocol import NotApplicableError
from detectors.classical.metadata_baseline import N_FEATURES, file_features


def _save_split(root, name: str, n: int, rng) -> list[Sample]:
    out = []
    for i in range(n):
        label = i % 2
        img = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
        path = root / f"{name}_{i}.jpg"
        Image.fromarray(img).save(path, quality=95 if label else 60)  # fakes saved "better"
        out.append(Sample(f"{name}{i}", label, path))
    return out


def test_separates_jpeg_qualities(tmp_path) -> None:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    train, test = _save_split(tmp_path, "tr", 16, rng), _save_split(tmp_path, "te", 12, rng)
    det = create_detector("metadata_baseline").fit(train)
    scores = det.predict_proba(test)[:, 1]
    assert roc_auc_score([s.label for s in test], scores) > 0.99


def test_in_memory_samples_are_not_applicable(tmp_path) -> None:
    rng = np.random.default_rng(0)
    mem = [
        Sample(f"m{i}", i % 2, None, {}, rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
        for i in range(4)
    ]
    with pytest.raises(NotApplicableError, match="in-memory"):
        create_detector("metadata_baseline").fit(mem)
    det = create_detector("metadata_baseline").fit(_save_split(tmp_path, "tr", 8, rng))
    with pytest.raises(NotApplicableError):
        det.predict_proba(mem)


def test_features_by_format(tmp_path) -> None:
    img = Image.fromarray(np.zeros((20, 10, 3), np.uint8))
    img.save(tmp_path / "a.png")
    img.save(tmp_path / "b.jpg", quality=75, subsampling=0)
    png, jpg = file_features(tmp_path / "a.png"), file_features(tmp_path / "b.jpg")
    assert png.shape == jpg.shape == (N_FEATURES,)
    assert png[1] == 1 and jpg[0] == 1  # one-hot format
    assert np.all(png[6:134] == 0) and np.all(jpg[6:134] > 0)  # quantisation tables
    assert jpg[135] == pytest.approx(0.75, abs=0.02)  # IJG quality estimate
    with pytest.raises(DataError, match="missing.jpg"):
        file_features(tmp_path / "missing.jpg")


def _jpeg_bytes() -> bytes:
    import io

    buf = io.BytesIO()
    Image.fromarray(np.full((16, 16, 3), 90, np.uint8)).save(buf, format="JPEG", quality=80)
    return buf.getvalue()


VALID = _jpeg_bytes()


@settings(deadline=None, max_examples=40)
@given(
    st.one_of(
        st.binary(max_size=512),
        st.binary(max_size=64).map(lambda b: b"\xff\xd8\xff\xe0" + b),
        st.binary(max_size=64).map(lambda b: b"\x89PNG\r\n\x1a\n" + b),
        st.integers(0, len(VALID)).map(lambda n: VALID[:n]),
    )
)  # truncated real JPEGs
def test_arbitrary_bytes_give_features_or_data_error(tmp_path_factory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("bytes") / "blob.jpg"
    path.write_bytes(data)
    try:
        feats = file_features(path)
    except DataError as exc:
        assert "blob.jpg" in str(exc)
    else:
        assert feats.shape == (N_FEATURES,) and np.all(np.isfinite(feats))
