"""MODEL_PRICES: a model's bounded name (for rows and metric labels) and the cost of its tokens."""

from collections.abc import Mapping

from server.settings import ModelPrice

OTHER_MODEL = "other"
PER_TOKENS = 1_000_000


class Pricing:
    """Prices in USD per million tokens; a provider's dated name (gpt-4o-mini-2024-07-18) uses
    the longest priced name it starts with."""

    def __init__(self, prices: Mapping[str, ModelPrice], default_model: str) -> None:
        self._prices = dict(prices)
        self._known = sorted({*self._prices, default_model}, key=len, reverse=True)

    def name(self, model: str) -> str:
        """The priced (or configured) name `model` belongs to; `other` for any other name, so
        stored rows and metric labels stay few whatever a provider or agent reports."""
        for known in self._known:
            if model == known or model.startswith(known + "-"):
                return known
        return OTHER_MODEL

    def cost(self, name: str, input_tokens: int, output_tokens: int) -> float:
        """USD of these tokens of the model `name` (0 when it has no price)."""
        price = self._prices.get(name)
        if price is None:
            return 0.0
        return (input_tokens * price.input + output_tokens * price.output) / PER_TOKENS
