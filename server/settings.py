"""Service settings: one pydantic-settings class read from the environment (and `.env`)."""

from functools import cached_property
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from typing_extensions import Annotated

AgentMode = Literal["auto", "chat", "tools"]


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
    MCP_TIMEOUT: float = Field(30, gt=0)
    MCP_MAX_RETRIES: int = Field(3, ge=1, le=10)
    MCP_RETRY_BACKOFF: float = Field(0.2, ge=0)
    MCP_CIRCUIT_BREAKER_FAILURE_THRESHOLD: int = Field(5, ge=1)
    MCP_CIRCUIT_BREAKER_RESET_TIMEOUT: float = Field(60, gt=0)

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
    SESSION_LOCK_TIMEOUT: float = Field(60, gt=0)
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
    RATE_LIMIT_PER_MINUTE: int = Field(60, ge=0)
    SESSION_RATE_LIMIT_PER_MINUTE: int = Field(20, ge=0)
    REDIS_URL: SecretStr | None = None
    MAX_BODY_BYTES: int = Field(64 * 1024, ge=1024)
    MAX_MESSAGE_CHARS: int = Field(4000, ge=1)

    # Tracing (LangSmith): one trace per turn when on; nothing is sent when off
    LANGSMITH_TRACING: bool = False
    LANGSMITH_API_KEY: SecretStr | None = None
    LANGSMITH_PROJECT: str = "maravia-orquestador"
    LANGSMITH_ENDPOINT: str = "https://api.smith.langchain.com"

    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    @field_validator("LOG_LEVEL", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

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
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @cached_property
    def llm_enabled(self) -> bool:
        """True when turns are routed by the model (else by the offline router)."""
        if self.LLM_MODE == "offline":
            return False
        if self.LLM_MODE == "openai":
            return True
        return self.OPENAI_API_KEY is not None

    def agent_urls(self) -> dict[str, str]:
        """Agent name → MCP URL, for every agent (enabled or not)."""
        return {
            "reserva": self.MCP_RESERVA_URL,
            "cita": self.MCP_CITA_URL,
            "venta": self.MCP_VENTA_URL,
        }

    def enabled_agents(self) -> list[str]:
        """Names of the agents that may be routed to."""
        flags = {
            "reserva": self.MCP_RESERVA_ENABLED,
            "cita": self.MCP_CITA_ENABLED,
            "venta": self.MCP_VENTA_ENABLED,
        }
        return [name for name, on in flags.items() if on]

    def agent_mode(self, name: str) -> AgentMode:
        """`auto`, `chat` or `tools` for one agent (always `chat` when routing offline)."""
        mode: AgentMode = getattr(self, f"MCP_{name.upper()}_MODE")
        return mode if self.llm_enabled else "chat"

    def masked_database_url(self) -> str | None:
        """DATABASE_URL with its password replaced by ***, for display."""
        if self.DATABASE_URL is None:
            return None
        parts = urlsplit(self.DATABASE_URL.get_secret_value())
        if parts.password is None:
            return urlunsplit(parts)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        netloc = f"{parts.username or ''}:***@{host}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


_SECRET_FIELDS = {
    "OPENAI_API_KEY",
    "DATABASE_URL",
    "API_KEYS",
    "ADMIN_API_KEYS",
    "REDIS_URL",
    "LANGSMITH_API_KEY",
}


class SettingsError(SystemExit):
    """Raised at start-up with one clear line per invalid variable."""


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning validation errors into one line naming each variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = ".".join(str(part) for part in err["loc"]) or "settings"
            shown = "" if name in _SECRET_FIELDS else f" (got {err.get('input')!r})"
            lines.append(f"Invalid setting {name}: {err['msg']}{shown}")
        raise SettingsError("\n".join(lines)) from None
