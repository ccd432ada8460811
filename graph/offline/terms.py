"""Term matching of the offline router: weighted agent/escalation signals and temas_esc topics."""

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from types import MappingProxyType
from typing import NamedTuple

from graph.offline.lexicon import (
    BOOKING_STEMS,
    COMMON_WORDS,
    EXCLUDED_PREFIXES,
    GENERIC_TOPIC_WORDS,
    PHRASES,
    STOPWORDS,
    TERMS,
)
from graph.offline.text import deletions, normalize_tokens, phonetic_key, same_stem, within_one_edit

Hit = tuple[str, int]  # (class, weight)
FUZZY_MIN_KEY = 6  # only terms this long (as phonetic keys) accept a typo
STRONG_HIT = 3  # a score this high makes guessing misspellings unnecessary
MAX_GUESSES = 10  # misspellings guessed per message (bounds the cost of long messages)
_PROFESSION_RE = re.compile(r"olog[oa]s?$")


class TermIndex(NamedTuple):
    """Phonetic keys of every term, plus a deletion index for one-typo lookups."""

    words: Mapping[str, tuple[Hit, ...]]
    stems: Mapping[str, tuple[Hit, ...]]
    stem_lengths: tuple[int, ...]
    typo_index: Mapping[str, frozenset[tuple[str, bool]]]
    phrases: tuple[tuple[str, int, re.Pattern[str]], ...]


@lru_cache(maxsize=1)
def term_index() -> TermIndex:
    """Build the (immutable) index once."""
    words: dict[str, list[Hit]] = {}
    stems: dict[str, list[Hit]] = {}
    typos: dict[str, set[tuple[str, bool]]] = {}
    for cls, weight, patterns in TERMS:
        for pattern in patterns.split():
            is_stem = pattern.endswith("*")
            key = phonetic_key(pattern.rstrip("*"))
            forms = [key] if is_stem else [key, key + "s", key + "es"]
            for form in forms:
                (stems if is_stem else words).setdefault(form, []).append((cls, weight))
            if len(key) >= FUZZY_MIN_KEY:
                for variant in (key, *deletions(key)):
                    typos.setdefault(variant, set()).add((key, is_stem))
    return TermIndex(
        words=MappingProxyType({k: tuple(v) for k, v in words.items()}),
        stems=MappingProxyType({k: tuple(v) for k, v in stems.items()}),
        stem_lengths=tuple(sorted({len(k) for k in stems})),
        typo_index=MappingProxyType({k: frozenset(v) for k, v in typos.items()}),
        phrases=tuple((cls, w, re.compile(rx)) for cls, w, rx in PHRASES),
    )


def _exact_hits(key: str, index: TermIndex) -> list[Hit]:
    hits = list(index.words.get(key, ()))
    for length in index.stem_lengths:
        if length > len(key):
            break
        hits.extend(index.stems.get(key[:length], ()))
    return hits


def _typo_hits(key: str, index: TermIndex) -> list[Hit]:
    queries = {key, *deletions(key)}
    for length in index.stem_lengths:
        if length >= FUZZY_MIN_KEY:
            for prefix in (key[:length], key[: length + 1]):
                queries.update((prefix, *deletions(prefix)))
            queries.add(key[: length - 1])
    singular = key[:-2] if key.endswith("es") else key[:-1] if key.endswith("s") else key
    hits: list[Hit] = []
    for query in queries:
        for term, is_stem in index.typo_index.get(query, ()):
            size = len(term)
            ok = (
                any(within_one_edit(key[:n], term) for n in (size - 1, size, size + 1))
                if is_stem
                else within_one_edit(singular, term) or within_one_edit(key, term)
            )
            if ok:  # a guessed word counts a little less than a spelled one
                found = (index.stems if is_stem else index.words).get(term, ())
                hits.extend((cls, max(1, weight - 1)) for cls, weight in found)
    return hits


def _strongest(hits: Sequence[Hit]) -> tuple[Hit, ...]:
    best: dict[str, int] = {}
    for cls, weight in hits:
        best[cls] = max(weight, best.get(cls, 0))
    return tuple(sorted(best.items()))


