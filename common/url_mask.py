"""One masking rule for URLs wherever settings are shown or logged: the userinfo password and
the values of query parameters whose names look secret become ***."""

import re
from urllib.parse import unquote, urlsplit

MASK = "***"
SECRET_PARAM_WORDS = ("password", "pass", "pwd", "token", "key", "secret", "sig")
"""A query parameter whose lower-cased name contains one of these has its value masked
(`password`, `access_token`, `api_key`, `apikey`, `X-Amz-Signature`, `sig`)."""
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>`\\]+")


def _secret_name(name: str) -> bool:
    low = unquote(name).lower()
    return any(word in low for word in SECRET_PARAM_WORDS)


def _mask_query(query: str) -> str:
    parts = []
    for part in re.split("([&;])", query):
        name, eq, _ = part.partition("=")
        parts.append(f"{name}={MASK}" if eq and _secret_name(name) else part)
    return "".join(parts)


def mask_url(url: str) -> str:
    """`url` with its password and secret-looking query values as ***; the rest kept as written.

    `postgresql://app:s3cret@db/orq?sslmode=require&password=x` →
    `postgresql://app:***@db/orq?sslmode=require&password=***`."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    end = len(rest)
    for stop in "/?#":
        found = rest.find(stop)
        if found >= 0:
            end = min(end, found)
    authority, tail = rest[:end], rest[end:]
    userinfo, has_userinfo, host = authority.rpartition("@")
    if has_userinfo and ":" in userinfo:
        user = userinfo.split(":", 1)[0]
        authority = f"{user}:{MASK}@{host}"
    path, qmark, query = tail.partition("?")
    if qmark:
        query, hash_, fragment = query.partition("#")
        tail = f"{path}?{_mask_query(query)}{hash_}{fragment}"
    return f"{scheme}://{authority}{tail}"


def mask_urls_in(text: str) -> str:
    """Every URL inside `text` (an error line, a log line) masked by `mask_url`."""
    if "://" not in text:
        return text
    return _URL.sub(lambda match: mask_url(match.group(0)), text)


def url_secrets(url: str | None) -> list[str]:
    """The secret values inside `url` (its password, secret-looking query values), raw and
    percent-decoded: the log formatter masks them wherever else they appear."""
    if not url:
        return []
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return []
    values = [password] if password else []
    for part in re.split("[&;]", parts.query):
        name, eq, value = part.partition("=")
        if eq and value and _secret_name(name):
            values.append(value)
    return [v for value in values for v in {value, unquote(value)}]
