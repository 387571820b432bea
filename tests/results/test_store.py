"""Published rows are normalised: rows.csv[.gz] + fits.csv, joined back by ``read_rows``."""

from __future__ import annotations

import gzip
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmark import publish
from benchmark.cli import main
from benchmark.core.io import atomic_write_csv
from benchmark.results import store
from benchmark.results.rows import ROW_FIELDS
from benchmark.results.store import (
    FIT_FIELDS,
    FIT_KEY,
    FITS_FILE,
    ROWS_FILE,
    RowsError,
    join_fits,
    read_rows,
    read_table,
    split_fits,
    write_rows,
    write_table,
)


def _wide(det: str, run_id: str, conditions=("clean", "jpeg@1"), **fit) -> list[dict]:
    """Wide rows of one fit of ``det`` by run ``run_id``, as a run writes them."""
    base = {k: "" for k in ROW_FIELDS} | {
        "run_id": run_id, "detector": det, "dataset": "d", "train_aug": "none",
        "tuning": "default", "seed": 0, "params": json.dumps({"n": len(det)}), "device": "cpu",
        "git_sha": "c4cc03ed33df", "versions": "python=3.11.7;numpy=2.4.6", "pretrained": "",
        "timestamp": f"2026-11-25T15:00:00+00:00 {run_id}",
    } | fit  # fmt: skip
    fitted = base | {"split": "train", "condition": "fit"}
    out = [fitted | {"metric": "train_seconds", "value": 1.5, "n": 10},
           fitted | {"metric": "n_parameters", "value": 193},
           base | {"split": "val", "condition": "clean", "subset": "all", "metric": "roc_auc",
                   "value": 0.7, "n": 4}]  # fmt: skip
    for cond in conditions:
        test = base | {"split": "test", "condition": cond, "subset": "all", "n": 8}
        if "@" in cond:
            test |= {"corruption": cond.split("@")[0], "severity": int(cond.split("@")[1])}
        out += [test | {"metric": "roc_auc", "value": 0.8 if run_id == "r1" else 0.9},
                test | {"metric": "accuracy", "value": 0.6}]  # fmt: skip
    return out


def _as_read(tmp: Path, rows: list[dict]) -> pd.DataFrame:
    """Rows through a run's rows.csv, as ``run`` and ``report`` hand them to ``publish``."""
    path = atomic_write_csv(Path(tmp) / "run" / ROWS_FILE, pd.DataFrame(rows, columns=ROW_FIELDS))
    return read_rows(path)


def _publish(folder: Path, rows: pd.DataFrame) -> None:
    publish.publish(rows, pd.DataFrame(), folder, reference="a", title="d", bootstrap=0)


def test_publish_writes_each_fit_once_and_reads_back_the_wide_rows(tmp_path):
    pub = tmp_path / "pub"
    new = _as_read(tmp_path, _wide("a", "r1") + _wide("bb", "r1", pretrained=True))
    _publish(pub, new)
    narrow = pd.read_csv(pub / ROWS_FILE)
    assert not set(FIT_FIELDS) & set(narrow.columns)
    assert {"run_id", "value", "timestamp", "error"} <= set(narrow.columns)
    fits = pd.read_csv(pub / FITS_FILE)
    assert fits["detector"].tolist() == ["a", "bb"] and fits["params"].nunique() == 2
    pd.testing.assert_frame_equal(read_rows(pub), new)
    page = (pub / "report.html").read_text()
    assert "fits.csv" in page and "rows.csv" in page


def test_upsert_keeps_other_detectors_fits_and_drops_fits_no_row_references(tmp_path):
    pub = tmp_path / "pub"
    _publish(pub, _as_read(tmp_path, _wide("a", "r1") + _wide("bb", "r1")))
    # run r2 re-scores a's clean condition only: a's jpeg@1 rows still come from r1's fit
    _publish(pub, _as_read(tmp_path, _wide("a", "r2", ["clean"], params='{"n": 9}')))
    fits = pd.read_csv(pub / FITS_FILE).set_index(["run_id", "detector"])
    assert sorted(fits.index) == [("r1", "a"), ("r1", "bb"), ("r2", "a")]
    assert fits.loc[("r1", "bb"), "params"] == '{"n": 2}'  # another detector's fit is kept
    wide = read_rows(pub)
    assert wide.loc[wide["run_id"] == "r2", "params"].eq('{"n": 9}').all()
    assert wide.loc[wide["run_id"] == "r1", "params"].isin(['{"n": 1}', '{"n": 2}']).all()
    # r3 re-runs all of a: nothing refers to r1's or r2's fit of a any more
    _publish(pub, _as_read(tmp_path, _wide("a", "r3")))
    fits = pd.read_csv(pub / FITS_FILE)
    assert sorted(zip(fits["run_id"], fits["detector"], strict=True)) == [("r1", "bb"), ("r3", "a")]
    assert len(read_rows(pub)) == len(_wide("a", "r3")) + len(_wide("bb", "r1"))


