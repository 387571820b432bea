"""``report SOURCE``: rebuild a run's (or a results folder's) tables, figures and page (prints).
"""

from __future__ import annotations

import json
from pathlib import Path

from benchmark import publish, report


def _latest_run(work: Path) -> Path:
    runs = sorted(p for p in (work / "runs").glob("*") if (p / "rows.csv").is_file())
    if not runs:
        raise FileNotFoundError(f"{work}: no finished run in {work / 'runs'} (no rows.csv)")
    return runs[-1]


def _timing_of(run: Path):  # -> pd.DataFrame
    timing_file = run / "timing.json"
    rows = json.loads(timing_file.read_text()) if timing_file.is_file() else []
    import pandas as pd

    return pd.DataFrame(rows)


def rebuild_report(
    source: Path,
    results: Path | None,
    reference: str,
    bootstrap: int = report.DEFAULT_BOOTSTRAP,
) -> list[Path]:
    """Tables, figures and report page from a work folder, a run folder, a rows.csv or results.

    A run's rows go to ``<run>/tables/`` (or are published into ``results`` when given); a
    published folder (one with ``leaderboard.csv``) is rebuilt in place from its rows.
    ``bootstrap`` is the number of resamples of the leaderboard's intervals.
    """
    from benchmark.data.checks import merge_skipped
    from benchmark.results.store import ROWS_FILE, dataset_info, find_table, publish_lock

    source = Path(source)
    if not source.exists():
        raise FileNotFoundError(f"{source}: not found (give a run folder, a rows.csv or results/)")
    if source.is_dir() and find_table(source, ROWS_FILE) is None:
        if (source / "runs").is_dir():  # a work folder printed by `run`
            source = _latest_run(source)
        else:  # a results root: rebuild every published folder under it
            found = [*source.rglob(ROWS_FILE), *source.rglob(f"{ROWS_FILE}.gz")]
            folders = sorted({p.parent for p in found})
            if not folders:
                raise FileNotFoundError(
                    f"{source}: no rows.csv under it: not a run folder nor a results folder"
                )
            out = [p for f in folders for p in rebuild_report(f, None, reference, bootstrap)]
            return out + list(publish.write_index(source).values())
    rows_file = find_table(source, ROWS_FILE) if source.is_dir() else source
    folder = rows_file.parent
    if (folder / "leaderboard.csv").is_file() and results is None:  # published: rebuild it
        return _rebuild_published(folder, reference, bootstrap)
    rows, scores = _read_rows(rows_file), _scores_of(folder)
    stats = {"scores": scores, "bootstrap": bootstrap}
    timing = _timing_of(folder)
    if results is None:
        tables = folder / "tables"
        return list(publish.write_tables(rows, timing, tables, reference, **stats).values())
    known = _dataset_of_run(folder)
    paths: list[Path] = []
    for (dataset, seed), part in rows.groupby(["dataset", "seed"]):
        target = publish.dataset_folder(results, str(dataset), int(seed))
        part_timing = timing[timing["detector"].isin(part["detector"])] if len(timing) else timing
        part_scores = None
        if scores is not None:
            part_scores = scores[(scores["dataset"] == dataset) & (scores["seed"] == seed)]
        info = None  # unknown (a bare rows.csv): the folder's dataset.json is left as it is
        if known.get("name") == dataset and known.get("fingerprint"):
            info = dataset_info(known["name"], known["fingerprint"], known.get("summary"))
        with publish_lock(target):  # the skip counts join the same critical section
            paths += publish.publish(
                part, part_timing, target, reference, title=str(dataset), scores=part_scores,
                bootstrap=bootstrap, dataset=info,
            ).values()  # fmt: skip
            skipped = merge_skipped(folder / "skipped.csv", target, str(dataset))
        paths += [skipped] if skipped is not None else []
    return paths + list(publish.write_index(results).values())


def _rebuild_published(folder: Path, reference: str, bootstrap: int) -> list[Path]:
    """A published folder's tables rebuilt in place from its rows, holding its lock (it is
    read and rewritten: no publish may run in between). ``dataset.json`` stays as it is: the
    rows alone do not say which version of the dataset made them."""
    import pandas as pd

    from benchmark.results.store import ROWS_FILE, publish_lock, read_optional, write_rows

    with publish_lock(folder):
        rows, scores = _read_rows(publish.find_table(folder, ROWS_FILE)), _scores_of(folder)
        timing = read_optional(folder / publish.TIMING_FILE)
        timing = pd.DataFrame() if timing is None else timing
        title = ", ".join(sorted(rows["dataset"].dropna().astype(str).unique()))  # as publish
        paths = write_rows(folder, rows)  # in the current form: a folder of wide rows migrates
        tables = publish.write_tables(
            rows, timing, folder, reference, title=title, scores=scores, bootstrap=bootstrap
        )
        return [*paths.values(), *tables.values(), *publish.refresh_seed_summary(folder).values()]


def _read_rows(rows_file: Path):  # -> pd.DataFrame
    """The wide rows of a rows table, or a ValueError saying it is not one."""
    import gzip
    import zlib

    import pandas as pd

    from benchmark.results.store import RowsError, read_rows

    try:
        rows = read_rows(rows_file)  # a published folder's fits.csv joined
    except (
        pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, RowsError,
        gzip.BadGzipFile, EOFError, zlib.error,
    ) as exc:  # fmt: skip
        raise ValueError(f"{rows_file}: not a fakebench rows table ({exc})") from exc
    missing = {"detector", "dataset", "metric", "value"} - set(rows.columns)
    if missing:
        raise ValueError(f"{rows_file}: not a fakebench rows table (no {', '.join(missing)})")
    return rows


def _scores_of(folder: Path):  # -> pd.DataFrame | None
    scores_file = publish.find_table(folder, publish.SCORES_FILE)
    return publish.read_scores(scores_file) if scores_file is not None else None


def _dataset_of_run(run: Path) -> dict:
    """The dataset (name, fingerprint, summary) a run folder's ``config.json`` records; {} for
    a folder without one (a bare rows table)."""
    config_file = run / "config.json"
    try:
        config = json.loads(config_file.read_text()) if config_file.is_file() else {}
    except ValueError:
        return {}
    known = config.get("dataset") if isinstance(config, dict) else None
    return known if isinstance(known, dict) else {}
