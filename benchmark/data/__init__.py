"""Datasets: samples and reading, one module per layout, the synthetic default, crops, checks.

``from benchmark.data import Sample, Dataset, DataError, load_dataset, ...`` keeps working: the
names are re-exported here. Layout and dataset modules register themselves
(``@register_layout``, ``@register_dataset``) and ``benchmark.registry.load_plugins`` imports
every module of this package, as it does for detectors.
"""

from benchmark.core.samples import (
    IMAGE_SUFFIXES,
    MAX_PIXELS,
    MIN_SIDE,
    SPLITS,
    DataError,
    Dataset,
    ImagesLike,
    Sample,
    as_samples,
    cache_dir,
    pil_to_rgb,
    read_image,
    stored_size,
    to_rgb_uint8,
)
from benchmark.data.checks import (
    ALL_DETECTORS,
    BELOW_MIN_SIZE,
    check_file,
    drop_below_min_side,
    min_size_summary,
    read_skipped,
    skip_summary,
    write_skipped,
)
from benchmark.data.loader import FOLDER_OPTIONS, dataset_options, load_dataset, load_folder
from benchmark.data.manifest import Record, Scan, build_dataset, find_duplicates, split_samples

__all__ = [
    "ALL_DETECTORS",
    "BELOW_MIN_SIZE",
    "FOLDER_OPTIONS",
    "IMAGE_SUFFIXES",
    "MAX_PIXELS",
    "MIN_SIDE",
    "SPLITS",
    "DataError",
    "Dataset",
    "ImagesLike",
    "Record",
    "Sample",
    "Scan",
    "as_samples",
    "build_dataset",
    "cache_dir",
    "check_file",
    "dataset_options",
    "drop_below_min_side",
    "find_duplicates",
    "load_dataset",
    "load_folder",
    "min_size_summary",
    "pil_to_rgb",
    "read_image",
    "read_skipped",
    "skip_summary",
    "split_samples",
    "stored_size",
    "to_rgb_uint8",
    "write_skipped",
]
