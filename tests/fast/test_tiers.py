"""The tiers stay honest: `make test-fast` collects every file marked fast, and the markers that
select tiers are registered."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.fast

REPO = Path(__file__).resolve().parents[2]
MARK = re.compile(r"^pytestmark = pytest\.mark\.fast\b", re.MULTILINE)


def fast_tests_in_makefile() -> set[Path]:
    text = (REPO / "Makefile").read_text().replace("\\\n", " ")
    match = re.search(r"^FAST_TESTS :?= (.+)$", text, re.MULTILINE)
    assert match, "the Makefile has no FAST_TESTS list"
    return {REPO / part for part in match.group(1).split()}


def test_every_file_marked_fast_is_collected_by_make_test_fast() -> None:
    listed = fast_tests_in_makefile()
    marked = {p for p in (REPO / "tests").rglob("test_*.py") if MARK.search(p.read_text())}
    assert marked, "no file is marked fast"
    missing = [
        str(p.relative_to(REPO))
        for p in marked
        if not any(p == d or d in p.parents for d in listed)
    ]
    assert missing == [], "add these to FAST_TESTS in the Makefile"


def test_every_listed_path_exists() -> None:
    assert [p for p in fast_tests_in_makefile() if not p.exists()] == []


def test_the_tier_markers_are_registered() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    markers = config["tool"]["pytest"]["ini_options"]["markers"]
    assert {m.split(":")[0] for m in markers} >= {"fast", "slow", "pg", "redis", "browser"}


def test_this_test_is_in_the_fast_tier_only(request: pytest.FixtureRequest) -> None:
    marks = {mark.name for mark in request.node.iter_markers()}
    assert "fast" in marks
    assert not marks & {"slow", "pg", "redis", "browser"}
