"""The chat models of turns: the server's (OPENAI_API_KEY) and each company's own key, reused."""

import hashlib

from cachetools import LRUCache
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from graph.deps import TurnModel
from server.settings import Settings

MAX_COMPANY_MODELS = 256


class ModelPool:
    """One model client per key (a bounded cache keyed by a hash of the key, never the key)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._server: TurnModel | None = None
        if settings.llm_enabled and settings.OPENAI_API_KEY is not None:
            self._server = TurnModel(self._build(settings.OPENAI_API_KEY))
        self._companies: LRUCache[str, TurnModel] = LRUCache(maxsize=MAX_COMPANY_MODELS)

    @property
    def server_model(self) -> TurnModel | None:
        """The model on the server's own key (None when routing offline)."""
        return self._server

    def get(self, api_key: str | None) -> TurnModel | None:
        """The company's model when it sent a key, else the server's (None: route offline)."""
        if not api_key or self._settings.LLM_MODE == "offline":
            return self._server
        digest = hashlib.sha256(api_key.encode()).hexdigest()
        model = self._companies.get(digest)
        if model is None:
            model = TurnModel(self._build(SecretStr(api_key)))
            self._companies[digest] = model
        return model

    def _build(self, key: SecretStr) -> ChatOpenAI:
        s = self._settings
        return ChatOpenAI(
            model=s.OPENAI_MODEL,
            api_key=key,
            base_url=s.OPENAI_BASE_URL,
            timeout=s.OPENAI_TIMEOUT,
            max_retries=s.OPENAI_MAX_RETRIES,
            temperature=0,
            stream_usage=True,  # streamed answers report their tokens too
        )
