"""The ``default`` dataset: offline, deterministic real-vs-fake patches from shipped photographs.

Real photographs that ship inside installed packages (scikit-image's ``data`` photos and
textures, scikit-learn's ``load_sample_images``, matplotlib's ``grace_hopper.jpg``) are cut
into square patches; half become fakes through one of three manipulation families that imitate
known deepfake traces:

* ``gan_upsample`` — downscale, then up-sample by zero insertion and a (nearest, bilinear or
  randomly perturbed "learned") transposed-convolution kernel, which leaves the periodic
  spectral replicas of GAN up-sampling (Odena et al. 2016, "Deconvolution and checkerboard
  artifacts"; Durall et al. 2020, "Watch your up-convolution"). Part of the lost detail is
  added back so blur alone does not give it away.
* ``splice`` — a region of another photo of the same split (or a 25×25 LFW face crop from
  ``skimage.data.lfw_subset``) is colour-matched in Lab (Reinhard et al. 2001) and pasted with
  Poisson blending (``cv2.seamlessClone``, Pérez et al. 2003) or a feathered alpha mask, as
  face-swap pipelines do (the latter leaves the blending boundary of Face X-ray, Li et al. 2020).
* ``resample_jpeg`` — JPEG-compress, rescale and rotate (a non-aligned resampling), JPEG again:
  the double-compression and resampling traces of re-encoded manipulated media (Popescu & Farid
  2005).

Every image, real or fake, ends with one JPEG round trip (same quality range) and is stored as
lossless PNG, so "was it JPEG'd at all" is no shortcut; base patches get a random area
down-scale so sharpness varies among reals too. Splits are by source photograph, 50/50 per
split, families balanced. One seeded ``numpy.random.Generator`` drives everything (same seed,
byte-identical PNGs); the build is cached under ``cache_dir()/datasets/default-<hash>/`` via an
atomic rename. The image operations (patches, the three families, the JPEG round trip) are
in :mod:`benchmark.data.manipulations`; this module draws and writes. See ``datasets/default.md``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.core.io import installed_distributions
from benchmark.core.samples import SPLITS, DataError, Dataset, Sample, cache_dir
from benchmark.data import manipulations
from benchmark.data.manipulations import (  # noqa: F401 - MIN_STD: re-exported with the recipe
    MIN_STD,
    _donor,
    _jpeg,
    _to_gray3,
    extract,
    gan_upsample,
    resample_jpeg,
    splice,
)
from benchmark.registry import register_dataset

log = logging.getLogger(__name__)

VERSION = 2  # bump whenever the recipe changes: it is part of the cache key
FAMILIES = ("gan_upsample", "splice", "resample_jpeg")
DEFAULT_N_IMAGES, DEFAULT_PATCH = 1200, 128
SPLIT_FRACTIONS = {"train": 0.6, "val": 0.2, "test": 0.2}
# Not used: ``retina`` and ``cell`` carry ~100x less spectral energy above a quarter of the
# sampling rate than the others (they were smoothed or up-sampled before shipping), so their
# "real" patches already look up-sampled; the rest ship with scikit-image, offline.
SKIMAGE_PHOTOS = """astronaut brick camera chelsea clock coffee coins grass gravel hubble_deep_field
immunohistochemistry moon page rocket text""".split()  # noqa: SIM905
FINAL_JPEG_QUALITY = (80, 98)  # every image: one JPEG at the end, like photos on the web
GRAY_WEIGHT = 0.5  # grey textures/documents are sampled half as often as colour photos


def load_photos() -> list[tuple[str, str, np.ndarray, bool]]:
    """Shipped photographs as ``(group, name, RGB uint8, is_gray)``; a group is one scene."""
    from matplotlib import cbook
    from PIL import Image
    from skimage import data
    from sklearn.datasets import load_sample_images

    photos: list[tuple[str, str, np.ndarray]] = [(n, n, getattr(data, n)()) for n in SKIMAGE_PHOTOS]
    left, right, _disparity = data.stereo_motorcycle()  # two views of one scene: one group
    g = "stereo_motorcycle"
    photos += [(g, "motorcycle_left", left), (g, "motorcycle_right", right)]
    sk = load_sample_images()
    photos += [(Path(f).stem,) * 2 + (img,) for f, img in zip(sk.filenames, sk.images, strict=True)]
    with Image.open(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)) as im:
        photos.append(("grace_hopper", "grace_hopper", np.asarray(im.convert("RGB"))))
    out = []
    for group, name, img in photos:
        gray = img.ndim == 2
        rgb = np.repeat(img[:, :, None], 3, axis=2) if gray else img[:, :, :3]
        out.append((group, name, np.ascontiguousarray(rgb, dtype=np.uint8), gray))
    return out


def lfw_faces() -> np.ndarray:
    """The 100 real 25×25 LFW face crops shipped with scikit-image (grey, uint8)."""
    from skimage import data

    faces = data.lfw_subset()[:100]  # the first 100 are faces, the rest non-faces
    faces = faces * 255 if faces.dtype.kind == "f" else faces
    return np.clip(np.rint(faces), 0, 255).astype(np.uint8)


def _assign_splits(groups: list[tuple[str, bool]], rng: np.random.Generator) -> dict[str, str]:
    """Whole source groups to splits, 60/20/20, colour and grey photos spread separately."""
    out: dict[str, str] = {}
    for gray in (False, True):
        names = sorted({g for g, is_gray in groups if is_gray == gray})
        names = [names[i] for i in rng.permutation(len(names))]
        n_val = n_test = max(1, round(SPLIT_FRACTIONS["val"] * len(names)))
        for i, g in enumerate(names):
            out[g] = "val" if i < n_val else "test" if i < n_val + n_test else "train"
    return out


def build(out_dir: Path, seed: int, n_images: int, patch: int) -> dict[str, Any]:
    """Write every PNG under ``out_dir/{split}/{real,fake/<family>}/``; return the manifest."""
    import cv2

    rng = np.random.default_rng(seed)
    photos = load_photos()
    split_of = _assign_splits([(g, gray) for g, _, _, gray in photos], rng)
    face_split = np.array(["train"] * 60 + ["val"] * 20 + ["test"] * 20)[rng.permutation(100)]
    all_faces = lfw_faces()
    records: list[dict[str, Any]] = []
    n_small = 2 * round(n_images * SPLIT_FRACTIONS["val"] / 2)
    for split, n in {"train": n_images - 2 * n_small, "val": n_small, "test": n_small}.items():
        pool = [p for p in photos if split_of[p[0]] == split]
        # sqrt(area), capped, so the large hubble photo does not swamp its split
        weights = np.array([min(np.sqrt(p[2].shape[0] * p[2].shape[1]), 768.0) for p in pool])
        weights *= np.array([GRAY_WEIGHT if p[3] else 1.0 for p in pool])
        faces = [(int(i), all_faces[i]) for i in np.flatnonzero(face_split == split)]
        fams = (["real"] * (n // 2)) + [FAMILIES[i % 3] for i in range(n // 2)]
        fams = [fams[i] for i in rng.permutation(n)]
        for idx, family in enumerate(fams):
            group, name, photo, gray = pool[int(rng.choice(len(pool), p=weights / weights.sum()))]
            meta: dict[str, Any] = {"family": family, "source": name, "source_group": group}
            if family == "resample_jpeg":
                img, extra = resample_jpeg(photo, patch, rng, gray)
            else:
                img, z = extract(photo, patch, rng)
                extra = {"base_scale": z}
                if family == "gan_upsample":
                    img, more = gan_upsample(img, rng)
                    extra |= more
                elif family == "splice":
                    d = int(rng.integers(round(0.35 * patch), round(0.6 * patch) + 1))
                    others = [p for p in pool if p[0] != group]
                    donor, info = _donor(d, others, faces, rng)
                    img, more = splice(img, donor, rng)
                    extra |= more | info
            q = int(rng.integers(FINAL_JPEG_QUALITY[0], FINAL_JPEG_QUALITY[1] + 1))
            img = _jpeg(_to_gray3(img) if gray else img, q, gray)
            meta |= {"jpeg_quality": q, **extra}
            label = int(family != "real")
            rel = f"{split}/{'fake/' + family if label else 'real'}/{idx:05d}.png"
            ok, buf = cv2.imencode(".png", cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
            if not ok:
                raise RuntimeError(f"PNG encoding failed for {rel}")
            (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            (out_dir / rel).write_bytes(buf.tobytes())
            sha = hashlib.sha1(buf.tobytes()).hexdigest()
            records.append({"id": rel, "split": split, "label": label, "sha1": sha, "meta": meta})
    records.sort(key=lambda r: r["id"])
    fp = hashlib.sha1("".join(r["sha1"] for r in records).encode()).hexdigest()[:16]
    key = {"version": VERSION, "seed": seed, "n_images": n_images, "patch": patch}
    return key | {"fingerprint": fp, "samples": records}


def _load_manifest(folder: Path, name: str) -> Dataset:
    path = folder / "manifest.json"
    try:
        manifest = json.loads(path.read_text())
        records, fingerprint = manifest["samples"], manifest["fingerprint"]
        splits: dict[str, list[Sample]] = {s: [] for s in SPLITS}
        for r in records:
            splits[r["split"]].append(Sample(r["id"], int(r["label"]), folder / r["id"], r["meta"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{path}: bad manifest ({exc!r}); delete {folder} to rebuild") from None
    for s in (s for ss in splits.values() for s in ss):
        if not s.path.is_file():
            raise DataError(f"{s.path}: listed in {path} but missing; delete {folder} to rebuild")
    desc = f"{name}: {len(records)} {manifest['patch']}px patches of shipped photos, fakes: "
    desc += f"{', '.join(FAMILIES)} (seed {manifest['seed']}); smoke benchmark, datasets/default.md"
    return Dataset(name, splits, fingerprint, desc)


@register_dataset("default")
def default(
    *,
    seed: int = 0,
    quick: bool = False,
    n_images: int = DEFAULT_N_IMAGES,
    patch: int = DEFAULT_PATCH,
    cache: str | Path | None = None,
) -> Dataset:
    """Offline patches of shipped photos; fakes: GAN up-sampling, splice, resample + JPEG.

    Args:
        seed: drives every random choice; the same seed gives byte-identical images.
        quick: a tiny version (at most 96 images of 64 px) for smoke tests, built in ~1-2 s.
        n_images: total images over all splits (even, >= 60); half real, half fake.
        patch: side of the square patches in pixels (a multiple of 16 in [32, 160]).
        cache: folder holding built datasets (default ``cache_dir()/datasets``).

    Returns:
        The dataset, splits by source photograph, 60/20/20, each split 50/50 real/fake.
    """
    if quick:
        n_images, patch = min(n_images, 96), min(patch, 64)
    if n_images < 60 or n_images % 2:
        raise ValueError(f"default dataset: n_images must be even and >= 60, got {n_images}")
    if patch % 16 or not 32 <= patch <= 160:
        raise ValueError(f"default dataset: patch must be a multiple of 16 in 32-160, got {patch}")
    # a non-default size is a different benchmark: its name says so in every table
    sized = (n_images, patch) != (DEFAULT_N_IMAGES, DEFAULT_PATCH)
    name = "default-quick" if quick else f"default-n{n_images}-{patch}px" if sized else "default"
    parts = [VERSION, seed, n_images, patch, _recipe_hash(), _builder_versions()]
    key = hashlib.sha1(json.dumps(parts).encode())
    key = key.hexdigest()[:10]
    root = Path(cache) if cache is not None else cache_dir() / "datasets"
    folder = root / f"default-{key}"
    if not (folder / "manifest.json").is_file():
        log.info("building dataset %s (%d images, %d px) in %s", name, n_images, patch, folder)
        _build_atomic(folder, seed, n_images, patch)
    return _load_manifest(folder, name)


def _recipe_hash() -> str:
    """SHA-1 of the recipe's source (this module and :mod:`benchmark.data.manipulations`): an
    edited recipe never reuses a stale cached build."""
    sources = (Path(__file__), Path(manipulations.__file__))
    return hashlib.sha1(b"".join(path.read_bytes() for path in sources)).hexdigest()[:12]


#: The distributions whose code computes the pixels (photos, resampling, JPEG, PNG, blending).
BUILDER_DISTRIBUTIONS = ("numpy", "opencv-contrib-python", "scikit-image", "pillow", "scipy")


def _builder_versions() -> str:
    """The versions of :data:`BUILDER_DISTRIBUTIONS` and the OpenCV build imported: a cached
    build is reused only by the packages that made it (an older build once outlived an
    environment change and published tables no fresh machine could rebuild)."""
    import cv2

    installed = installed_distributions()
    names = [f"{d}={installed.get(d, '-')}" for d in BUILDER_DISTRIBUTIONS]
    build = hashlib.sha1(cv2.getBuildInformation().encode()).hexdigest()[:12]
    return ";".join([*names, f"cv2={cv2.__version__}:{build}"])


def _build_atomic(folder: Path, seed: int, n_images: int, patch: int) -> None:
    """Build into a temporary sibling folder, then rename: a crash never leaves a half cache."""
    import cv2

    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.with_name(f".{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)  # one thread: identical results whatever the machine's core count
    try:
        manifest = build(tmp, seed, n_images, patch)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
        try:
            os.rename(tmp, folder)
        except OSError:  # another process finished first: keep its copy
            if not (folder / "manifest.json").is_file():
                raise
    finally:
        cv2.setNumThreads(threads)
        shutil.rmtree(tmp, ignore_errors=True)
