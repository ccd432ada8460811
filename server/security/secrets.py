"""The raw secret values in the settings, so the log formatter can mask them at every level."""

from pydantic import SecretStr

from common.url_mask import url_secrets
from server.settings import Settings


def secret_values(settings: Settings) -> list[str]:
    """API keys, admin keys, the model key, agent tokens and the secrets inside every URL-valued
    setting (passwords, secret-looking query values: see server/url_mask.py)."""
    values = [key.get_secret_value() for key in (*settings.API_KEYS, *settings.ADMIN_API_KEYS)]
    if settings.OPENAI_API_KEY is not None:
        values.append(settings.OPENAI_API_KEY.get_secret_value())
    for url in url_settings(settings):
        values += url_secrets(url)
    values += [spec.token for spec in settings.roster if spec.token]
    if settings.WEBHOOK_SECRET is not None:  # reply webhooks (issue 24)
        values.append(settings.WEBHOOK_SECRET.get_secret_value())
    return values


def url_settings(settings: Settings) -> list[str]:
    """Every URL the settings hold (storage, Redis, model, business context, tracing, agents)."""
    urls = [
        url.get_secret_value() if isinstance(url, SecretStr) else url
        for url in (
            settings.DATABASE_URL,
            settings.REDIS_URL,
            settings.OPENAI_BASE_URL,
            settings.CONTEXTO_NEGOCIO_ENDPOINT,
            settings.LANGSMITH_ENDPOINT,
        )
        if url is not None
    ]
    return urls + [spec.url for spec in settings.roster]
