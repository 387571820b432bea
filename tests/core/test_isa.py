"""The AVX2 cap of ``benchmark/__init__.py``: on an AVX-512 CPU, importing ``benchmark`` first
sets each library's switch, so numpy, OpenCV and torch compute with the kernels an AVX2 machine
has (the published default dataset was once built with AVX-512 kernels no AVX2 machine could
match). Checked in a fresh interpreter whose ``/proc/cpuinfo`` says ``avx512f``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import benchmark

PROBE = """
import builtins, io, json, os, sys
real_open = builtins.open
def fake_open(path, *a, **k):
    if path == "/proc/cpuinfo":
        return io.StringIO("processor : 0\\nflags : fpu sse2 avx2 avx512f avx512bw\\n")
    return real_open(path, *a, **k)
builtins.open = fake_open
import benchmark
builtins.open = real_open
print(json.dumps({"capped": benchmark.ISA_CAPPED,
                  "env": {k: os.environ.get(k) for k in benchmark.ISA_CAP}}))
"""


def _probe(**env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if k not in benchmark.ISA_CAP}
    clean.pop("FAKEBENCH_NATIVE_ISA", None)
    out = subprocess.run([sys.executable, "-c", PROBE], env=clean | env, check=True,
                         capture_output=True, text=True).stdout  # fmt: skip
    return json.loads(out.strip().splitlines()[-1])


def test_an_avx512_cpu_gets_every_library_capped_at_avx2():
    got = _probe()
    assert got["capped"] is True
    assert got["env"] == benchmark.ISA_CAP
    assert "X86_V4" in got["env"]["NPY_DISABLE_CPU_FEATURES"]  # numpy >= 2's AVX-512 group
    assert got["env"]["ATEN_CPU_CAPABILITY"] == "avx2"


def test_the_cap_can_be_lifted_and_never_overrides_a_users_setting():
    assert _probe(FAKEBENCH_NATIVE_ISA="1") == {
        "capped": False, "env": dict.fromkeys(benchmark.ISA_CAP)
    }
    assert _probe(ATEN_CPU_CAPABILITY="default")["env"]["ATEN_CPU_CAPABILITY"] == "default"


def test_the_cap_leaves_numpy_without_avx512_and_versions_say_so():
    """numpy reads the switch at import: with it, no AVX-512 kernel is enabled (here too)."""
    switch = benchmark.ISA_CAP["NPY_DISABLE_CPU_FEATURES"]
    code = (f"import os; os.environ['NPY_DISABLE_CPU_FEATURES'] = {switch!r}\n"
            "from numpy._core._multiarray_umath import __cpu_features__ as f\n"
            "print(bool(f.get('X86_V4') or f.get('AVX512F')))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True).stdout.strip()  # fmt: skip
    assert out == "False"
    from benchmark.core.io import package_versions

    assert ";isa=" in package_versions()