def test_a_folder_of_old_wide_rows_is_read_and_migrated_by_report(tmp_path):
    pub = tmp_path / "pub"
    _publish(pub, _as_read(tmp_path, _wide("a", "r1") + _wide("bb", "r1")))
    wide = read_rows(pub)
    (pub / FITS_FILE).unlink()  # the layout published before fits.csv: parameters on every row
    atomic_write_csv(pub / ROWS_FILE, wide)
    old_text = (pub / ROWS_FILE).read_text()
    assert "params" in old_text.splitlines()[0]
    pd.testing.assert_frame_equal(read_rows(pub), wide)  # read as it is
    board = (pub / "leaderboard.csv").read_text()

    assert main(["report", str(pub), "--bootstrap", "0"]) == 0  # migrates in place
    assert "params" not in (pub / ROWS_FILE).read_text().splitlines()[0]
    assert len(pd.read_csv(pub / FITS_FILE)) == 2
    assert read_rows(pub).to_csv(index=False, float_format="%.10g") == old_text
    assert (pub / "leaderboard.csv").read_text() == board
    # and an old folder takes a publish: the merged table comes out normalised
    (pub / FITS_FILE).unlink()
    atomic_write_csv(pub / ROWS_FILE, wide)
    _publish(pub, _as_read(tmp_path, _wide("cc", "r2")))
    assert set(pd.read_csv(pub / FITS_FILE)["detector"]) == {"a", "bb", "cc"}
    assert set(read_rows(pub)["detector"]) == {"a", "bb", "cc"}


def test_a_row_without_its_fit_is_an_error_not_a_silent_loss(tmp_path):
    pub = tmp_path / "pub"
    _publish(pub, _as_read(tmp_path, _wide("a", "r1") + _wide("bb", "r1")))
    fits = pd.read_csv(pub / FITS_FILE)
    atomic_write_csv(pub / FITS_FILE, fits[fits["detector"] == "a"])
    with pytest.raises(RowsError, match="no fit"):
        read_rows(pub)
    with pytest.raises(publish.PublishError, match="git checkout"):
        _publish(pub, _as_read(tmp_path, _wide("a", "r2")))
    atomic_write_csv(pub / FITS_FILE, pd.concat([fits, fits]))
    with pytest.raises(RowsError, match="listed twice"):
        read_rows(pub)


@pytest.mark.parametrize("before", ["wide", "normalised"])
def test_a_crash_while_writing_leaves_every_row_with_its_fit(tmp_path, monkeypatch, before):
    pub = tmp_path / "pub"
    old = _as_read(tmp_path, _wide("a", "r1") + _wide("bb", "r1"))
    if before == "wide":
        atomic_write_csv(pub / ROWS_FILE, old)
    else:
        write_rows(pub, old)

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(store, "write_table", crash)  # after fits.csv, before the rows
    with pytest.raises(OSError):
        write_rows(pub, _as_read(tmp_path, _wide("a", "r2") + _wide("bb", "r2")))
    pd.testing.assert_frame_equal(read_rows(pub), old)


def test_gzip_is_byte_identical_for_the_same_table(tmp_path):
    frame = pd.DataFrame(_wide("a", "r1") * 20, columns=ROW_FIELDS)
    first = write_table(tmp_path / "one" / ROWS_FILE, frame, gzip_above=0)
    second = write_table(tmp_path / "two" / ROWS_FILE, frame, gzip_above=0)
    assert first.name == "rows.csv.gz" and not (tmp_path / "one" / ROWS_FILE).exists()
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes()[4:8] == b"\0\0\0\0"  # no timestamp in the gzip header
    assert write_table(first, frame, gzip_above=0).name == "rows.csv.gz.gz"  # a name is a name
    again = write_table(tmp_path / "one" / ROWS_FILE, frame, gzip_above=0)
    assert again.read_bytes() == second.read_bytes()
    text = frame.to_csv(index=False, float_format="%.10g")
    assert gzip.decompress(again.read_bytes()).decode() == text
    # below the limit it is plain CSV again, and the .gz goes
    plain = write_table(tmp_path / "one" / ROWS_FILE, frame)
    assert plain.name == ROWS_FILE and plain.read_text() == text
    assert not (tmp_path / "one" / "rows.csv.gz").exists()


