"""Request and response bodies of the chat API, with the contract's exact validation rules."""

import re
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

from graph.text_clean import clean_text, clean_value, is_blank
from server.turn.session_ids import canonical_session_id

MSG_EMPTY = "El campo 'message' no puede estar vacío"
SESSION_EMPTY = "El campo 'session_id' no puede estar vacío"
ID_EMPRESA = "El campo 'config.id_empresa' debe ser un número mayor a 0"
TOP_ID_EMPRESA = "El campo 'id_empresa' debe ser un número mayor a 0"
REQUIRED = "El campo '{field}' es obligatorio"
SESSION_INT = (
    "El campo 'session_id' debe ser un texto o un número entero entre 1 y 9223372036854775807"
)
V02_REQUIRED = ("rol_bot", "tipo_bot", "objetivo_principal")
"""Required by the v0.2 body; optional when today's body gives a top-level id_empresa."""

# True and False match too: in a set they equal 1 and 0.
_TRUE = {1, "1", "true", "True", "TRUE"}
_FALSE = {0, "0", "false", "False", "FALSE"}
_NULL = {"", "null", "NULL", "None"}


class ChatConfig(BaseModel):
    """The bot's configuration, sent by the client on every turn; unknown keys pass through."""

    model_config = ConfigDict(extra="allow")

    nombre_bot: str
    id_empresa: int | None = None
    rol_bot: str | None = None
    tipo_bot: str | None = None
    objetivo_principal: str | None = None
    frase_saludo: str | None = None
    archivo_saludo: str | None = None
    personalidad: str | None = None
    tono_com: str | None = None
    frase_des: str | None = None
    frase_no_sabe: str | None = None
    modalidad: str | None = None
    temas_esc: str | None = None
    frase_esc: str | None = None
    motivo_der: str | None = None
    motivo_so: str | None = None
    fecha_formateada: str | None = None
    fecha_iso: str | None = None
    duracion_cita_minutos: int | None = None
    slots: int | None = None
    agendar_usuario: bool | None = None
    agendar_sucursal: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _clean_strings(cls, value: Any) -> Any:
        return clean_value(value)

    @field_validator("id_empresa", mode="before")
    @classmethod
    def _id_empresa(cls, value: Any) -> Any:
        return positive_id(value, ID_EMPRESA)

    @field_validator("agendar_usuario", "agendar_sucursal", mode="before")
    @classmethod
    def _flag(cls, value: Any) -> bool | None:
        if value is None or (isinstance(value, str) and value.strip() in _NULL):
            return None
        if isinstance(value, (int, str)) and value in _TRUE:
            return True
        if isinstance(value, (int, str)) and value in _FALSE:
            return False
        raise PydanticCustomError("flag", 'debe ser true/false, 1/0, "1"/"0" o vacío')


MAX_ID = 2**63 - 1
"""The largest id: agents (and PostgreSQL's bigint) take 64-bit signed integers."""
_ASCII_DIGITS = re.compile("[0-9]+")


def positive_id(value: Any, detail: str) -> int:
    """An integer in 1 … 2^63−1 (strings of ASCII digits and whole floats accepted), else the
    field's Spanish 400: "٣" (Arabic-Indic) and "０３" (full-width) are not numbers here."""
    if isinstance(value, bool) or value is None:
        raise PydanticCustomError("id_empresa", detail)
    if isinstance(value, str) and _ASCII_DIGITS.fullmatch(value.strip()):
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise PydanticCustomError("id_empresa", detail)
    return value


