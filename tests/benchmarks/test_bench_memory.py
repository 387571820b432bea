"""Memory flat in N: peak RSS of loading ``default`` and of each classical detector, N vs 4N.

Every measurement is a fresh interpreter (``python -c``) that loads the default dataset of N
images and, for a detector, fits it on train + val and scores test with a cold feature cache;
its peak resident set size, worker processes included, is reported by the child itself (its
VmHWM and its reaped workers' ru_maxrss; what ``/usr/bin/time -v`` reports as "Maximum
resident set size"; the kernel's ru_maxrss of the child, seen from pytest, would start at
pytest's own RSS and hide every difference in a long test session). tracemalloc would not do: numpy,
OpenCV and libsvm allocate outside it. The datasets are built beforehand, in another process.

Printed per target: the peaks at N and 4N, their ratio (goal <= 1.25) and the growth per
image, ``(peak(4N) - peak(N)) / 3N``, which does not depend on the interpreter's baseline
(printed too: ``load``, which imports what every detector uses). The ratio is asserted only
where it is robust: the targets in ``ASSERTED``, whose per-image memory used to dominate the
peak at these sizes (all dense SIFT descriptors at once: about 0.4 MB per 128-px image; every
image's FFT at once: about 0.7 MB), so holding per-image data again fails clearly.

With the default ``--benchmark-disable`` it measures loading and three detectors at 200 vs 800
images of 128 px (about 40 s on a busy 2-core machine, most of it starting interpreters);
``pytest tests/benchmarks --benchmark-enable`` measures every classical detector at 1200 vs
4800 images (about 10 minutes).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CHEAP = ("load", "fft_spectrum", "metadata_baseline", "sift_svm")
FULL = (*CHEAP, "sift_rf", "harris_retrieval_l2", "harris_retrieval_cos", "fft_spectrum_svm")
ASSERTED = ("fft_spectrum", "sift_svm", "sift_rf")
GOAL = 1.25

# argv: target ("load" or a detector name), n_images
CHILD = """
import sys
target, n = sys.argv[1], int(sys.argv[2])
import numpy, cv2, sklearn.svm, sklearn.cluster, sklearn.ensemble, joblib
from benchmark.data import load_dataset
from benchmark.plugins import create_detector
ds = load_dataset("default", n_images=n)
if target != "load":
    det = create_detector(target, seed=0).fit(ds.train, ds.val)
    assert det.predict_proba(ds.test).shape == (len(ds.test), 2)
    from joblib.externals.loky import get_reusable_executor
    get_reusable_executor().shutdown(wait=True)  # workers reaped: their peak counts as well
# The child's own high-water mark (VmHWM: per address space, so it starts afresh at exec; the
# kernel's ru_maxrss of a child would start at the RSS of the pytest process that forked it)
# and that of its reaped workers (forked from this small process).
import resource
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print("PEAK_KIB", max(hwm, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
"""


def peak_kib(target: str, n: int, cache: Path, datasets: Path) -> int:
    """Peak RSS (KiB) of one fresh process measuring ``target`` on ``n`` images, cold cache."""
    cache.mkdir(parents=True)
    (cache / "datasets").symlink_to(datasets, target_is_directory=True)
    env = os.environ | {"FAKEBENCH_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, target, str(n)], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, f"{target} on {n} images failed:\n{proc.stderr[-3000:]}"
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("PEAK_KIB"))
    return int(line.split()[1])  # KiB: the child's and its workers' peak, not the parent's


def build(n: int, datasets: Path) -> None:
    """Build the default dataset of ``n`` images under ``datasets`` (not measured)."""
    env = os.environ | {"FAKEBENCH_CACHE": str(datasets.parent)}
    code = f"from benchmark.data import load_dataset; load_dataset('default', n_images={n})"
    subprocess.run([sys.executable, "-c", code], env=env, check=True)


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="VmHWM needs Linux /proc")
def test_peak_memory_flat_in_n(benchmark, capsys, tmp_path) -> None:
    full = not benchmark.disabled
    n, targets = (1200, FULL) if full else (200, CHEAP)
    datasets = tmp_path / "shared" / "datasets"
    peaks: dict[str, dict[int, int]] = {}

    def measure() -> None:
        for size in (n, 4 * n):
            build(size, datasets)
        for target in targets:
            peaks[target] = {
                size: peak_kib(target, size, tmp_path / f"{target}-{size}", datasets)
                for size in (n, 4 * n)
            }

    benchmark.pedantic(measure, rounds=1, iterations=1)
    base = peaks["load"][n]
    lines = [f"baseline (imports, N images loaded): {base / 1024:.0f} MiB; goal ratio <= {GOAL}"]
    ratios, failures = {}, []
    for target, at in peaks.items():
        ratios[target] = at[4 * n] / at[n]
        per_image = (at[4 * n] - at[n]) / (3 * n)
        mib = at[n] / 1024, at[4 * n] / 1024
        lines.append(
            f"{target:20} N={n:5} {mib[0]:6.0f} MiB   4N={4 * n:5} {mib[1]:6.0f} MiB"
            f"   ratio {ratios[target]:.2f}   {per_image:+7.1f} KiB/image"
        )
        if target in ASSERTED and ratios[target] > GOAL:
            failures.append(lines[-1])
    benchmark.extra_info.update({"peak_kib": peaks, "ratio": ratios, "baseline_kib": base})
    with capsys.disabled():
        print("\npeak RSS, N vs 4N images (default dataset, 128 px):\n" + "\n".join(lines))
    assert not failures, f"peak memory grows with the images (> {GOAL}x at 4N):\n" + "\n".join(
        failures
    )
