"""HTTP agents against MCP agents: turns/s and p50 at 50 sessions in flight, same stub model.

Two orchestrators, each in its own process with its own SQLite file, in front of the same
zero-latency OpenAI stub: one reaches the conversational test agent `reserva` over MCP (the held
streamable-HTTP session, `chat` tool), the other the production-shaped plain-HTTP test agent
`reserva` (POST /chat, context body, pooled keep-alive client). Every turn delegates (one model
call, one agent call). Each is warmed, then loaded with 50 sessions in flight; the two loaded runs
alternate (MCP, HTTP, MCP, HTTP) and the figures are the mean of each pair of runs.
"""

from __future__ import annotations

import os
import statistics

from bench.common import (
    LOG_DIR,
    Figure,
    Service,
    bench_main,
    orchestrator_env,
    orchestrator_process,
    pick,
    say,
    scratch_dir,
    start_agent,
    start_all,
    start_stub,
    warm_chat,
)
from bench.load import LoadResult, run_load
from bench.workload import DELEGATE_MESSAGE
from harness.procs import ServerProcess, free_port

NAME = "agents_http"
CONCURRENCY = 50
TURNS_PER_SESSION = 5


def sizes(scale: str) -> dict[str, int]:
    """Turns per loaded run (each target runs twice) and the warm-up."""
    return pick(
        scale,
        {"warm": 50, "loaded": 150, "rounds": 1, "max_seconds": 15},
        {"warm": 50, "loaded": 300, "rounds": 2, "max_seconds": 20},
        {"warm": 100, "loaded": 1500, "rounds": 2, "max_seconds": 90},
    )


def start_http_agent(name: str = "reserva", start: bool = True) -> Service:
    """The production-shaped HTTP test agent (agente_reserva 3.0: POST /chat, context body)."""
    port = free_port()
    process = ServerProcess.python_module(
        "harness.http_agent",
        "--port",
        port,
        "--name",
        name,
        "--shape",
        "context",
        name=f"http-agent-{name}-{port}",
        log_dir=LOG_DIR,
        ready_url=f"http://127.0.0.1:{port}/health",
        ready_timeout=60,
    )
    service = Service(f"http-agent-{name}", port, process)
    if start:
        process.start()
    return service


def loaded(target: Service, label: str, size: dict[str, int]) -> LoadResult:
    """One loaded run: 50 sessions in flight, every turn delegated."""
    result = run_load(
        target.url,
        label=label,
        concurrency=CONCURRENCY,
        sessions=max(CONCURRENCY, size["loaded"] // TURNS_PER_SESSION),
        repeat=TURNS_PER_SESSION,
        max_seconds=size["max_seconds"],
        progress=0,
    )
    say("  " + result.describe())
    if result.errors or result.actions.get("delegate", 0) != result.turns:
        say(f"  WARNING {label}: errors {result.errors} ({result.first_error}), {result.actions}")
    return result


def run(scale: str = "default") -> list[Figure]:
    size = sizes(scale)
    say(
        f"{NAME}: starting stub, both agents and two orchestrators "
        f"(load avg {os.getloadavg()[0]:.1f})"
    )
    stub = start_stub(start=False)
    mcp_agent = start_agent("reserva", start=False)
    http_agent = start_http_agent("reserva", start=False)
    services = [stub, mcp_agent, http_agent]
    try:
        start_all(stub, mcp_agent, http_agent)
        with scratch_dir("agents-mcp") as mcp_dir, scratch_dir("agents-http") as http_dir:
            over_mcp = orchestrator_process(
                orchestrator_env(stub, mcp_agent, mcp_dir), name="orchestrator-mcp"
            )
            over_http = orchestrator_process(
                orchestrator_env(
                    stub,
                    None,
                    http_dir,
                    AGENT_RESERVA_URL=f"{http_agent.url}/chat",
                    AGENT_RESERVA_BODY="context",
                ),
                name="orchestrator-http",
            )
            services += [over_mcp, over_http]
            start_all(over_mcp, over_http)
            targets = {"mcp": over_mcp, "http": over_http}
            for kind, target in targets.items():
                reply = warm_chat(target.url, f"warm-{kind}", DELEGATE_MESSAGE)
                assert reply["action"] == "delegate", reply
                run_load(
                    target.url,
                    label=f"{kind}-warm",
                    concurrency=10,
                    sessions=10,
                    repeat=max(1, size["warm"] // 10),
                    progress=0,
                )
            runs: dict[str, list[LoadResult]] = {"mcp": [], "http": []}
            for i in range(size["rounds"]):
                for kind, target in targets.items():
                    say(
                        f"{kind} agent, run {i + 1}: {size['loaded']} turns, "
                        f"{CONCURRENCY} in flight"
                    )
                    runs[kind].append(loaded(target, f"{kind}-{i + 1}", size))
    finally:
        for svc in reversed(services):
            svc.stop()
    return figures(runs)


def figures(runs: dict[str, list[LoadResult]]) -> list[Figure]:
    """Turns/s and p50 of each transport (mean of its runs), and HTTP ÷ MCP."""
    throughput = {k: statistics.fmean(r.throughput for r in rs) for k, rs in runs.items()}
    p50 = {k: statistics.fmean(r.summary()["p50"] for r in rs) for k, rs in runs.items()}
    turns = {k: sum(r.turns for r in rs) for k, rs in runs.items()}
    errors = sum(r.errors for rs in runs.values() for r in rs)
    say(
        f"at {CONCURRENCY} sessions: MCP {throughput['mcp']:.1f} turns/s p50 {p50['mcp']:.1f} ms"
        f" | HTTP {throughput['http']:.1f} turns/s p50 {p50['http']:.1f} ms"
    )
    ratio = throughput["http"] / throughput["mcp"] if throughput["mcp"] else None
    return [
        Figure(
            NAME,
            f"MCP agent: throughput at {CONCURRENCY} sessions",
            throughput["mcp"],
            "turns/s",
            note=f"{turns['mcp']} turns",
        ),
        Figure(NAME, f"MCP agent: latency p50 at {CONCURRENCY} sessions", p50["mcp"], "ms"),
        Figure(
            NAME,
            f"HTTP agent: throughput at {CONCURRENCY} sessions",
            throughput["http"],
            "turns/s",
            note=f"{turns['http']} turns",
        ),
        Figure(NAME, f"HTTP agent: latency p50 at {CONCURRENCY} sessions", p50["http"], "ms"),
        Figure(NAME, "HTTP ÷ MCP throughput", ratio, "×"),
        Figure(NAME, "failed turns (both)", errors, ""),
    ]


if __name__ == "__main__":
    bench_main(NAME, run)