def test_a_fit_gzips_to_the_same_bytes_wherever_it_sits_so_git_can_delta(tmp_path):
    """Rows of b and c unchanged, a's republished: the streams end in the same bytes."""
    rest = pd.DataFrame(_wide("b", "r1") * 30 + _wide("c", "r1") * 30)
    rest["value"] = np.random.default_rng(0).random(len(rest))  # kept rows, not compressible
    frames = [pd.concat([pd.DataFrame(_wide("a", run)), rest]) for run in ("r1", "r2")]
    one, two = (write_table(tmp_path / f"{i}.csv", f, gzip_above=0) for i, f in enumerate(frames))
    text = frames[1].to_csv(index=False, float_format="%.10g")
    assert gzip.decompress(two.read_bytes()).decode() == text  # segments add up to the CSV
    one, two = one.read_bytes()[:-8], two.read_bytes()[:-8]  # trailer: CRC and size
    common = next(i for i in range(1, len(one)) if one[-i] != two[-i]) - 1
    assert common > 0.8 * len(one)
    single = gzip.compress(text.encode())
    assert len(two) < 1.1 * len(single)  # the flushes cost little


def test_tables_over_the_limit_are_published_gzipped_and_read_back(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "GZIP_ABOVE_BYTES", 0)
    pub = tmp_path / "res" / "d"
    _publish(pub, _as_read(tmp_path, _wide("a", "r1") + _wide("bb", "r1")))
    names = {p.name for p in pub.iterdir()}
    assert {"rows.csv.gz", "robustness.csv.gz", "resolution.csv.gz", FITS_FILE} <= names
    assert not {"rows.csv", "robustness.csv", "resolution.csv"} & names
    _publish(pub, _as_read(tmp_path, _wide("a", "r2")))  # reads the .gz to upsert into it
    wide = read_rows(pub)
    assert sorted(set(zip(wide["run_id"], wide["detector"], strict=True))) == [
        ("r1", "bb"),
        ("r2", "a"),
    ]
    robust = pd.read_csv(pub / "robustness.csv.gz")
    assert set(robust["detector"]) == {"a", "bb"} and set(robust["condition"]) == {"jpeg@1"}
    assert "rows.csv.gz" in (pub / "report.html").read_text()
    assert main(["report", str(tmp_path / "res"), "--bootstrap", "0"]) == 0  # finds rows.csv.gz
    assert pd.read_csv(tmp_path / "res" / "index.csv")["runs"].tolist() == ["r1, r2"]
    pd.testing.assert_frame_equal(read_rows(pub), wide)
    monkeypatch.setattr(store, "GZIP_ABOVE_BYTES", 5_000_000)  # back under the limit
    assert main(["report", str(pub), "--bootstrap", "0"]) == 0
    assert (pub / ROWS_FILE).is_file() and not (pub / "rows.csv.gz").exists()
    assert (pub / "robustness.csv").is_file() and not (pub / "robustness.csv.gz").exists()


# A fit: run, detector, seed, tuning; rows: condition x metric; one column may vary per row.
FITS = st.lists(
    st.tuples(st.sampled_from(["r1", "r2"]), st.sampled_from(["a", "bb", "metadata_baseline"]),
              st.sampled_from([0, 1]), st.sampled_from(["default", "val:4", ""])),
    min_size=1, max_size=4, unique=True,
)  # fmt: skip
FIT_VALUES = st.fixed_dictionaries(
    {
        "params": st.sampled_from(['{"n": 1}', '{"lr": 0.001, "x": "a,b"}', "", "{}"]),
        "device": st.sampled_from(["cpu", "cuda", ""]),
        "git_sha": st.sampled_from(["c4cc03ed33df", "unknown"]),
        "versions": st.sampled_from(["python=3.11.7;numpy=2.4.6", ""]),
        "pretrained": st.sampled_from([True, False, ""]),
    }
)
ROW_VALUES = st.lists(
    st.tuples(st.sampled_from(["fit", "clean", "jpeg@1", ""]),
              st.sampled_from(["roc_auc", "error"]),
              st.one_of(st.floats(0, 1), st.just(float("nan")))),
    min_size=1, max_size=4,
)  # fmt: skip


