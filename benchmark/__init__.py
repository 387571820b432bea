"""fakebench: a comparative benchmark harness for deepfake image detectors.

Importing it first caps the vector instructions numpy, OpenCV, torch/oneDNN and MKL may use at
AVX2 on a CPU that has AVX-512 (``FAKEBENCH_NATIVE_ISA=1`` lifts the cap). Their AVX-512 kernels
round differently (numpy's AVX-512 transcendental functions, OpenCV's and torch's AVX-512 code
paths): the published default dataset was once built on an AVX-512 machine and no AVX2 machine
could rebuild it. With the cap an AVX-512 machine computes with the kernels an AVX2 machine has.
The libraries read these variables when they are first imported, so this must run before them:
``python -m benchmark``, the ``fakebench`` script and the test suite import ``benchmark`` first;
``benchmark.core.io.package_versions`` records whether the cap was in effect (``isa=``).
"""

import os as _os

__version__ = "0.1.0"

#: Each library's own switch for its AVX-512 paths (numpy >= 2 names AVX-512 ``X86_V4``).
ISA_CAP = {
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR AVX512F AVX512_SKX",
    "OPENCV_CPU_DISABLE": "AVX512_SKX,AVX512_COMMON,AVX512_KNL,AVX512_KNM,AVX512_CNL,"
    "AVX512_CLX,AVX512_ICL,AVX_512F",
    "ATEN_CPU_CAPABILITY": "avx2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",
}


def _has_avx512() -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            return any(line.startswith("flags") and " avx512f" in line for line in f)
    except OSError:  # not Linux: no cap (the machines that made the results are Linux x86)
        return False


#: Whether the cap applies here (an AVX-512 CPU, and not lifted).
ISA_CAPPED = _has_avx512() and _os.environ.get("FAKEBENCH_NATIVE_ISA") != "1"
if ISA_CAPPED:
    for _name, _value in ISA_CAP.items():
        _os.environ.setdefault(_name, _value)
