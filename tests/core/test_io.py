"""Provenance: the compact versions string every fit stores, and the lock digest inside it."""

from __future__ import annotations

from types import SimpleNamespace

from benchmark.core import io


def _fields(text: str) -> dict[str, str]:
    pairs = [part.split("=", 1) for part in text.split(";")]
    assert all(len(p) == 2 and p[0] and p[1] for p in pairs), text
    return dict(pairs)  # type: ignore[arg-type]


def test_package_versions_is_one_compact_cached_string():
    text = io.package_versions()
    assert "\n" not in text and text.startswith("python=")
    fields = _fields(text)
    assert len(fields) == text.count(";") + 1  # no name twice
    for key in ("torch", "numpy", "scipy", "scikit-learn", "pillow", "opencv-contrib-python"):
        assert key in fields, key
    for key in ("dists", "cv2", "blas", "torch_threads", "torch_cpu", "torch_parallel", "cpu"):
        assert fields[key], key
    assert fields["dists"] == io.distributions_digest(io.installed_distributions())
    import cv2
    import torch

    assert fields["cv2"].startswith(f"{cv2.__version__} build ")
    assert fields["torch_threads"].startswith(f"{torch.get_num_threads()}/")
    assert ("gpu" in fields) == torch.cuda.is_available()
    assert io.package_versions() is text  # cached: nothing to pay per fit


def test_lock_parsing_and_digest_ignore_spelling_order_and_unlocked(tmp_path):
    lock = tmp_path / "lock.txt"
    lock.write_text(
        "# header\nPillow==13.0.0\ngrad_cam==1.5.7  # comment\n"
        "triton==3.8.0 ; sys_platform == 'linux'\n-e .\n\nsetuptools==84.2.1\n"
    )
    pins = io.read_lock(lock)
    assert pins == {"pillow": "13.0.0", "grad-cam": "1.5.7", "triton": "3.8.0",
                    "setuptools": "84.2.1"}  # fmt: skip
    same = {"Triton": "3.8.0", "GRAD-CAM": "1.5.7", "pillow": "13.0.0", "pip": "23.2.1",
            "fakebench": "0.1.0"}  # fmt: skip
    assert io.distributions_digest(pins) == io.distributions_digest(same)
    assert io.distributions_digest(pins) != io.distributions_digest(pins | {"pillow": "12.0.0"})
    assert len(io.distributions_digest(pins)) == 10


def test_threadpools_summary_is_sorted_and_unique():
    libs = [
        {"prefix": "libscipy_openblas", "version": "0.3.30", "architecture": "Haswell",
         "num_threads": 2},
        {"prefix": "libgomp", "version": None, "num_threads": 2},
        {"prefix": "libgomp", "version": None, "num_threads": 2},
    ]  # fmt: skip
    assert io._threadpools(libs) == "libgomp 2t,libscipy_openblas 0.3.30 Haswell 2t"
    assert io._threadpools([]) == "none"


def test_values_never_break_the_format():
    assert io._clean("a;b\n c") == "a,b c"
    assert io._cpu_model()


def test_gpu_model_names_each_device_with_cuda_and_cudnn():
    torch = SimpleNamespace(
        cuda=SimpleNamespace(device_count=lambda: 2, get_device_name=lambda i: f"GPU{i}"),
        backends=SimpleNamespace(
            cudnn=SimpleNamespace(is_available=lambda: True, version=lambda: 92400)
        ),
        version=SimpleNamespace(cuda="13.0"),
    )
    assert io._gpu_model(torch) == "GPU0,GPU1 cuda 13.0 cudnn 92400"
