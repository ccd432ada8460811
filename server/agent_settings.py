"""The agent roster from settings: `AGENT_<KEY>_*` (any KEY) and the `MCP_<NAME>_*` aliases."""

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from graph.agents.roster import REFERENCE_AGENTS, AgentSpec, BodyShape, Mode, Roster, Transport

OPTIONS = ("URL", "PROTOCOL", "ENABLED", "DESCRIPTION", "MODE", "TOOL", "BODY", "TOKEN")
AGENT_VARIABLE = re.compile(rf"^AGENT_([A-Z][A-Z0-9_]*?)_({'|'.join(OPTIONS)})$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


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
        variables[key] = merged.pop(key)
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


def declared_agents(variables: Mapping[str, object]) -> dict[str, AgentSpec]:
    """The agents declared by AGENT_<KEY>_URL, with their options; ValueError names a bad one."""
    options: dict[str, dict[str, object]] = {}
    for variable, value in variables.items():
        match = AGENT_VARIABLE.match(variable)
        if match:
            options.setdefault(match.group(1), {})[match.group(2)] = value
    specs: dict[str, AgentSpec] = {}
    for key, opts in options.items():
        prefix = f"AGENT_{key}_"
        url = str(opts.get("URL") or "").strip()
        if not url:
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
    declared = declared_agents(variables)
    if not declared and not alias_set:
        names: list[str] = list(REFERENCE_AGENTS)
    else:
        names = [n for n in REFERENCE_AGENTS if n in alias_set and n not in declared]
    specs = [
        AgentSpec(
            name, aliases[name][0], "mcp", aliases[name][1], mode=cast(Mode, aliases[name][2])
        )
        for name in names
    ]
    return Roster([*specs, *declared.values()])
