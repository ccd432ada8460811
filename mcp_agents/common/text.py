"""Spanish text normalization, number words and fuzzy name matching."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

NUMBER_WORDS: Mapping[str, int] = MappingProxyType(
    {
        "un": 1,
        "uno": 1,
        "una": 1,
        "dos": 2,
        "tres": 3,
        "cuatro": 4,
        "cinco": 5,
        "seis": 6,
        "siete": 7,
        "ocho": 8,
        "nueve": 9,
        "diez": 10,
        "once": 11,
        "doce": 12,
        "trece": 13,
        "catorce": 14,
        "quince": 15,
        "veinte": 20,
    }
)
NUMBER_PATTERN = r"\d{1,3}|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))

STOPWORDS = frozenset(
    "a al con de del el en la las lo los mi me para por que un una unos unas y o x"
    " dr dra lic ing cpc sr sra srta".split()
)


def normalize(text: str) -> str:
    """Lower-case, strip accents (ñ becomes n) and collapse whitespace."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return re.sub(r"\s+", " ", stripped).strip()


def tokens(text: str) -> list[str]:
    """Normalized alphanumeric words of a text."""
    return re.findall(r"[a-z0-9]+", normalize(text))


def content_tokens(text: str) -> list[str]:
    """Normalized words without Spanish stopwords."""
    return [tok for tok in tokens(text) if tok not in STOPWORDS]


def to_int(word: str) -> int | None:
    """An integer from digits or a Spanish number word ("cuatro" -> 4)."""
    word = normalize(word)
    if word.isdigit():
        return int(word)
    return NUMBER_WORDS.get(word)


def same_word(a: str, b: str) -> bool:
    """Equal words, singular/plural forms, or a close typo for longer words."""
    if a == b or a in (b + "s", b + "es") or b in (a + "s", a + "es"):
        return True
    if len(a) >= 5 and len(b) >= 5 and not (a.isdigit() or b.isdigit()):
        return difflib.SequenceMatcher(None, a, b).ratio() >= 0.8
    return False


@dataclass(frozen=True)
class Option:
    """Something the user can name: a service or a product."""

    key: str
    name: str
    keywords: tuple[str, ...] = ()


def match_score(query: str, option: Option) -> float:
    """How well a free text names an option (0 means not at all)."""
    norm = normalize(query)
    name = normalize(option.name)
    if norm == name or norm == option.key.lower():
        return 100.0
    if re.search(rf"(?<![a-z0-9]){re.escape(name)}(?![a-z0-9])", norm):
        return 50.0
    words = content_tokens(query)
    # numbers ("Mesa para 4", "500 ml") only count through the whole-name match above
    name_words = [w for w in content_tokens(option.name) if len(w) > 1 and not w.isdigit()]
    hits = sum(1 for nw in name_words if any(same_word(nw, w) for w in words))
    score = float(hits)
    if name_words and hits == len(name_words):
        score += 5.0
    score += sum(0.5 for kw in option.keywords if any(same_word(normalize(kw), w) for w in words))
    return score


def best_matches(query: str, options: Iterable[Option]) -> list[Option]:
    """The options with the highest positive score (several when it is a tie)."""
    scored = [(match_score(query, opt), opt) for opt in options]
    top = max((score for score, _ in scored), default=0.0)
    if top <= 0:
        return []
    return [opt for score, opt in scored if score == top]


def ranked_matches(query: str, options: Iterable[Option]) -> list[Option]:
    """Every option with a positive score, best first."""
    scored = [(match_score(query, opt), opt) for opt in options]
    return [opt for score, opt in sorted(scored, key=lambda p: -p[0]) if score > 0]


def join_es(items: Sequence[str], last: str = "y") -> str:
    """ "a, b y c" in Spanish."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {last} " + items[-1]
