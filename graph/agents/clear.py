"""Clearing a conversation at the agents: each agent's AGENT_<KEY>_CLEAR_COMMAND sent to it."""

import asyncio
import logging
import time
from collections.abc import Iterable

from common.breaker import CircuitOpenError
from graph.agents.registry import AgentRegistry
from graph.agents.transport import AgentCall, AgentError

log = logging.getLogger(__name__)


async def clear_at_agents(
    agents: AgentRegistry,
    session_id: str,
    id_empresa: int | None,
    used: Iterable[str],
    *,
    request_id: str = "",
) -> dict[str, bool]:
    """Send the clear command of every agent in `used` that has one, with the conversation's
    session id and company; {agent: delivered}. A failure is logged, never raised."""
    targets = []
    for name in dict.fromkeys(used):
        spec = agents.spec(name)
        if spec is not None and spec.clear_command:
            targets.append((name, spec.clear_command))

    async def one(name: str, command: str) -> bool:
        call = AgentCall(
            message=command,
            session_id=session_id,
            config={"id_empresa": id_empresa} if id_empresa is not None else {},
            id_empresa=id_empresa,
            request_id=request_id,
        )
        deadline = time.monotonic() + agents.timeout(name)
        try:
            await agents.send(name, call, deadline=deadline)
        except (AgentError, CircuitOpenError) as exc:
            reason = exc.reason if isinstance(exc, AgentError) else "circuit_open"
            log.warning("agent memory not cleared", extra={"agent": name, "error": reason})
            return False
        except Exception as exc:  # a bug must not fail the clear: logged
            log.error("agent clear error", exc_info=exc, extra={"agent": name})
            return False
        log.info("agent memory cleared", extra={"agent": name})
        return True

    results = await asyncio.gather(*(one(name, command) for name, command in targets))
    return {name: ok for (name, _), ok in zip(targets, results, strict=True)}
