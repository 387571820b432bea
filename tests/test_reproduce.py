"""Same numbers on every machine: the install is the lock, and the default dataset built here
is the one the published results were made on."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from benchmark.core.io import (
    RESULT_DISTRIBUTIONS,
    canonical_name,
    installed_distributions,
    package_versions,
    read_lock,
)
from benchmark.results.store import read_dataset_info

LOCK = "constraints.txt"


def _makefile_installs(repo_root: Path) -> tuple[str, list[str]]:
    """The Makefile's text and its pip install lines, with ``$(PIP)`` written out."""
    text = (repo_root / "Makefile").read_text()
    pip = re.search(r"^PIP\s*:?=\s*(.+)$", text, re.M)
    lines = [ln.strip() for ln in text.splitlines() if not ln.lstrip().startswith("#")]
    if pip:
        lines = [ln.replace("$(PIP)", pip.group(1)) for ln in lines]
    return text, [ln for ln in lines if re.search(r"-m pip install\b", ln)]


def test_every_install_of_the_makefile_is_under_the_lock(repo_root):
    text, installs = _makefile_installs(repo_root)
    assert re.search(rf"^LOCK\s*:?=\s*{re.escape(LOCK)}\s*$", text, re.M)
    assert re.search(r"^\$\(STAMP\):.*\$\(LOCK\)", text, re.M), "the stamp must depend on the lock"
    assert len(installs) >= 4, installs
    pins = read_lock(repo_root / LOCK)
    for line in installs:
        assert "-c $(LOCK)" in line, f"pip install without the lock: {line}"
        for name, version in re.findall(r"([A-Za-z0-9_.-]+)==([^\s']+)", line):
            lock = pins.get(canonical_name(name))
            assert lock == version, f"{line}: the lock pins {name}=={lock}"
    assert all(re.fullmatch(r"[0-9A-Za-z.+!-]+", v) for v in pins.values())
    assert "fakebench" not in pins


def test_this_environment_is_the_lock(repo_root):
    """What runs the tests (CI: a fresh `make setup`) holds the lock's versions; a package the
    lock pins but a platform does not install (CUDA wheels without CUDA torch) is not asked."""
    pins = read_lock(repo_root / LOCK)
    installed = installed_distributions()
    wrong = {n: (installed[n], v) for n, v in pins.items() if n in installed and installed[n] != v}
    unlocked = [d for d in RESULT_DISTRIBUTIONS if d in installed and d not in pins and
                d != "fakebench"]  # fmt: skip
    assert not wrong and not unlocked, (
        f"installed (here, lock): {wrong}; installed but not locked: {unlocked}. "
        "Run `make setup` (it installs the lock), or, to move a pin on purpose, `make lock`."
    )


def _published_fingerprint(repo_root: Path) -> tuple[str, str]:
    """The published default dataset's fingerprint and where it was read."""
    info = read_dataset_info(repo_root / "results" / "default")
    if info is not None:
        assert info.get("name") == "default", info
        return str(info["fingerprint"]), "results/default/dataset.json"
    return _fingerprint_from_readme(repo_root)


def _fingerprint_from_readme(repo_root: Path) -> tuple[str, str]:
    """Until results/default/ is republished with its dataset.json (remove this then): the
    10 hex digits of the work folder results/README.md names, ``runs/default-<fp>-seed0-none``."""
    missing = "results/default/dataset.json missing: republish"
    found = set(re.findall(r"\bdefault-([0-9a-f]{10})-seed0-", (repo_root / "results" /
                                                            "README.md").read_text()))  # fmt: skip
    if len(found) != 1:
        pytest.fail(f"{missing} (and results/README.md names no single work folder: {found})")
    return found.pop(), f"the work folder results/README.md names; {missing}"


@pytest.mark.slow
def test_default_dataset_built_here_is_the_published_one(repo_root):
    """Built from scratch (conftest points FAKEBENCH_CACHE at an empty folder: a cached build
    would hide a difference, since the cache key holds no package version)."""
    from benchmark.data.loader import load_dataset

    built = load_dataset("default").fingerprint
    published, where = _published_fingerprint(repo_root)
    if built[: len(published)] != published:
        pytest.fail(
            f"the default dataset built here has fingerprint {built}, the published results "
            f"were made on {published} ({where}): the images differ, so no published number "
            f"can be reproduced here. Versions here: {package_versions()}"
        )
