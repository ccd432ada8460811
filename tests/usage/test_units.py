"""Fast in-memory checks: agents' usage objects, price names, the bounded company label."""

from __future__ import annotations

import pytest

from graph.usage import reported_usage
from server.observability.metrics import CompanyLabels
from server.settings import ModelPrice
from server.usage.prices import Pricing


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"input_tokens": 10, "output_tokens": 3}, (10, 3)),
        ({"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9}, (7, 2)),
        ({"prompt_tokens": 7}, (7, 0)),
        ({"input_tokens": -1, "output_tokens": 3}, None),
        ({"input_tokens": "10", "output_tokens": 3}, None),
        ({"input_tokens": True, "output_tokens": 3}, None),
        ({"input_tokens": 0, "output_tokens": 0}, None),
        ({"input_tokens": 10**12, "output_tokens": 1}, (10**9, 1)),
        ("10 tokens", None),
        (None, None),
    ],
)
def test_an_agents_usage_object(data: object, expected: tuple[int, int] | None) -> None:
    assert reported_usage(data) == expected


def test_dated_model_names_take_their_base_price_and_others_are_other() -> None:
    prices = {
        "gpt-4o-mini": ModelPrice(input=0.15, output=0.6),
        "gpt-4o": ModelPrice(input=2.5, output=10),
    }
    pricing = Pricing(prices, "gpt-4o-mini")
    assert pricing.name("gpt-4o-mini-2024-07-18") == "gpt-4o-mini"
    assert pricing.name("gpt-4o-2024-08-06") == "gpt-4o"
    assert pricing.name("llama3") == "other" and pricing.cost("other", 10**6, 10**6) == 0.0
    assert pricing.cost("gpt-4o", 1_000_000, 500_000) == pytest.approx(7.5)
    unpriced = Pricing({}, "qwen2.5")
    assert unpriced.name("qwen2.5") == "qwen2.5" and unpriced.cost("qwen2.5", 100, 100) == 0.0


def test_the_company_label_is_bounded() -> None:
    labels = CompanyLabels(2, top=[9])
    assert [labels.label(c) for c in (9, 5, 6, 5, None)] == ["9", "5", "other", "5", "none"]
