"""A published folder records the dataset (fingerprint) its rows were made on."""

from __future__ import annotations

import json
import logging

import pandas as pd

from benchmark import publish
from benchmark.results.store import DATASET_FILE, dataset_info, read_dataset_info, read_rows
from tests.results.test_concurrency import tiny_rows

SUMMARY = {"train": {"real": 12, "fake": 12}, "val": {"real": 4, "fake": 4},
           "test": {"real": 4, "fake": 4}}  # fmt: skip


def _publish(folder, det, run_id, info):
    publish.publish(tiny_rows(det, run_id), pd.DataFrame(), folder, reference="det0", bootstrap=0,
                    page=False, dataset=info)  # fmt: skip


def test_publish_records_name_full_fingerprint_and_images_per_split(tmp_path):
    assert read_dataset_info(tmp_path) is None
    info = dataset_info("faces", "0123456789abcdef0123", SUMMARY)
    _publish(tmp_path, "det0", "r1", info)
    assert read_dataset_info(tmp_path) == {
        "name": "faces", "fingerprint": "0123456789abcdef0123",
        "n_samples": {"train": 24, "val": 8, "test": 8},
    }  # fmt: skip
    assert json.loads((tmp_path / DATASET_FILE).read_text()) == read_dataset_info(tmp_path)


def test_another_fingerprint_warns_with_both_and_keeps_the_other_rows(tmp_path, caplog):
    _publish(tmp_path, "det0", "r1", dataset_info("faces", "aaaa1111", SUMMARY))
    with caplog.at_level(logging.WARNING):
        _publish(tmp_path, "det0", "r1b", dataset_info("faces", "aaaa1111", SUMMARY))
    assert not caplog.records  # same fingerprint: nothing to say
    with caplog.at_level(logging.WARNING):
        _publish(tmp_path, "det1", "r2", dataset_info("faces", "bbbb2222", SUMMARY))
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert all(s in record.getMessage() for s in ("aaaa1111", "bbbb2222", str(tmp_path)))
    assert read_dataset_info(tmp_path)["fingerprint"] == "bbbb2222"
    runs = read_rows(tmp_path).groupby("detector")["run_id"].unique().map(list).to_dict()
    assert runs == {"det0": ["r1b"], "det1": ["r2"]}


def test_rows_of_an_unknown_dataset_leave_the_record_as_it_is(tmp_path, caplog):
    _publish(tmp_path, "det0", "r1", dataset_info("faces", "aaaa1111"))
    with caplog.at_level(logging.WARNING):
        _publish(tmp_path, "det1", "r2", None)  # e.g. a bare rows.csv republished
    assert not caplog.records
    assert read_dataset_info(tmp_path) == {"name": "faces", "fingerprint": "aaaa1111"}


def test_an_unreadable_record_counts_as_none_and_is_rewritten(tmp_path):
    (tmp_path / DATASET_FILE).write_text("{not json")
    assert read_dataset_info(tmp_path) is None
    _publish(tmp_path, "det0", "r1", dataset_info("faces", "aaaa1111"))
    assert read_dataset_info(tmp_path)["fingerprint"] == "aaaa1111"
