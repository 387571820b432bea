"""Registry: decorator, wildcards, overrides, duplicates, did-you-mean, entry-point plugins."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from importlib.metadata import EntryPoint

import pytest

from benchmark import plugins, registry
from benchmark.data import loader
from benchmark.protocol import BaseDetector


class _Const(BaseDetector):
    def __init__(self, value: float = 0.5, seed: int = 0):
        self.value = value
        self.seed = seed

    def _fit(self, train, val):
        self.seen_ = len(train)

    def _predict_fake(self, samples):
        return [self.value] * len(samples)


@pytest.fixture
def temp_detector():
    @registry.register_detector(
        family="baseline", paper="test", input_size=None, normalisation="none", name="zz_const_test"
    )
    def factory(**kw):
        return _Const(**kw)

    yield "zz_const_test"
    registry.DETECTORS.remove("zz_const_test")


def test_wildcards_and_natural_order(temp_detector):
    names = plugins.list_detectors()
    assert "fft_spectrum" in names and temp_detector in names
    assert plugins.list_detectors("zz_*") == [temp_detector]
    assert plugins.list_detectors("fft_*,zz_*")[-1] == temp_detector
    assert plugins.list_detectors("const_te") == [temp_detector]  # non-exact works as a wildcard
    assert registry._natural_key("a10") > registry._natural_key("a9")


def test_create_with_overrides(temp_detector):
    det = plugins.create_detector(temp_detector, value=0.9)
    assert det.get_params() == {"value": 0.9, "seed": 0}
    assert det.meta.name == temp_detector and det.meta.family == "baseline"
    with pytest.raises(TypeError, match="bad parameter override"):
        plugins.create_detector(temp_detector, nope=1)


def test_duplicate_name_is_an_error(temp_detector):
    with pytest.raises(registry.RegistryError, match="registered twice"):
        registry.register_detector(
            family="baseline", paper="x", input_size=None, normalisation="none", name=temp_detector
        )(lambda **kw: _Const(**kw))


def test_unknown_name_suggests():
    with pytest.raises(registry.RegistryError, match="did you mean fft_spectrum"):
        plugins.create_detector("fft_spectrun")
    with pytest.raises(registry.RegistryError, match="unknown detector"):
        plugins.list_detectors("qqqqqq*")


def test_entry_point_plugins_good_and_broken(tmp_path, monkeypatch):
    pkg = tmp_path / "fb_plugin_ok.py"
    pkg.write_text(
        textwrap.dedent("""
        from benchmark.registry import register_detector
        from benchmark.protocol import BaseDetector

        class Half(BaseDetector):
            def __init__(self, seed: int = 0):
                self.seed = seed
            def _fit(self, train, val):
                pass
            def _predict_fake(self, samples):
                return [0.5] * len(samples)

        @register_detector(family="baseline", paper="plugin", input_size=None, normalisation="none")
        def third_party_half(**kw):
            return Half(**kw)
    """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    eps = [
        EntryPoint("ok", "fb_plugin_ok", plugins.ENTRY_POINT_GROUP),
        EntryPoint("broken", "fb_plugin_missing_module", plugins.ENTRY_POINT_GROUP),
    ]
    monkeypatch.setattr(
        plugins, "entry_points", lambda group: eps if group == plugins.ENTRY_POINT_GROUP else []
    )
    monkeypatch.setattr(plugins, "_loaded", False)
    monkeypatch.setattr(loader, "_imported", False)  # dataset modules register again too
    monkeypatch.setattr(plugins, "_plugin_errors", {})
    saved = dict(registry.DETECTORS._entries)
    registry.DETECTORS._entries.clear()
    monkeypatch.delitem(sys.modules, "fb_plugin_ok", raising=False)
    for mod in [m for m in sys.modules if m.startswith("detectors.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.delitem(sys.modules, "benchmark.data.synthetic", raising=False)
    registry.DATASETS._entries.clear()
    try:
        names = plugins.list_detectors()
        assert "third_party_half" in names and "fft_spectrum" in names
        errors = plugins.plugin_errors()
        assert any("broken" in k for k in errors) and not any(k.startswith("ok") for k in errors)
        assert plugins.create_detector("third_party_half").meta.paper == "plugin"
    finally:
        registry.DETECTORS._entries.clear()
        registry.DETECTORS._entries.update(saved)


def test_list_is_fast_and_lazy(repo_root):
    code = (
        "import sys, time; t=time.perf_counter(); from benchmark.cli import main; main(['list']);"
        "heavy=[m for m in ('torch','cv2','sklearn','timm') if m in sys.modules];"
        "print('HEAVY', heavy, time.perf_counter()-t, file=sys.stderr)"
    )
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=repo_root
    )
    assert out.returncode == 0, out.stderr
    assert "fft_spectrum" in out.stdout and "default" in out.stdout
    assert "HEAVY []" in out.stderr, out.stderr  # heavy imports stay inside factories / fit
    print(f"`list` wall time {time.perf_counter() - t0:.2f}s")
