"""What ``run --executor ray`` costs per cell: Ray's task overhead against a real scoring cell.

A grid cell on Ray is one task: submitted, scheduled on a worker, its result fetched. This
times empty tasks two ways on a local 2-CPU Ray instance: ``batch`` (``n`` submitted together,
then gathered: the grid's scoring chunks) and ``round_trip`` (submit, wait, repeat: a fit
followed by its first chunk). It also times, in this process, what a cheap cell computes:
``fft_spectrum`` scoring 240 small images (as many as the default dataset's test split).
Printed and stored in ``benchmark.extra_info``: milliseconds per task and ``overhead / cell``
for both (goal: well under 1, so a Ray grid of real cells is not dominated by Ray). Nothing
is asserted on seconds (the machine is shared); with the default ``--benchmark-disable`` it
runs one short round.
"""

from __future__ import annotations

import math
import sys
import time

import pytest

from benchmark.plugins import create_detector

pytestmark = pytest.mark.ray
CELL_IMAGES = 240


def _noop(i: int) -> int:
    return i


def test_ray_task_overhead_over_a_scoring_cell(tiny_dataset, benchmark, capsys):
    ray = pytest.importorskip("ray")
    det = create_detector("fft_spectrum", seed=0).fit(tiny_dataset.train, tiny_dataset.val)
    n = 20 if benchmark.disabled else 200
    # as many images as the default dataset's test split (240): one cell of `run --all`
    images = (tiny_dataset.test * (CELL_IMAGES // len(tiny_dataset.test) + 1))[:CELL_IMAGES]

    def cell() -> None:
        det.predict_proba(images)

    cell()  # warm-up
    t0 = time.perf_counter()
    for _ in range(5):
        cell()
    cell_s = (time.perf_counter() - t0) / 5

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers can't import tests
    try:
        task = ray.remote(num_cpus=1)(_noop)
        ray.get([task.remote(i) for i in range(4)])  # start the workers before timing
        t0 = time.perf_counter()
        assert ray.get([task.remote(i) for i in range(n)]) == list(range(n))
        batch_s = (time.perf_counter() - t0) / n
        t0 = time.perf_counter()
        for i in range(n):
            assert ray.get(task.remote(i)) == i
        round_trip_s = (time.perf_counter() - t0) / n
        benchmark.pedantic(lambda: ray.get(task.remote(0)), rounds=3 if benchmark.disabled else 50)
    finally:
        ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
        ray.shutdown()

    info = {
        "cell_ms": cell_s * 1e3,
        "batch_ms_per_task": batch_s * 1e3,
        "round_trip_ms_per_task": round_trip_s * 1e3,
        "batch_over_cell": batch_s / cell_s,
        "round_trip_over_cell": round_trip_s / cell_s,
    }
    benchmark.extra_info.update(info)
    with capsys.disabled():
        print(
            f"\nray: {info['batch_ms_per_task']:.2f} ms per task submitted together, "
            f"{info['round_trip_ms_per_task']:.2f} ms per round trip; a small scoring cell "
            f"({CELL_IMAGES} images, fft_spectrum) {info['cell_ms']:.1f} ms; "
            f"overhead / cell {info['batch_over_cell']:.3f} (batch), "
            f"{info['round_trip_over_cell']:.3f} (round trip)"
        )
    assert all(math.isfinite(v) and v > 0 for v in info.values())
