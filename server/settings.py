"""Service settings: one pydantic-settings class read from the environment (and `.env`)."""

import json
import os
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from common.url_mask import mask_url, mask_urls_in
from graph.agents.roster import REFERENCE_AGENTS, Roster
from server.agent_settings import (
    AgentVariables,
    WithoutAgentVariables,
    build_roster,
    collect_from_init,
)

AgentMode = Literal["auto", "chat", "tools"]

ALIASES = {
    "AGENT_TIMEOUT": "MCP_TIMEOUT",
    "AGENT_MAX_RETRIES": "MCP_MAX_RETRIES",
    "AGENT_RETRY_BACKOFF": "MCP_RETRY_BACKOFF",
    "AGENT_CIRCUIT_BREAKER_FAILURE_THRESHOLD": "MCP_CIRCUIT_BREAKER_FAILURE_THRESHOLD",
    "AGENT_CIRCUIT_BREAKER_RESET_TIMEOUT": "MCP_CIRCUIT_BREAKER_RESET_TIMEOUT",
}
"""The agent settings' names before issue 22 (still read; the new name wins when both are set)."""


def _alias(name: str) -> AliasChoices:
    return AliasChoices(name, ALIASES[name])


class ModelPrice(BaseModel):
    """USD per million tokens of one model (MODEL_PRICES)."""

    model_config = ConfigDict(extra="forbid")

    input: float = Field(ge=0)
    output: float = Field(ge=0)


DEFAULT_MODEL_PRICES = {
    # OpenAI's list prices when written (USD per 1M tokens): figures to check against your bill
    "gpt-4o-mini": ModelPrice(input=0.15, output=0.60),
    "gpt-4o": ModelPrice(input=2.50, output=10.00),
}


