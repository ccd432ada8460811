"""The agent roster from settings: `AGENT_<KEY>_*` (any KEY) and the `MCP_<NAME>_*` aliases."""

import os
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from graph.agents.roster import REFERENCE_AGENTS, AgentSpec, BodyShape, Mode, Roster, Transport

OPTIONS = ("URL", "PROTOCOL", "ENABLED", "DESCRIPTION", "MODE", "TOOL", "BODY", "TOKEN")
EXTRA_OPTIONS = ("TIMEOUT", "RETRY_ON", "API_KEY", "CLEAR_COMMAND")
"""Options that may also tune a reference agent declared by its MCP_<NAME>_URL alias."""
_PATTERN = re.compile(rf"^AGENT_([A-Z][A-Z0-9_]*?)_({'|'.join((*OPTIONS, *EXTRA_OPTIONS))})$")
GLOBAL_AGENT_SETTINGS = frozenset({"AGENT_CIRCUIT_BREAKER_RESET_TIMEOUT"})
"""Global settings whose names look like AGENT_<KEY>_<OPTION>: never an agent's option."""
RETRY_WORDS = ("timeout", "dropped")
"""AGENT_<KEY>_RETRY_ON values besides 5xx statuses: a read timeout, a dropped connection."""
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class _AgentVariablePattern:
    """AGENT_<KEY>_<OPTION>, minus the global settings that happen to look like one."""

    def match(self, name: str) -> re.Match[str] | None:
        return None if name in GLOBAL_AGENT_SETTINGS else _PATTERN.match(name)


AGENT_VARIABLE = _AgentVariablePattern()


class AgentVariables(PydanticBaseSettingsSource):
    """Collects AGENT_<KEY>_<OPTION> from the .env file and the environment (which wins)."""

    def __init__(self, settings_cls: type[BaseSettings], env_file: object) -> None:
        super().__init__(settings_cls)
        self._env_file = env_file

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Unused: this source yields one collected mapping."""
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        found: dict[str, str] = {}
        files = self._env_file if isinstance(self._env_file, (list, tuple)) else [self._env_file]
        for env_file in files:
            if isinstance(env_file, (str, Path)) and Path(env_file).is_file():
                values = dotenv_values(env_file)
                found.update({k: v for k, v in values.items() if v is not None})
        found.update(os.environ)
        agents = {k: v for k, v in found.items() if AGENT_VARIABLE.match(k)}
        return {"AGENT_VARIABLES": agents} if agents else {}


class WithoutAgentVariables(PydanticBaseSettingsSource):
    """Another source minus its AGENT_<KEY>_<OPTION> keys: AgentVariables reads those itself, the
    environment before the .env file (else a .env value would beat the environment's)."""

    def __init__(self, source: PydanticBaseSettingsSource) -> None:
        super().__init__(source.settings_cls)
        self._source = source

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Unused: this source yields the wrapped source's mapping."""
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in self._source().items() if not AGENT_VARIABLE.match(k)}


def collect_from_init(data: Mapping[str, Any]) -> dict[str, Any]:
    """Move AGENT_<KEY>_<OPTION> keyword arguments into AGENT_VARIABLES (tests, Studio)."""
    merged = dict(data)
    variables = dict(merged.get("AGENT_VARIABLES") or {})
    for key in [k for k in merged if isinstance(k, str) and AGENT_VARIABLE.match(k)]:
        value = merged.pop(key)
        variables[key] = value if isinstance(value, str) else str(value)  # AGENT_X_TIMEOUT=0.5
    if variables:
        merged["AGENT_VARIABLES"] = variables
    return merged


def _flag(name: str, value: object) -> bool:
    text = str(value).strip().lower()
    if isinstance(value, bool):
        return value
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{name} must be true or false (got {value!r})")


def _choice(name: str, value: object, allowed: tuple[str, ...]) -> str:
    text = str(value).strip().lower()
    if text not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)} (got {value!r})")
    return text


