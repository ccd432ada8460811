"""Request and response bodies of the chat API, with the contract's exact validation rules."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from graph.text_clean import clean_text, clean_value, is_blank
from server.session_ids import canonical_session_id

MSG_EMPTY = "El campo 'message' no puede estar vacío"
SESSION_EMPTY = "El campo 'session_id' no puede estar vacío"
ID_EMPRESA = "El campo 'config.id_empresa' debe ser un número mayor a 0"

_TRUE = {1, "1", True, "true", "True", "TRUE"}
_FALSE = {0, "0", False, "false", "False", "FALSE"}
_NULL = {"", "null", "NULL", "None"}


class ChatConfig(BaseModel):
    """The bot's configuration, sent by the client on every turn; unknown keys pass through."""

    model_config = ConfigDict(extra="allow")

    nombre_bot: str
    id_empresa: int
    rol_bot: str
    tipo_bot: str
    objetivo_principal: str
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
        if isinstance(value, bool) or value is None:
            raise PydanticCustomError("id_empresa", ID_EMPRESA)
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or value <= 0:
            raise PydanticCustomError("id_empresa", ID_EMPRESA)
        return value

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


class ChatRequest(BaseModel):
    """POST /api/agent/chat (and /api/agent/chat/stream)."""

    message: str = Field(description="The end user's text.")
    session_id: str = Field(description="The conversation id; an integer is taken as its digits.")
    config: ChatConfig

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
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str):
            value = canonical_session_id(value)
            if not value:
                raise PydanticCustomError("empty", SESSION_EMPTY)
        return value


class ChatResponse(BaseModel):
    """The turn's answer."""

    reply: str
    session_id: str
    agent_used: Literal["reserva", "venta", "cita"] | None
    action: Literal["delegate", "respond"]


class ErrorResponse(BaseModel):
    """Every error body."""

    detail: str
