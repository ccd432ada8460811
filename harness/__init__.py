"""Test and bench harness: OpenAI stub, MCP test agents, context server, process helpers."""

from pathlib import Path

REPO_ROOT: Path = Path(__file__).resolve().parents[1]