@lru_cache(maxsize=4096)
def token_hits(token: str) -> tuple[Hit, ...]:
    """The (class, weight) signals of one correctly spelled token (strongest per class)."""
    key = phonetic_key(token)
    if len(key) < 2 or key.isdigit() or key.startswith(EXCLUDED_PREFIXES):
        return ()
    hits = _exact_hits(key, term_index())
    if _PROFESSION_RE.search(key) and len(key) > 6:
        hits.append(("cita", 4))
    return _strongest(hits)


@lru_cache(maxsize=4096)
def typo_hits(token: str) -> tuple[Hit, ...]:
    """The signals of a token read as a one-typo misspelling of a long term."""
    key = phonetic_key(token)
    if len(token) < 5 or token in COMMON_WORDS or key.startswith(EXCLUDED_PREFIXES):
        return ()
    return _strongest(_typo_hits(key, term_index()))


def message_scores(tokens: Sequence[str], text: str) -> dict[str, int]:
    """Signal weights of one message per agent, plus "esc", "price" and "goods".

    "venta" includes price questions; "goods" is the sales score without them. Misspellings
    are only guessed when the correctly spelled words say nothing clear.
    """
    scores = {"reserva": 0, "cita": 0, "venta": 0, "esc": 0, "price": 0}
    unknown = []
    for token in tokens:
        hits = token_hits(token)
        if not hits:
            unknown.append(token)
        for cls, weight in hits:
            scores[cls] += weight
    if max(scores.values()) < STRONG_HIT:
        for token in unknown[:MAX_GUESSES]:
            for cls, weight in typo_hits(token):
                scores[cls] += weight
    for cls, weight, pattern in term_index().phrases:
        if pattern.search(text):
            scores[cls] = max(0, scores[cls] + weight)
    scores["goods"] = scores["venta"]
    if scores["price"]:
        booking = max(scores["reserva"], scores["cita"])
        books = any(phonetic_key(t).startswith(BOOKING_STEMS) for t in tokens)
        # "¿cuánto cuesta la consulta?" is for sales; "quiero reservar, ¿cuánto cuesta?" is not
        scores["venta"] = (
            max(0, booking - 1)
            if books and booking
            else max(scores["venta"] + scores["price"], booking + 1)
        )
    return scores


@lru_cache(maxsize=256)
def _topic_keys(temas_esc: str) -> tuple[tuple[str, ...], ...]:
    """Per topic of a comma-separated temas_esc, the phonetic keys that must all appear."""
    topics = []
    for topic in re.split(r"[,;/\n]|\by\b|\bo\b", temas_esc):
        words = [w for w in normalize_tokens(topic) if w not in STOPWORDS and len(w) > 2]
        specific = [w for w in words if w not in GENERIC_TOPIC_WORDS] or words
        if specific:
            topics.append(tuple(phonetic_key(w) for w in specific))
    return tuple(topics)


def mentions_escalation_topic(tokens: Sequence[str], temas_esc: object) -> bool:
    """Whether the message names one of the config's escalation topics (by shared stems)."""
    if not isinstance(temas_esc, str) or not temas_esc.strip():
        return False
    keys = [phonetic_key(t) for t in tokens if t not in STOPWORDS and len(t) > 2]
    return any(
        all(any(same_stem(k, topic_key) for k in keys) for topic_key in topic)
        for topic in _topic_keys(temas_esc)
    )


DESCRIPTION_HIT = 2
"""What each distinct word of an agent's description found in a message scores (WEAK)."""


@lru_cache(maxsize=256)
def _description_keys(description: str) -> tuple[str, ...]:
    words = {w for w in normalize_tokens(description) if w not in STOPWORDS and len(w) > 3}
    return tuple(sorted(phonetic_key(w) for w in words if w not in COMMON_WORDS))


def description_score(tokens: Sequence[str], description: str) -> int:
    """How strongly a message names what an agent's description says it does (shared stems)."""
    keys = {phonetic_key(t) for t in tokens if t not in STOPWORDS and len(t) > 3}
    found = sum(1 for d in _description_keys(description) if any(same_stem(k, d) for k in keys))
    return DESCRIPTION_HIT * found
