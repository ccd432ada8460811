"""Normalization of chat Spanish (accents, repeats, WhatsApp spellings) and phonetic keys."""

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from types import MappingProxyType

# Emoji that carry meaning in a chat turn; every other symbol is dropped.
_EMOJI_WORDS = MappingProxyType(
    {
        "👍": " ok ",
        "👌": " ok ",
        "✅": " ok ",
        "🙌": " ok ",
        "👋": " hola ",
        "🙏": " gracias ",
    }
)

# Whole-token rewrites of chat abbreviations and common misspellings (applied after accents go).
ABBREVIATIONS = MappingProxyType(
    {
        "q": "que",
        "k": "que",
        "ke": "que",
        "qe": "que",
        "xq": "porque",
        "pq": "porque",
        "xk": "porque",
        "porq": "porque",
        "x": "por",
        "porfa": "por favor",
        "porfis": "por favor",
        "porfavor": "por favor",
        "xfa": "por favor",
        "xfavor": "por favor",
        "pls": "por favor",
        "plis": "por favor",
        "plz": "por favor",
        "tb": "tambien",
        "tmb": "tambien",
        "tbn": "tambien",
        "dnd": "donde",
        "d": "de",
        "bn": "bien",
        "bns": "buenas",
        "wenas": "buenas",
        "wenos": "buenos",
        "bnas": "buenas",
        "buenass": "buenas",
        "grax": "gracias",
        "grcs": "gracias",
        "grs": "gracias",
        "grasias": "gracias",
        "gracia": "gracias",
        "ola": "hola",
        "holi": "hola",
        "holis": "hola",
        "olis": "hola",
        "hello": "hola",
        "hi": "hola",
        "slds": "saludos",
        "msj": "mensaje",
        "info": "informacion",
        "cel": "celular",
        "nro": "numero",
        "num": "numero",
        "hr": "hora",
        "hrs": "horas",
        "pa": "para",
        "pal": "para el",
        "toy": "estoy",
        "kien": "quien",
        "kiero": "quiero",
        "kisiera": "quisiera",
        "aki": "aqui",
        "kmo": "como",
        "cmo": "como",
        "dsd": "desde",
        "dps": "despues",
        "cto": "cuanto",
        "cnto": "cuanto",
        "kuanto": "cuanto",
        "okey": "ok",
        "okay": "ok",
        "oki": "ok",
        "oka": "ok",
        "okis": "ok",
        "okk": "ok",
        "sip": "si",
        "sii": "si",
        "yes": "si",
        "bye": "chau",
        "bay": "chau",
        "chao": "chau",
        "chaito": "chau",
        "byebye": "chau",
        "tqm": "gracias",
        "thanks": "gracias",
        "thx": "gracias",
        "dr": "doctor",
        "dra": "doctora",
        "wsp": "whatsapp",
        "wasap": "whatsapp",
        "whats": "whatsapp",
        "mñn": "manana",
        "buenosdias": "buenos dias",
        "buenastardes": "buenas tardes",
        "buenasnoches": "buenas noches",
        "c": "se",
        "tmr": "",
        "pe": "",
        "ps": "",
        "pues": "",
        "nomas": "",
    }
)

_TOKEN_RE = re.compile(r"[a-z0-9]+")


_SPANISH_ACCENTS = str.maketrans("áéíóúüñàèìòùäëïö", "aeiouunaeiouaeio")


def strip_accents(text: str) -> str:
    """Lowercase `text` and drop diacritics (ñ becomes n)."""
    text = text.lower().translate(_SPANISH_ACCENTS)
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


_RUN_RE = re.compile(r"([a-z])\1{2,}")
_PAIR_RE = re.compile(r"([abdfghijkmpqstuvwxyz])\1")
_LAUGH_RE = re.compile(r"(j+[aeiou]+)+j*|(ha){2,}h?|xd+|lol")


def _collapse(word: str) -> str:
    return _PAIR_RE.sub(r"\1", _RUN_RE.sub(r"\1", word))


def _squash_laughs(word: str) -> str:
    return "jaja" if _LAUGH_RE.fullmatch(word) else word


def normalize_tokens(text: str) -> list[str]:
    """Lowercase, accent-free, repeat-collapsed, abbreviation-expanded tokens of `text`."""
    for emoji, word in _EMOJI_WORDS.items():
        text = text.replace(emoji, word)
    tokens: list[str] = []
    for raw in _TOKEN_RE.findall(strip_accents(text)):
        word = _squash_laughs(_collapse(raw)) if raw.isalpha() else raw
        word = ABBREVIATIONS.get(word, word)
        tokens.extend(word.split())
    return tokens


_PHONETIC_RE = re.compile(
    r"(g(?=[ei]))|(gu(?=[ei]))|(qu(?=[ei]))|(c(?=[ei]))|(ch)|(ll)|([qc])|(z)|(v)|(w)|(h)|(y$)"
)
_PHONETIC_OUT = ("", "j", "g", "k", "s", "X", "y", "k", "s", "b", "u", "", "i")
_DOUBLE_RE = re.compile(r"(.)\1+")


@lru_cache(maxsize=8192)
def phonetic_key(word: str) -> str:
    """A spelling-insensitive key: b/v, c/s/z, c/k/qu, g/j, ll/y, silent h, doubled letters."""
    spoken = _PHONETIC_RE.sub(lambda m: _PHONETIC_OUT[m.lastindex or 0], word)
    return _DOUBLE_RE.sub(r"\1", spoken)


def common_prefix_len(a: str, b: str) -> int:
    """Length of the common prefix of `a` and `b`."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


@lru_cache(maxsize=8192)
def light_stem(key: str) -> str:
    """Drop a plural and a final vowel from a phonetic key ("reklamos" -> "reklam")."""
    if len(key) > 4 and key.endswith("s"):
        key = key[:-2] if key.endswith("es") else key[:-1]
    return key[:-1] if len(key) > 3 and key[-1] in "aeiou" else key


def same_stem(token_key: str, topic_key: str) -> bool:
    """Whether two phonetic keys are forms of one word (reclamo/reclamos, devolver/devolución)."""
    if token_key == topic_key:
        return True
    if len(topic_key) >= 3 and light_stem(token_key) == light_stem(topic_key):
        return True
    shared = common_prefix_len(token_key, topic_key)
    return shared >= 5 or (shared >= 4 and shared >= len(light_stem(topic_key)))


def deletions(word: str) -> Iterable[str]:
    """Every string made by deleting one character of `word`."""
    return (word[:i] + word[i + 1 :] for i in range(len(word)))


def within_one_edit(a: str, b: str) -> bool:
    """Damerau-Levenshtein distance of at most 1 (substitution, insertion, deletion, swap)."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    i = common_prefix_len(a, b)
    if la == lb:
        rest_a, rest_b = a[i + 1 :], b[i + 1 :]
        swapped = i + 1 < la and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]
        return rest_a == rest_b or swapped
    longer, shorter = (a, b) if la > lb else (b, a)
    return longer[i + 1 :] == shorter[i:]