class Settings(BaseSettings):
    """Every variable of the deployment guide, with its name and default, plus the product's own."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=True)

    # Model
    OPENAI_API_KEY: SecretStr | None = None
    OPENAI_MODEL: str = "gpt-4o-mini"
    OPENAI_TIMEOUT: float = Field(60, gt=0)
    OPENAI_BASE_URL: str | None = None
    OPENAI_MAX_RETRIES: int = Field(1, ge=0, le=10)
    LLM_MODE: Literal["auto", "openai", "offline"] = "auto"
    AGENT_MAX_STEPS: int = Field(6, ge=1, le=50)

    # Agents (MCP over streamable HTTP)
    MCP_RESERVA_URL: str = "http://localhost:8003/mcp"
    MCP_CITA_URL: str = "http://localhost:8002/mcp"
    MCP_VENTA_URL: str = "http://localhost:8001/mcp"
    MCP_RESERVA_ENABLED: bool = True
    MCP_CITA_ENABLED: bool = True
    MCP_VENTA_ENABLED: bool = True
    MCP_RESERVA_MODE: AgentMode = "auto"
    MCP_CITA_MODE: AgentMode = "auto"
    MCP_VENTA_MODE: AgentMode = "auto"
    # Every agent call, MCP or HTTP (issue 22: the MCP_* names stay as documented aliases)
    AGENT_TIMEOUT: float = Field(30, gt=0, validation_alias=_alias("AGENT_TIMEOUT"))
    AGENT_MAX_RETRIES: int = Field(3, ge=1, le=10, validation_alias=_alias("AGENT_MAX_RETRIES"))
    AGENT_RETRY_BACKOFF: float = Field(0.2, ge=0, validation_alias=_alias("AGENT_RETRY_BACKOFF"))
    AGENT_CIRCUIT_BREAKER_FAILURE_THRESHOLD: int = Field(
        5, ge=1, validation_alias=_alias("AGENT_CIRCUIT_BREAKER_FAILURE_THRESHOLD")
    )
    AGENT_CIRCUIT_BREAKER_RESET_TIMEOUT: float = Field(
        60, gt=0, validation_alias=_alias("AGENT_CIRCUIT_BREAKER_RESET_TIMEOUT")
    )

    # Agent roster (AGENT_<KEY>_URL and its options, any KEY) and routing
    AGENT_VARIABLES: dict[str, str] = Field(default_factory=dict)
    """Every AGENT_<KEY>_<OPTION> variable, collected (see server/agent_settings.py)."""
    AGENT_MAX_CONCURRENCY: int = Field(25, ge=1, le=1000)
    MODALIDAD_AGENTS: dict[str, str] = Field(
        default_factory=lambda: {
            "citas": "cita",
            "ventas": "venta",
            "reservas": "reserva",
            "citas y ventas": "citas_ventas",
        }
    )
    ROUTING_MODE: Literal["router", "direct"] = "router"
    TURN_TIMEOUT: float = Field(50, gt=0)

    # Business context
    CONTEXTO_NEGOCIO_ENDPOINT: str | None = None
    CONTEXTO_NEGOCIO_TIMEOUT: float = Field(10, gt=0)
    CONTEXTO_NEGOCIO_CACHE_TTL: float = Field(300, ge=0)

    # Conversation storage
    CHECKPOINT_DB: str = "data/checkpoints.sqlite"
    DATABASE_URL: SecretStr | None = None
    DATABASE_POOL_SIZE: int = Field(10, ge=1, le=200)
    DATABASE_LOCK_POOL_SIZE: int = Field(20, ge=1, le=500)
    DATABASE_POOL_TIMEOUT: float = Field(5, gt=0)
    MAX_HISTORY_TURNS: int = Field(10, ge=1, le=500)
    SESSION_LOCK_TIMEOUT: float = Field(120, gt=0)
    SESSION_TTL_SECONDS: int = Field(7 * 24 * 3600, ge=0)
    SESSION_SWEEP_INTERVAL: float = Field(60, gt=0)
    # Reliability (issue 14): graceful shutdown, bounded replies, remembered context failures,
    # storage health checks
    SHUTDOWN_GRACE_SECONDS: float = Field(60, ge=0)
    MAX_REPLY_CHARS: int = Field(4096, ge=16)
    CONTEXTO_NEGOCIO_FAILURE_TTL: float = Field(30, ge=0)
    STORAGE_CHECK_INTERVAL: float = Field(5, ge=0)

    # Security
    API_KEYS: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    ADMIN_API_KEYS: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    CORS_ORIGINS: Annotated[list[str], NoDecode] = Field(default_factory=list)
    RATE_LIMIT_PER_MINUTE: int = Field(600, ge=0)
    SESSION_RATE_LIMIT_PER_MINUTE: int = Field(30, ge=0)
    REDIS_URL: SecretStr | None = None
    MAX_BODY_BYTES: int = Field(64 * 1024, ge=1024)
    MAX_MESSAGE_CHARS: int = Field(4000, ge=1)
    # Rate-limit Redis short-circuit: a decision never waits longer than REDIS_TIMEOUT; 3 failures
    # in a row count per process for REDIS_BREAKER_RESET_SECONDS
    REDIS_TIMEOUT: float = Field(0.5, gt=0, le=10)
    REDIS_BREAKER_RESET_SECONDS: float = Field(30, gt=0)

    # Tracing (LangSmith): one trace per turn when on; nothing is sent when off
    LANGSMITH_TRACING: bool = False
    LANGSMITH_API_KEY: SecretStr | None = None
    LANGSMITH_PROJECT: str = "maravia-orquestador"
    LANGSMITH_ENDPOINT: str = "https://api.smith.langchain.com"
    # Playground page (issue 16): GET /playground, a browser page to try a bot configuration
    PLAYGROUND_ENABLED: bool = True
    # Agents (issues 20, 21): the largest agent answer read, how long /ready trusts a probe
    MAX_AGENT_RESPONSE_BYTES: int = Field(1024 * 1024, ge=1024)
    AGENT_PROBE_INTERVAL: float = Field(5, ge=0)

    # Replies by webhook (issue 24): `Prefer: respond-async` turns answered 202, their replies
    # delivered, signed, from a durable outbox in the checkpoint database
    REPLY_WEBHOOK_URL: str | None = None
    REPLY_WEBHOOK_URLS: Annotated[dict[int, str], NoDecode] = Field(default_factory=dict)
    WEBHOOK_SECRET: SecretStr | None = None
    WEBHOOK_TIMEOUT: float = Field(10, gt=0)
    WEBHOOK_RETRY_BASE_SECONDS: float = Field(2, gt=0)
    WEBHOOK_MAX_ATTEMPTS: int = Field(10, ge=1, le=100)
    WEBHOOK_LEASE_SECONDS: float = Field(30, gt=0)
    ASYNC_TURN_TIMEOUT: float = Field(300, gt=0)

    # Conversations per company (issue 20): `company` keys a conversation by (id_empresa,
    # session_id); `global` by session_id alone (the old behaviour: one customer writing to two
    # companies shares one conversation between them)
    SESSION_SCOPE: Literal["company", "global"] = "company"

    # Bursts (issue 23): a message arriving while its conversation is busy is queued (enqueue),
    # joined with the rest of its burst into one turn (merge), or refused with 409 (reject)
    DOUBLE_TEXTING: Literal["enqueue", "merge", "reject"] = "enqueue"
    MERGE_WINDOW_SECONDS: float = Field(2, gt=0, le=60)
    MERGE_MAX_SECONDS: float = Field(10, gt=0, le=300)
    MERGE_MAX_CHARS: int = Field(4000, ge=100)

    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    # Hardening (issue 21): an agent's url longer than this (or not http(s)) is dropped (null)
    MAX_URL_CHARS: int = Field(2048, ge=16, le=1_000_000)

    # Fairness between companies and failed authentication (issue 21): a company's own limit
    # inside the per-key one (unset: half of RATE_LIMIT_PER_MINUTE; 0 off); the most of an
    # agent's AGENT_MAX_CONCURRENCY slots one company holds while another company waits for that
    # agent (unset: half of them, at least 1); wrong keys per client IP per minute before every
    # request needing a key from that IP is answered 429 (0 off)
    COMPANY_RATE_LIMIT_PER_MINUTE: int | None = Field(None, ge=0)
    AGENT_MAX_CONCURRENCY_PER_COMPANY: int | None = Field(None, ge=1, le=1000)
    AUTH_FAILURES_PER_MINUTE: int = Field(20, ge=0)

    # Usage and cost (issue 26): tokens per company and day, prices, budgets for the server's key,
    # a bounded per-company Prometheus label
    MODEL_PRICES: dict[str, ModelPrice] = Field(default_factory=lambda: dict(DEFAULT_MODEL_PRICES))
    SERVER_KEY_MONTHLY_TOKENS: int = Field(0, ge=0)
    SERVER_KEY_COMPANY_BUDGETS: dict[int, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    USAGE_BUDGET_REFRESH_SECONDS: float = Field(10, gt=0)
    METRICS_COMPANY_LABEL: bool = False
    METRICS_COMPANY_LABEL_MAX: int = Field(20, ge=1, le=500)

    # Human handoff (issue 25): a conversation taken over by a person (escalation or operator)
    # until given back or HANDOFF_TIMEOUT_SECONDS pass without a message from the person; off:
    # nothing is read or written per turn
    HANDOFF_ENABLED: bool = False
    HANDOFF_TIMEOUT_SECONDS: float = Field(1800, gt=0)

    @field_validator("LOG_LEVEL", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The usual sources, plus AGENT_<KEY>_* variables of any KEY."""
        agents = AgentVariables(settings_cls, getattr(dotenv_settings, "env_file", None))
        dotenv = WithoutAgentVariables(dotenv_settings)
        return init_settings, env_settings, dotenv, agents, file_secret_settings

    @model_validator(mode="before")
    @classmethod
    def _agent_keywords(cls, data: Any) -> Any:
        return collect_from_init(data) if isinstance(data, dict) else data

    @model_validator(mode="after")
    def _consistent(self) -> "Settings":
        _ = self.roster  # a bad AGENT_* variable fails at start-up, not at a turn
        if self.SESSION_LOCK_TIMEOUT <= self.TURN_TIMEOUT:
            raise ValueError(
                f"SESSION_LOCK_TIMEOUT ({self.SESSION_LOCK_TIMEOUT:g}) must be larger than "
                f"TURN_TIMEOUT ({self.TURN_TIMEOUT:g}): a follow-up message waits for the turn "
                "before it"
            )
        return self

    @model_validator(mode="after")
    def _webhooks_consistent(self) -> "Settings":
        if self.webhooks_configured and self.WEBHOOK_SECRET is None:
            raise ValueError(
                "WEBHOOK_SECRET must be set when REPLY_WEBHOOK_URL or REPLY_WEBHOOK_URLS is set "
                "(every delivery is signed with it)"
            )
        return self

    @field_validator("REPLY_WEBHOOK_URL", "WEBHOOK_SECRET", mode="before")
    @classmethod
    def _webhook_empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("REPLY_WEBHOOK_URL")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value)

    @field_validator("REPLY_WEBHOOK_URLS", mode="before")
    @classmethod
    def _webhook_urls_json(cls, value: object) -> object:
        if isinstance(value, str):
            if not value.strip():
                return {}
            try:
                return json.loads(value)
            except ValueError:
                raise ValueError('must be a JSON object {"<id_empresa>": "<url>"}') from None
        return value

    @field_validator("REPLY_WEBHOOK_URLS")
    @classmethod
    def _webhook_urls(cls, value: dict[int, str]) -> dict[int, str]:
        for company in value:
            if company <= 0:
                raise ValueError("keys must be id_empresa numbers greater than 0")
        return {company: _http_url(url) for company, url in value.items()}

    @property
    def webhooks_configured(self) -> bool:
        """True when asynchronous turns can be answered (some reply webhook is set)."""
        return self.REPLY_WEBHOOK_URL is not None or bool(self.REPLY_WEBHOOK_URLS)

    def reply_webhook_url(self, company: int) -> str | None:
        """Where a company's replies are delivered: its own URL, else REPLY_WEBHOOK_URL."""
        return self.REPLY_WEBHOOK_URLS.get(company, self.REPLY_WEBHOOK_URL)

    @field_validator("ROUTING_MODE", "SESSION_SCOPE", "DOUBLE_TEXTING", mode="before")
    @classmethod
    def _lower_mode(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator(
        "LLM_MODE", "MCP_RESERVA_MODE", "MCP_CITA_MODE", "MCP_VENTA_MODE", mode="before"
    )
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("API_KEYS", "ADMIN_API_KEYS", "CORS_ORIGINS", mode="before")
    @classmethod
    def _split_csv(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("DATABASE_URL", mode="before")
    @classmethod
    def _check_database_url(cls, value: object) -> object:
        if isinstance(value, str):
            if not value.strip():
                return None
            if not value.startswith(("postgresql://", "postgres://")):
                raise ValueError("must be a postgresql:// URL")
        return value

    @field_validator(
        "CONTEXTO_NEGOCIO_ENDPOINT",
        "OPENAI_BASE_URL",
        "REDIS_URL",
        "OPENAI_API_KEY",
        "LANGSMITH_API_KEY",
        "COMPANY_RATE_LIMIT_PER_MINUTE",
        "AGENT_MAX_CONCURRENCY_PER_COMPANY",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def company_rate_limit(self) -> int:
        """COMPANY_RATE_LIMIT_PER_MINUTE, else half of RATE_LIMIT_PER_MINUTE (at least 1)."""
        if self.COMPANY_RATE_LIMIT_PER_MINUTE is not None:
            return self.COMPANY_RATE_LIMIT_PER_MINUTE
        return max(1, self.RATE_LIMIT_PER_MINUTE // 2) if self.RATE_LIMIT_PER_MINUTE else 0

    @property
    def agent_slots_per_company(self) -> int:
        """AGENT_MAX_CONCURRENCY_PER_COMPANY, or half of AGENT_MAX_CONCURRENCY (at least 1)."""
        if self.AGENT_MAX_CONCURRENCY_PER_COMPANY is not None:
            return min(self.AGENT_MAX_CONCURRENCY_PER_COMPANY, self.AGENT_MAX_CONCURRENCY)
        return max(1, self.AGENT_MAX_CONCURRENCY // 2)

    @cached_property
    def llm_enabled(self) -> bool:
        """True when turns are routed by the model (else by the offline router)."""
        if self.LLM_MODE == "offline":
            return False
        if self.LLM_MODE == "openai":
            return True
        return self.OPENAI_API_KEY is not None

    @cached_property
    def roster(self) -> Roster:
        """The agents this deployment declared (the reference agents when none is)."""
        aliases = {
            name: (
                getattr(self, f"MCP_{name.upper()}_URL"),
                getattr(self, f"MCP_{name.upper()}_ENABLED"),
                getattr(self, f"MCP_{name.upper()}_MODE"),
            )
            for name in REFERENCE_AGENTS
        }
        explicit = {n for n in REFERENCE_AGENTS if f"MCP_{n.upper()}_URL" in self.model_fields_set}
        return build_roster(self.AGENT_VARIABLES, aliases, explicit)

    def masked_database_url(self) -> str | None:
        """DATABASE_URL masked for display (server/url_mask.py: password, secret query values)."""
        if self.DATABASE_URL is None:
            return None
        return mask_url(self.DATABASE_URL.get_secret_value())


_SECRET_FIELDS = {
    "OPENAI_API_KEY",
    "DATABASE_URL",
    "API_KEYS",
    "ADMIN_API_KEYS",
    "REDIS_URL",
    "LANGSMITH_API_KEY",
    "AGENT_VARIABLES",
    "REPLY_WEBHOOK_URL",
    "REPLY_WEBHOOK_URLS",
    "WEBHOOK_SECRET",
}


def _http_url(value: str) -> str:
    """A reply webhook URL: http(s) with a host."""
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL")
    return value


class SettingsError(ValueError):
    """Invalid settings, with one clear line per invalid variable (the server prints it and exits
    with code 3; LangGraph Studio shows it as the graph's error)."""


def _variable_set(name: str, overrides: dict[str, Any]) -> str:
    """The name the deployment used for a setting: its old alias when only that one is set."""
    old = ALIASES.get(name)
    if old is None:
        return name
    env_file = overrides.get("_env_file", Settings.model_config.get("env_file"))
    names = set(overrides) | set(os.environ)
    if isinstance(env_file, (str, Path)) and Path(env_file).is_file():
        names |= set(dotenv_values(env_file))
    return old if old in names and name not in names else name


def load_settings(**overrides: Any) -> Settings:
    """Read settings, turning validation errors into one line naming each variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = _variable_set(".".join(str(part) for part in err["loc"]), overrides)
            if not name:  # a rule across variables: its message names them
                lines.append(f"Invalid settings: {err['msg'].removeprefix('Value error, ')}")
                continue
            shown = "" if name in _SECRET_FIELDS else f" (got {err.get('input')!r})"
            lines.append(f"Invalid setting {name}: {err['msg']}{shown}")
        raise SettingsError(mask_urls_in("\n".join(lines))) from None
