"""The company key masked in text that arrives whole or in pieces (fast, in memory)."""

from __future__ import annotations

from graph.secret_mask import StreamMasker, mask_secret

KEY = "empresa7-clave-0123456789abcdef"


def test_mask_secret() -> None:
    assert mask_secret(f"a {KEY} b {KEY}", KEY) == "a *** b ***"
    assert mask_secret("nothing here", KEY) == "nothing here"
    assert mask_secret("abc abc", "abc") == "abc abc"  # too short to be a key: untouched
    assert mask_secret("text", None) == "text"


def test_a_key_split_across_pieces_is_never_sent() -> None:
    text = f"Hola, tu clave es {KEY}, guárdala. Clave otra vez:{KEY}"
    for size in (1, 2, 3, 5, 7, 11, 40):
        masker = StreamMasker(KEY)
        sent = [masker.feed(text[i : i + size]) for i in range(0, len(text), size)]
        joined = "".join(sent)
        expected = text.replace(KEY, "***")
        assert expected.startswith(joined)  # never more than the masked text, in order
        assert KEY[:8] not in joined
        assert len(expected) - len(joined) < len(KEY)  # only a possible key start held back


def test_a_held_back_start_that_is_not_the_key_is_sent_later() -> None:
    masker = StreamMasker(KEY)
    assert masker.feed("la empresa") == "la "  # "empresa" may start the key
    assert masker.feed(" responde.") == "empresa responde."


def test_without_a_key_pieces_pass_through() -> None:
    masker = StreamMasker(None)
    assert [masker.feed(p) for p in ("a", "b", "")] == ["a", "b", ""]