class ChatRequest(BaseModel):
    """POST /api/agent/chat (and /chat/stream): the v0.2 body, or today's n8n body with a
    top-level id_empresa (and the company's api_key)."""

    message: str = Field(description="The end user's text.")
    session_id: str | int = Field(
        description="The conversation id; an integer is echoed as an integer."
    )
    config: ChatConfig
    id_empresa: int | None = Field(
        default=None,
        description="Today's n8n body: the company (then config.id_empresa, rol_bot, tipo_bot and "
        "objetivo_principal are optional). Wins over config.id_empresa.",
    )
    api_key: SecretStr | None = Field(
        default=None,
        description="The company's own model key for this turn (never stored or logged).",
    )

    @model_validator(mode="before")
    @classmethod
    def _top_level_company_wins(cls, data: Any) -> Any:
        """With a top-level id_empresa, config.id_empresa is not read: a null, empty or stale one
        there is no error (today's flows may still carry one)."""
        if isinstance(data, dict) and data.get("id_empresa") is not None:
            config = data.get("config")
            if isinstance(config, dict) and "id_empresa" in config:
                data = {**data, "config": {k: v for k, v in config.items() if k != "id_empresa"}}
        return data

    @field_validator("message", mode="before")
    @classmethod
    def _message(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = clean_text(value)
            if is_blank(value):
                raise PydanticCustomError("empty", MSG_EMPTY)
        return value

    @field_validator("session_id", mode="before")
    @classmethod
    def _session_id(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise PydanticCustomError("string_type", "session_id must be text or an integer")
        if isinstance(value, str):
            value = canonical_session_id(value)
            if not value:
                raise PydanticCustomError("empty", SESSION_EMPTY)
        elif not 0 < value <= MAX_ID:  # an integer id is an agent's 64-bit session_id
            raise PydanticCustomError("detail", SESSION_INT)
        return value

    @field_validator("id_empresa", mode="before")
    @classmethod
    def _top_id_empresa(cls, value: Any) -> Any:
        return None if value is None else positive_id(value, TOP_ID_EMPRESA)

    @field_validator("api_key", mode="before")
    @classmethod
    def _api_key(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _v02_rules(self) -> "ChatRequest":
        if self.id_empresa is not None:
            return self
        if self.config.id_empresa is None:
            raise PydanticCustomError("detail", ID_EMPRESA)
        for name in V02_REQUIRED:
            if getattr(self.config, name) is None:
                raise PydanticCustomError("detail", REQUIRED.format(field=f"config.{name}"))
        return self

    @property
    def session_key(self) -> str:
        """The session id as text: the checkpoint thread and every agent's session."""
        return str(self.session_id)

    @property
    def company(self) -> int:
        """The company of this turn (the top-level id wins)."""
        company = self.id_empresa if self.id_empresa is not None else self.config.id_empresa
        assert company is not None  # _v02_rules guarantees one
        return company

    @property
    def company_key(self) -> str | None:
        """The company's own model key, when it sent one."""
        return self.api_key.get_secret_value() if self.api_key is not None else None


class ChatResponse(BaseModel):
    """The turn's answer."""

    reply: str
    session_id: str | int
    agent_used: str | None = Field(description="The roster agent that answered, or null.")
    action: Literal["delegate", "respond", "human"] = Field(
        description="`delegate` (an agent answered), `respond` (the orchestrator did) or, with "
        "HANDOFF_ENABLED, `human`: a person holds the conversation; the message was stored for "
        "them and `reply` is empty (send nothing)."
    )
    url: str | None = Field(
        default=None, description="A file or image link the agent sent with the reply."
    )
    handoff: bool | None = Field(
        default=None,
        description="Only with HANDOFF_ENABLED: true when a person holds the conversation after "
        "this turn (it escalated, or it was stored for the person), else false. Absent when "
        "handoff is off.",
    )

    @model_serializer(mode="wrap")
    def _handoff_only_when_on(self, handler):
        """The contract's five fields when handoff is off (no `handoff` key at all)."""
        data = handler(self)
        if isinstance(data, dict) and data.get("handoff") is None:
            data.pop("handoff", None)
        return data


class AcceptedResponse(BaseModel):
    """An asynchronous turn accepted (`Prefer: respond-async`): the reply comes by webhook."""

    status: Literal["processing"]
    session_id: str | int = Field(description="As sent, in the same JSON type.")
    request_id: str = Field(description="Also in the delivered event's `request_id`.")


class MergedResponse(BaseModel):
    """The answer to a message merged into a later message's turn (DOUBLE_TEXTING=merge): send
    nothing to the customer; the request named by `merged_into` answers the burst."""

    reply: Literal[""] = ""
    session_id: str | int
    agent_used: None = None
    action: Literal["merged"] = "merged"
    url: None = None
    merged_into: str = Field(
        description="The id of the request whose message joined this one's burst (it answers the "
        "burst, or is in turn merged into a later one)."
    )


class ErrorResponse(BaseModel):
    """Every error body."""

    detail: str
