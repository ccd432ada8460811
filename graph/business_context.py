"""The company's business context, fetched from CONTEXTO_NEGOCIO_ENDPOINT, cached per id_empresa."""

import asyncio
import logging

import httpx
from cachetools import TTLCache

from graph.text_clean import clean_text

log = logging.getLogger(__name__)


class BusinessContextClient:
    """Fetches `OBTENER_CONTEXTO_NEGOCIO`; an unset, slow or failing endpoint yields None."""

    def __init__(
        self,
        endpoint: str | None,
        *,
        http: httpx.AsyncClient,
        timeout: float,
        ttl: float,
        failure_ttl: float = 30.0,
        max_entries: int = 10_000,
    ) -> None:
        self._endpoint = endpoint
        self._http = http
        self._timeout = timeout
        self._cache: TTLCache[int, str | None] | None = (
            TTLCache(maxsize=max_entries, ttl=ttl) if ttl > 0 else None
        )
        # A failed or timed-out fetch is remembered per company, so a hanging service costs one
        # timeout per `failure_ttl` seconds instead of one per turn.
        self._failed: TTLCache[int, bool] | None = (
            TTLCache(maxsize=max_entries, ttl=failure_ttl) if failure_ttl > 0 else None
        )
        self._inflight: dict[int, asyncio.Future[str | None]] = {}

    async def get(self, id_empresa: int) -> str | None:
        """The context text for a company, from cache when fresh; None when unavailable."""
        if self._endpoint is None:
            return None
        if self._cache is not None and id_empresa in self._cache:
            return self._cache[id_empresa]
        if self._failed is not None and id_empresa in self._failed:
            return None
        pending = self._inflight.get(id_empresa)
        if pending is not None:  # one fetch per company at a time
            return await asyncio.shield(pending)
        future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._inflight[id_empresa] = future
        try:
            text = await self._fetch(id_empresa)
            if self._cache is not None and text is not None:
                self._cache[id_empresa] = text
            if self._failed is not None and text is None:
                self._failed[id_empresa] = True
            future.set_result(text)
            return text
        finally:
            if not future.done():
                future.set_result(None)
            self._inflight.pop(id_empresa, None)

    async def _fetch(self, id_empresa: int) -> str | None:
        body = {"codOpe": "OBTENER_CONTEXTO_NEGOCIO", "id_empresa": id_empresa}
        try:
            async with asyncio.timeout(self._timeout):  # a total bound, not per read
                response = await self._http.post(
                    self._endpoint or "", json=body, timeout=self._timeout
                )
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError, TimeoutError) as exc:
            log.warning(
                "business context unavailable",
                extra={"id_empresa": id_empresa, "error": type(exc).__name__},
            )
            return None
        text = data.get("contexto_negocio") if isinstance(data, dict) else None
        if not (isinstance(data, dict) and data.get("success") and isinstance(text, str)):
            log.warning("business context answer without text", extra={"id_empresa": id_empresa})
            return None
        return clean_text(text).strip() or None
