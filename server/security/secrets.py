"""The raw secret values in the settings, so the log formatter can mask them at every level."""

from urllib.parse import urlsplit

from pydantic import SecretStr

from server.settings import Settings


def secret_values(settings: Settings) -> list[str]:
    """API keys, admin keys, the model key and the passwords inside DATABASE_URL / REDIS_URL."""
    values = [key.get_secret_value() for key in (*settings.API_KEYS, *settings.ADMIN_API_KEYS)]
    if settings.OPENAI_API_KEY is not None:
        values.append(settings.OPENAI_API_KEY.get_secret_value())
    for url in (settings.DATABASE_URL, settings.REDIS_URL):
        if isinstance(url, SecretStr):
            password = urlsplit(url.get_secret_value()).password
            if password:
                values.append(password)
    values += [spec.token for spec in settings.roster if spec.token]
    if settings.WEBHOOK_SECRET is not None:  # reply webhooks (issue 24)
        values.append(settings.WEBHOOK_SECRET.get_secret_value())
    return values
