"""Business questions answered offline: detect the topic and pick the matching context sentences."""

import re
from collections.abc import Sequence
from functools import lru_cache

from graph.offline.lexicon import SALES_TOPICS, STOPWORDS, TOPIC_QUESTIONS, TOPIC_SENTENCES
from graph.offline.text import normalize_tokens, phonetic_key, same_stem, strip_accents

_QUESTIONS = tuple((topic, re.compile(rx)) for topic, rx in TOPIC_QUESTIONS)
_SENTENCES = tuple((topic, re.compile(rx)) for topic, rx in TOPIC_SENTENCES)
_OWN_THING = re.compile(r"\b(mi|mis) \w+")
# A period ends a sentence unless it follows one of these abbreviations (or sits in brackets).
_ABBREVIATIONS = frozenset(
    "av jr dr dra sr sra srta urb mz lt nro no psje ca esq ing lic etc".split()
)
_QUESTION_START = re.compile(
    r"^(tienen|tiene|hay|aceptan|acepta|permiten|puedo|se puede|cual|cuales|que|como|donde"
    r"|cuando|hacen|ofrecen|venden|manejan|trabajan|atienden)\b"
)


def question_topics(text: str) -> frozenset[str]:
    """The business topics a normalized message asks about (hours, location, payment...)."""
    text = _OWN_THING.sub(" ", text)
    return frozenset(topic for topic, pattern in _QUESTIONS if pattern.search(text))


def looks_like_question(message: str) -> bool:
    """Whether a message is phrased as a question ("?" or a question word first)."""
    return "?" in message or bool(_QUESTION_START.search(" ".join(normalize_tokens(message))))


def is_sales_only(topics: frozenset[str]) -> bool:
    """Whether every topic is one the sales agent also handles (payment, delivery)."""
    return bool(topics) and topics <= SALES_TOPICS


@lru_cache(maxsize=64)
def split_sentences(context: str) -> tuple[str, ...]:
    """The sentences of a business context (abbreviation- and bracket-aware)."""
    sentences: list[str] = []
    start, depth = 0, 0
    for i, ch in enumerate(context):
        depth += (ch in "([") - (ch in ")]")
        ends = ch in ".!?\n" and depth <= 0 and (i + 1 == len(context) or context[i + 1].isspace())
        if ends and ch == ".":
            word = re.search(r"(\w+)$", strip_accents(context[start:i]))
            ends = not (word and word.group(1) in _ABBREVIATIONS)
        if ends:
            sentences.append(context[start : i + 1].strip())
            start = i + 1
    sentences.append(context[start:].strip())
    return tuple(s for s in sentences if len(s) > 1)


@lru_cache(maxsize=1024)
def _content_keys(text: str) -> tuple[str, ...]:
    return tuple(
        phonetic_key(t) for t in normalize_tokens(text) if t not in STOPWORDS and len(t) > 3
    )


def _overlap(message_keys: Sequence[str], sentence: str) -> int:
    keys = _content_keys(sentence)
    return sum(1 for k in message_keys if any(same_stem(k, s) for s in keys))


def answer_from_context(topics: frozenset[str], message: str, context: str | None) -> str | None:
    """The context sentence(s) best matching each topic asked about; None when nothing fits."""
    sentences = split_sentences(context.strip()) if context and context.strip() else ()
    if not sentences:
        return None
    message_keys = _content_keys(message)
    chosen: list[int] = []
    for topic, pattern in _SENTENCES:
        if topic not in topics:
            continue
        scored = []
        for i, sentence in enumerate(sentences):
            hits = len(pattern.findall(strip_accents(sentence)))
            bonus = 2 if topic == "about" and i == 0 else 0
            if hits or bonus:
                scored.append((hits + bonus + 2 * _overlap(message_keys, sentence), -i))
        if scored:
            best = -max(scored)[1]
            if best not in chosen:
                chosen.append(best)
    return " ".join(sentences[i] for i in sorted(chosen)) or None


def answer_by_overlap(message: str, context: str | None) -> str | None:
    """For a question with no known topic: the context sentence sharing its content words."""
    tokens = normalize_tokens(message)
    if not context or len(tokens) > 25 or not _QUESTION_START.search(" ".join(tokens)):
        return None
    message_keys = _content_keys(message)
    if not message_keys:
        return None
    sentences = split_sentences(context.strip())
    scored = [(_overlap(message_keys, s), -i) for i, s in enumerate(sentences)]
    best = max(scored, default=(0, 0))
    return sentences[-best[1]] if best[0] > 0 else None
