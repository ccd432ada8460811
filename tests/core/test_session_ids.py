"""Session ids as agents take them: canonical digits as integers, anything else a stable integer."""

import subprocess
import sys

import pytest

from graph.agents.session_id import DERIVED_BASE, as_integer, for_schema

INT_SCHEMA = {"properties": {"session_id": {"type": "integer"}}}
STR_SCHEMA = {"properties": {"session_id": {"type": "string"}}}


@pytest.mark.parametrize("session_id", ["51987654321", "1", "7"])
def test_canonical_digits_travel_as_that_integer(session_id: str) -> None:
    assert as_integer(session_id) == int(session_id)


@pytest.mark.parametrize("session_id", ["user-abc", "051987654321", "0", "a/b", "٣٤", "-5", " 5"])
def test_other_ids_get_a_derived_integer_above_phone_numbers(session_id: str) -> None:
    value = as_integer(session_id)
    assert DERIVED_BASE <= value < 2**53


def test_leading_zeros_make_a_different_session() -> None:
    assert as_integer("051987654321") != as_integer("51987654321")
    assert as_integer("0051987654321") != as_integer("051987654321")


def test_derivation_is_stable_across_processes() -> None:
    code = "from graph.agents.session_id import as_integer; print(as_integer('user-abc'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout) == as_integer("user-abc")


def test_distinct_ids_get_distinct_integers() -> None:
    values = {as_integer(f"web-{i}") for i in range(20000)}
    assert len(values) == 20000


def test_mcp_schema_decides_the_type() -> None:
    assert for_schema("user-abc", INT_SCHEMA) == as_integer("user-abc")
    assert for_schema("51987654321", INT_SCHEMA) == 51987654321
    assert for_schema("51987654321", STR_SCHEMA) == "51987654321"
    assert for_schema("x", None) == "x"