def _check_url(name: str, url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{name} must be an http(s) URL (got {url!r})")
    return url


def _timeout(name: str, value: object) -> float | None:
    text = str(value or "").strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not seconds > 0 or seconds == float("inf"):
        raise ValueError(f"{name} must be a number of seconds > 0 (got {value!r})")
    return seconds


def _retry_on(name: str, value: object) -> frozenset[str]:
    words = {w.strip().lower() for w in str(value or "").split(",") if w.strip()}
    for word in words:
        if word not in RETRY_WORDS and not (word.isdigit() and 500 <= int(word) <= 599):
            raise ValueError(
                f"{name} takes 5xx statuses, 'timeout' and 'dropped', comma-separated "
                f"(got {word!r})"
            )
    return frozenset(words)


def _text(value: object) -> str | None:
    return str(value or "").strip() or None


def extra_options(key: str, opts: Mapping[str, object]) -> dict[str, Any]:
    """The AgentSpec fields of the options any agent may take (timeout, retries, key, clear)."""
    prefix = f"AGENT_{key}_"
    return {
        "timeout": _timeout(f"{prefix}TIMEOUT", opts.get("TIMEOUT")),
        "retry_on": _retry_on(f"{prefix}RETRY_ON", opts.get("RETRY_ON")),
        "api_key": _text(opts.get("API_KEY")),
        "clear_command": _text(opts.get("CLEAR_COMMAND")),
    }


def _options(variables: Mapping[str, object]) -> dict[str, dict[str, object]]:
    options: dict[str, dict[str, object]] = {}
    for variable, value in variables.items():
        match = AGENT_VARIABLE.match(variable)
        if match:
            options.setdefault(match.group(1), {})[match.group(2)] = value
    return options


def declared_agents(
    variables: Mapping[str, object], tunable: Collection[str] = ()
) -> dict[str, AgentSpec]:
    """The agents declared by AGENT_<KEY>_URL, with their options; ValueError names a bad one.

    An agent in `tunable` (a reference agent declared by its MCP_<NAME>_URL alias) may take
    the EXTRA_OPTIONS without a URL (build_roster applies them)."""
    specs: dict[str, AgentSpec] = {}
    for key, opts in _options(variables).items():
        prefix = f"AGENT_{key}_"
        url = str(opts.get("URL") or "").strip()
        if not url:
            if key.lower() in tunable and not set(opts) - set(EXTRA_OPTIONS):
                continue
            if any(str(v).strip() for v in opts.values()):
                raise ValueError(f"{prefix}URL is required when other {prefix}* are set")
            continue
        url = _check_url(f"{prefix}URL", url)
        default = "mcp" if urlsplit(url).path.rstrip("/").endswith("/mcp") else "http"
        protocol = _choice(f"{prefix}PROTOCOL", opts.get("PROTOCOL") or default, ("mcp", "http"))
        specs[key.lower()] = AgentSpec(
            name=key.lower(),
            url=url,
            transport=cast(Transport, protocol),
            enabled=_flag(f"{prefix}ENABLED", opts.get("ENABLED", True)),
            description=str(opts.get("DESCRIPTION") or "").strip(),
            mode=cast(Mode, _choice(f"{prefix}MODE", opts.get("MODE") or "auto", MODES)),
            tool=str(opts.get("TOOL") or "").strip() or None,
            body=cast(BodyShape, _choice(f"{prefix}BODY", opts.get("BODY") or "flat", BODIES)),
            token=str(opts.get("TOKEN") or "").strip() or None,
            **extra_options(key, opts),
        )
    return specs


MODES = ("auto", "chat", "tools")
BODIES = ("flat", "context")


def build_roster(
    variables: Mapping[str, object],
    aliases: Mapping[str, tuple[str, bool, str]],
    alias_set: set[str],
) -> Roster:
    """The roster: declared agents only; the reference agents when nothing is declared at all.

    `aliases` maps each reference agent to its MCP_<NAME>_URL, _ENABLED and _MODE values;
    `alias_set` names the reference agents whose MCP_<NAME>_URL was set explicitly.
    """
    declared = declared_agents(variables, tunable=REFERENCE_AGENTS)
    if not declared and not alias_set:
        names: list[str] = list(REFERENCE_AGENTS)
    else:
        names = [n for n in REFERENCE_AGENTS if n in alias_set and n not in declared]
    options = _options(variables)
    specs = [
        AgentSpec(
            name,
            aliases[name][0],
            "mcp",
            aliases[name][1],
            mode=cast(Mode, aliases[name][2]),
            **extra_options(name.upper(), options.get(name.upper(), {})),
        )
        for name in names
    ]
    return Roster([*specs, *declared.values()])


def timeout_warnings(settings: Any) -> list[str]:
    """Start-up warnings: an agent whose per-call timeout is not below TURN_TIMEOUT (the turn
    answers the fallback before the agent's own answer can arrive)."""
    warnings = []
    for spec in settings.roster.enabled:
        timeout = spec.timeout or settings.AGENT_TIMEOUT
        if timeout > settings.TURN_TIMEOUT:
            setting = f"AGENT_{spec.name.upper()}_TIMEOUT" if spec.timeout else "AGENT_TIMEOUT"
            warnings.append(
                f"{setting} ({timeout:g} s) is above TURN_TIMEOUT ({settings.TURN_TIMEOUT:g} s): "
                f"agent {spec.name} may still be working when its turn answers the fallback"
            )
    return warnings
