"""Harness overhead: fakebench's ``time_model`` against a bare ``torch.utils.benchmark`` timing.

All time the same forward pass of the same model on one thread (with more, a busy shared machine
turns OpenMP spin-waits into noise far above any harness overhead), in alternating rounds so a
change in load hits each alike; ratios are paired per round. ``overhead_ratio`` compares our
per-call median with the median of ``Timer.timeit(1)`` calls (both per-call samples);
``overhead_ratio_of_means`` our mean with ``blocked_autorange``'s (whose median is of block
means, so only its mean is comparable). Goal: <= 1.05. pytest-benchmark times the same forward
a third way. Ratios are printed and stored in ``benchmark.extra_info``, never asserted beyond
being finite. With the default ``--benchmark-disable`` this runs one short round as a plain
test; ``pytest tests/benchmarks --benchmark-enable`` measures for real.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
import torch
from torch.utils.benchmark import Timer

from benchmark.engine.timing import time_model, torch_threads

SIZE = 64


def make_model(name: str) -> torch.nn.Module:
    if name == "mobilenet_v3_small":
        from torchvision.models import mobilenet_v3_small

        return mobilenet_v3_small(weights=None, num_classes=2).eval()
    return torch.nn.Sequential(  # a tiny net: per-call overhead weighs the most here
        torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(16, 16, 3, 2, 1),
        torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(16, 2),
    ).eval()  # fmt: skip


@pytest.mark.parametrize("name", ["tiny_cnn", "mobilenet_v3_small"])
def test_timing_overhead_vs_torch_utils_benchmark(benchmark, capsys, name: str) -> None:
    model = make_model(name)
    x = torch.randn(1, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(0))
    enabled = not benchmark.disabled
    rounds, run_time = (9, 0.5) if enabled else (1, 0.05)
    timer = Timer("model(x)", globals={"model": model, "x": x}, num_threads=1)
    stats = []  # per round: our p50 and mean, Timer per-call median, block mean, block size
    with torch.inference_mode(), torch_threads(1):
        timer.timeit(3)  # warm-up, as time_model does its own
        for _ in range(rounds):
            row = time_model(
                model, batch=1, image_size=SIZE, warmup=3, iters=100_000, budget_s=run_time,
                memory=False, num_threads=1,
            )  # fmt: skip
            calls, stop = [], time.perf_counter() + run_time
            while time.perf_counter() < stop or len(calls) < 5:
                calls.append(timer.timeit(1).times[0] * 1e3)
            m = timer.blocked_autorange(min_run_time=run_time)
            stats.append((row["latency_ms_p50"], row["latency_ms_mean"], np.median(calls),
                          m.mean * 1e3, m.number_per_run))  # fmt: skip
        benchmark.group = "timing-overhead"
        benchmark.extra_info.update(model=name, batch=1, image_size=SIZE, device="cpu", threads=1)
        benchmark(model, x)
    p50, mean, bare_median, bare_mean, block = np.asarray(stats).T
    ratio = float(np.median(p50 / bare_median))
    info = {
        "fakebench_p50_ms": float(np.median(p50)),
        "torch_benchmark_median_ms": float(np.median(bare_median)), "overhead_ratio": ratio,
        "overhead_ratio_of_means": float(np.median(mean / bare_mean)), "rounds": rounds,
        "timer_calls_per_block": float(np.median(block)),
    }  # fmt: skip
    if enabled and benchmark.stats is not None:
        info["pytest_benchmark_median_ms"] = benchmark.stats.stats.median * 1e3
        info["pytest_benchmark_ratio"] = info["pytest_benchmark_median_ms"] / np.median(bare_median)
    benchmark.extra_info.update(info)
    with capsys.disabled():
        print(f"\n[timing overhead] {name} batch 1 {SIZE}px: " + ", ".join(
            f"{k}={v:.4g}" for k, v in info.items()))  # fmt: skip
    assert math.isfinite(ratio) and ratio > 0
