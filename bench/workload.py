"""The benchmarks' workload: the chat path, the demo bot configuration and the delegated message."""

from typing import Any

from scripts.demo_config import DEMO_CONFIG

CHAT_PATH = "/api/agent/chat"
CONFIG: dict[str, Any] = dict(DEMO_CONFIG)
DELEGATE_MESSAGE = "quiero reservar una mesa para dos personas"
