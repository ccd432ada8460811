"""Item 3: HTTP requests the agent server receives per delegated turn (its own GET /stats)."""

from __future__ import annotations

import httpx

from bench.common import (
    Figure,
    bench_main,
    orchestrator_env,
    orchestrator_process,
    pick,
    say,
    scratch_dir,
    start_all,
    start_helpers,
    warm_chat,
)
from bench.load import run_load
from bench.workload import DELEGATE_MESSAGE

NAME = "mcp"


def run(scale: str = "default") -> list[Figure]:
    turns = pick(scale, 200, 1000, 1000)
    say(f"{NAME}: MCP requests per delegated turn over {turns} turns")
    stub, agent = start_helpers()
    services = [stub, agent]
    try:
        with scratch_dir("mcp") as tmp, httpx.Client(base_url=agent.url, trust_env=False) as http:
            orch = orchestrator_process(orchestrator_env(stub, agent, tmp))
            services.append(orch)
            start_all(orch)
            warm_chat(orch.url, "warm-0", DELEGATE_MESSAGE)  # the held session is open now
            http.post("/stats/reset").raise_for_status()
            result = run_load(
                orch.url,
                label="mcp-load",
                concurrency=20,
                sessions=turns // 10,
                repeat=10,
                max_seconds=120,
            )
            stats = http.get("/stats").json()
    finally:
        for svc in reversed(services):
            svc.stop()
    say("  " + result.describe())
    delegated = result.actions.get("delegate", 0)
    requests = stats["total_requests"]
    per_turn = requests / delegated if delegated else None
    calls = stats["rpc"].get("tools/call", 0)
    other_rpc = {k: v for k, v in stats["rpc"].items() if k != "tools/call"}
    say(
        f"  agent saw {requests} HTTP requests {stats['requests']}, JSON-RPC {stats['rpc']} "
        f"for {delegated} delegated turns"
    )
    return [
        Figure(
            NAME,
            "MCP HTTP requests per delegated turn",
            per_turn,
            "",
            "1",
            None if per_turn is None else abs(per_turn - 1) < 1e-9,
            f"{requests} requests / {delegated} turns",
        ),
        Figure(NAME, "tools/call per delegated turn", calls / delegated if delegated else None),
        Figure(
            NAME,
            "other JSON-RPC calls during the run (initialize, tools/list…)",
            int(sum(other_rpc.values())),
            "",
            "0",
            sum(other_rpc.values()) == 0,
        ),
    ]


def main() -> None:
    bench_main(NAME, run)


if __name__ == "__main__":
    main()
