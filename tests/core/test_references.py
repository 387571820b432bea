"""Every user-facing citation is decodable: authors and year, never an internal file number."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from benchmark.core.references import REFERENCES, markdown

# "seed 000", "seed 001 §5", "seeds 002": the source reports' internal file numbers (every
# detector's citation is checked against it in tests/detectors/test_contract.py)
INTERNAL = re.compile(r"\bseeds? 0\d\d\b", re.IGNORECASE)


def test_user_facing_text_never_cites_file_numbers(repo_root: Path):
    files = [repo_root / "README.md", *repo_root.glob("datasets/*.md")]
    this = Path(__file__).resolve()  # its examples above are the pattern itself
    files += [p for p in (repo_root / "tests").rglob("*.py") if p.resolve() != this]
    files += [p for p in (repo_root / "results").rglob("*.md")]
    files += list((repo_root / "benchmark").rglob("*.py")) + list(
        (repo_root / "detectors").rglob("*.py")
    )
    offenders = [
        f"{p.relative_to(repo_root)}:{i}"
        for p in files
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if INTERNAL.search(line)
    ]
    assert not offenders, offenders


def test_readme_lists_every_reference(repo_root: Path):
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    missing = [r.short for r in REFERENCES.values() if f"**{r.short}.**" not in readme]
    assert not missing, "README's References section is stale; paste references.markdown()"
    assert markdown().startswith("- **")


@pytest.mark.parametrize("argv", [["list"], ["list", "--references"]])
def test_list_points_to_full_references(argv, capsys):
    from benchmark.cli import main

    assert main(argv) == 0
    out = capsys.readouterr().out
    assert ("--references" in out) if argv == ["list"] else ("arXiv:2503.11389" in out)
