"""Readers for the deployment files: a small Dockerfile parser and compose.yaml helpers."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness import REPO_ROOT

DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"
COMPOSE = REPO_ROOT / "compose.yaml"


@dataclass
class Stage:
    """One FROM ... [AS name] stage: its instructions in order."""

    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]

    def env(self) -> dict[str, str]:
        """ENV key=value pairs of this stage (later ones win)."""
        values: dict[str, str] = {}
        for args in self.all("ENV"):
            for token in shlex.split(args):
                key, sep, value = token.partition("=")
                assert sep, f"ENV must use key=value form: {args!r}"
                values[key] = value
        return values

    def exec_form(self, keyword: str) -> list[str]:
        """The last CMD/ENTRYPOINT (exec form, a JSON list)."""
        (args,) = self.all(keyword)[-1:]
        value = json.loads(args)
        assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
        return value

    def healthcheck(self) -> tuple[dict[str, str], list[str]]:
        """HEALTHCHECK options (--interval=...) and its CMD in exec form."""
        (args,) = self.all("HEALTHCHECK")[-1:]
        options_text, sep, command = args.partition("CMD ")
        assert sep, f"HEALTHCHECK needs CMD: {args!r}"
        options = dict(opt.lstrip("-").split("=", 1) for opt in options_text.split())
        return options, json.loads(command)


@dataclass
class Dockerfile:
    args: dict[str, str]
    stages: list[Stage]

    @property
    def final(self) -> Stage:
        return self.stages[-1]


def _logical_lines(text: str) -> list[str]:
    lines, current = [], ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1].strip() + " "
            continue
        lines.append((current + stripped).strip())
        current = ""
    assert not current, "dangling line continuation"
    return lines


def parse_dockerfile(path: Path = DOCKERFILE) -> Dockerfile:
    """Instructions grouped by stage; ARG defaults before the first FROM substituted into FROM."""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in _logical_lines(path.read_text()):
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            image = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args[m.group(1) or m.group(2)], rest)
            parts = image.split()
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(parts[0], name))
        elif not stages:
            assert keyword == "ARG", f"only ARG may precede FROM, got {keyword}"
            key, _, value = rest.partition("=")
            args[key.strip()] = value.strip()
        else:
            stages[-1].instructions.append((keyword, rest.strip()))
    return Dockerfile(args, stages)


def dockerignore_patterns() -> list[str]:
    return [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict) and isinstance(data.get("services"), dict)
    return data


def env_port(service: dict[str, Any]) -> tuple[str, int]:
    """The service's `<NAME>_PORT` / `UVICORN_PORT` variable and its value."""
    (key,) = [k for k in service.get("environment", {}) if k.endswith("_PORT")]
    return key, int(service["environment"][key])
