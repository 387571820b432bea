"""Held-out manipulations: views of a dataset without (or with only) some manipulation families.

A dataset whose fakes carry a manipulation family (``meta["family"]``: the default dataset's
``gan_upsample``, ``resample_jpeg`` and ``splice``; FaceForensics++'s ``Deepfakes``,
``Face2Face``, ``FaceSwap`` and ``NeuralTextures``) can be asked how a detector does on a
manipulation it never saw: :func:`without_family` removes one family's fakes from train and
val and keeps the whole test split, so the fit's score on that family's test fakes (against
all test reals) is the *unseen* AUC, and the ordinary fit's score on the same images the
*in-distribution* one (the protocol of FaceForensics++'s and DeepfakeBench's leave-one-out
tables). Every view is a :class:`Dataset` of its own, its name and fingerprint derived from the
dataset's and the family, so its fits live in their own work folder
(:meth:`~benchmark.engine.folders.WorkFolder.of`): the held-out family is part of the fit's
key, and fits without two different families never collide. They are fitted and scored by
the cross-dataset cell (:mod:`benchmark.engine.cross`), whose per-family ``subset`` rows give
both numbers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from benchmark.core.samples import Dataset, Sample


def family(sample: Sample) -> str:
    """A sample's manipulation family (``real`` for reals, ``fake`` for an unnamed one)."""
    return str(sample.meta.get("family", "fake" if sample.label else "real"))


def families(dataset: Dataset) -> list[str]:
    """The families with fakes in both the train and the test split, sorted."""
    train = {family(s) for s in dataset.train if s.label == 1}
    return sorted(train & {family(s) for s in dataset.test if s.label == 1})


def _view(dataset: Dataset, name: str, tag: str, splits: dict[str, list[Sample]]) -> Dataset:
    fp = hashlib.sha1(f"{dataset.fingerprint}|{tag}".encode()).hexdigest()[:16]
    return Dataset(name, splits, fp, f"{dataset.description} ({tag})", dataset.skipped,
                   dataset.duplicates)  # fmt: skip


def without_family(dataset: Dataset, held_out: str) -> Dataset:
    """``dataset`` with ``held_out``'s fakes removed from train and val; test kept whole.

    Named ``<dataset>-without-<family>``.
    """
    splits = {
        split: [s for s in samples if split == "test" or s.label == 0 or family(s) != held_out]
        for split, samples in dataset.splits.items()
    }
    return _view(dataset, f"{dataset.name}-without-{held_out}", f"without:{held_out}", splits)


def drop_families(dataset: Dataset, dropped: Iterable[str], name: str | None = None) -> Dataset:
    """``dataset`` without the fakes of ``dropped`` families in any split (same dataset when
    none of them is there)."""
    dropped = set(dropped)
    if not any(family(s) in dropped for ss in dataset.splits.values() for s in ss if s.label):
        return dataset
    splits = {
        split: [s for s in samples if s.label == 0 or family(s) not in dropped]
        for split, samples in dataset.splits.items()
    }
    return _view(dataset, name or dataset.name, "drop:" + ",".join(sorted(dropped)), splits)


def family_test(dataset: Dataset, kept: str, name: str) -> Dataset:
    """A test-only view: the test reals and ``kept``'s test fakes (empty train and val)."""
    test = [s for s in dataset.test if s.label == 0 or family(s) == kept]
    return _view(dataset, name, f"test:{kept}", {"train": [], "val": [], "test": test})


def leave_one_out_sets(dataset: Dataset) -> dict[str, Dataset]:
    """``{family: dataset without it}`` for every family (at least two are needed).

    Raises:
        ValueError: fewer than two families have fakes in both train and test.
    """
    fams = families(dataset)
    if len(fams) < 2:
        raise ValueError(
            f"dataset {dataset.name!r}: leave-one-out needs fakes of at least two manipulation "
            f"families in train and test (meta 'family'); found {fams or 'none'}"
        )
    return {f: without_family(dataset, f) for f in fams}