@given(data=st.data(), fits=FITS, varying=st.sampled_from([None, *FIT_FIELDS]))
def test_round_trip_wide_to_rows_and_fits_and_back_is_identical(data, fits, varying):
    rows = []
    for run_id, det, seed, tuning in fits:
        fit = data.draw(FIT_VALUES)
        for cond, metric, value in data.draw(ROW_VALUES):
            row = {k: "" for k in ROW_FIELDS} | fit | {
                "run_id": run_id, "detector": det, "dataset": "d", "train_aug": "none",
                "tuning": tuning, "seed": seed, "condition": cond, "metric": metric,
                "value": value, "error": "boom" if metric == "error" else "",
            }  # fmt: skip
            if varying:  # one fit-level column that is not constant within a fit stays on rows
                row[varying] = data.draw(st.sampled_from(["x", "y", ""]))
            rows.append(row)
    with tempfile.TemporaryDirectory() as tmp:
        wide = _as_read(Path(tmp), rows)
        narrow, fit_table = split_fits(wide)
        assert len(fit_table) == len(fits)
        moved = [c for c in FIT_FIELDS if c not in narrow]
        per_fit = wide.groupby(list(FIT_KEY), dropna=False)
        constant = [c for c in FIT_FIELDS if per_fit[c].nunique(dropna=False).max() == 1]
        assert moved == constant and (varying is None) <= (moved == list(FIT_FIELDS))
        pd.testing.assert_frame_equal(join_fits(narrow, fit_table), wide)
        paths = write_rows(Path(tmp) / "pub", wide)
        pd.testing.assert_frame_equal(read_table(paths["rows"]), narrow)
        pd.testing.assert_frame_equal(read_rows(Path(tmp) / "pub"), wide)


def test_pretrained_stays_yes_no_when_a_weightless_folder_meets_a_pretrained_run(tmp_path):
    # A folder of classical fits (pretrained blank) upserted with a pretrained and a random-init
    # deep fit once wrote 1/0 into fits.csv, and the leaderboard showed 1.0 instead of "yes".
    pub = tmp_path / "pub"
    _publish(pub, _as_read(tmp_path, _wide("a", "r1")))
    _publish(pub, _as_read(tmp_path, _wide("bb", "r2", pretrained=True)))
    _publish(pub, _as_read(tmp_path, _wide("ccc", "r3", pretrained=False)))
    fits = read_table(pub / FITS_FILE).set_index("detector")["pretrained"]
    assert fits.loc["bb"] == "True" and fits.loc["ccc"] == "False" and pd.isna(fits.loc["a"])
    board = pd.read_csv(pub / "leaderboard.csv", keep_default_na=False).set_index("detector")
    board = board["pretrained"]
    assert board.to_dict() == {"a": "n/a", "bb": "yes", "ccc": "no (random init)"}


@pytest.mark.parametrize("stored", ["1", "1.0", "0", "0.0"])
def test_pretrained_written_as_a_number_reads_back_as_true_or_false(tmp_path, stored):
    path = tmp_path / FITS_FILE
    path.write_text(f"run_id,detector,pretrained\nr1,a,{stored}\nr1,b,\n")
    got = read_table(path)["pretrained"].tolist()
    assert got[0] == ("True" if stored.startswith("1") else "False") and pd.isna(got[1])


def test_a_fit_that_is_now_not_applicable_takes_its_old_rows_with_it(tmp_path):
    """A detector whose weights are gone becomes one ``not applicable`` row: its old
    condition rows (another fit's) do not stay beside the new status."""
    pub = tmp_path / "pub"
    _publish(pub, _as_read(tmp_path, _wide("a", "r1") + _wide("bb", "r1")))
    na = {k: "" for k in ROW_FIELDS} | {
        "run_id": "r2", "detector": "a", "dataset": "d", "train_aug": "none",
        "tuning": "default", "seed": 0, "split": "test", "metric": "not_applicable",
        "error": "not applicable: weights not found", "params": "{}", "device": "cpu",
        "git_sha": "x", "versions": "python=3.11.7", "pretrained": "",
        "timestamp": "2026-12-02T15:00:00+00:00",
    }  # fmt: skip
    _publish(pub, _as_read(tmp_path, [na]))
    wide = read_rows(pub)
    assert wide.loc[wide["detector"] == "a", "metric"].tolist() == ["not_applicable"]
    assert len(wide[wide["detector"] == "bb"]) == len(_wide("bb", "r1"))
    board = pd.read_csv(pub / "leaderboard.csv").set_index("detector")
    assert board.loc["a", "status"] == "not applicable" and pd.isna(board.loc["a", "roc_auc"])
