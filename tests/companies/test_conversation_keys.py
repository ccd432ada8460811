"""Conversation keys are injective: no session id the API accepts equals a company's key."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from server.conversations.keys import MARK, conversation_key, split_key
from server.turn.session_ids import canonical_session_id

ids = st.text(min_size=1, max_size=40)
companies = st.integers(min_value=1, max_value=2**63 - 1)


@given(raw=ids, company=companies, other=ids)
def test_no_canonical_session_id_is_a_company_key(raw: str, company: int, other: str) -> None:
    bare = canonical_session_id(raw)
    assert not bare.startswith(MARK)
    assert bare != conversation_key(company, canonical_session_id(other), "company")
    assert split_key(bare) == (None, bare)


@given(company=companies, raw=ids)
def test_a_key_splits_back_into_its_pair(company: int, raw: str) -> None:
    session_id = canonical_session_id(raw)
    assert split_key(conversation_key(company, session_id, "company")) == (company, session_id)


@given(a=companies, b=companies, x=ids, y=ids)
def test_two_pairs_never_share_a_key(a: int, b: int, x: str, y: str) -> None:
    x, y = canonical_session_id(x), canonical_session_id(y)
    if (a, x) != (b, y):
        assert conversation_key(a, x, "company") != conversation_key(b, y, "company")


def test_tricky_ids() -> None:
    # an id that looks like a key, with the mark inside, or made of digits and colons
    for raw in ("\x1f7:555", " \x1f7:555", "7:555", "a\x1f7:555", "555\x1f"):
        bare = canonical_session_id(raw)
        assert bare != conversation_key(7, "555", "company")
    assert conversation_key(7, "12:34", "company") != conversation_key(712, "34", "company")
    assert split_key(conversation_key(7, "12:34", "company")) == (7, "12:34")
    # global scope, or no company: the bare id (the old behaviour)
    assert conversation_key(7, "555", "global") == "555" == conversation_key(None, "555", "company")
