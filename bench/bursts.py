"""Bursts (issue 23): agent and model calls per customer message, and the latency a customer sees
for the reply to a burst, with DOUBLE_TEXTING=enqueue, merge and reject.

Each mode gets its own orchestrator (in this process, under uvicorn on a loopback port, SQLite in
a scratch folder) in front of the same OpenAI stub (the real ChatOpenAI client, the router
delegating every turn; `--model-latency` per call) and the same plain-HTTP agent (`--agent-delay`
per call), both counting their calls. `--conversations` conversations at once each send a burst
of `--burst` messages `--gap` seconds apart, WhatsApp style. Reported per mode: agent calls and
model calls per customer message, the replies the customer gets (non-empty, not `merged`), 409s,
and the time from the burst's last message to its last reply (p50 and max): the moment the
customer has an answer to everything they said (with `reject` the answer covers only what was
accepted).

    .venv/bin/python -m bench.bursts             # 10 conversations × 3 messages, 300 ms apart
    .venv/bin/python -m bench.bursts --quick     # 4 conversations
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from harness.http_agent import HttpAgent
from harness.openai_specs import route_json
from harness.openai_stub import OpenAIStub
from harness.orchestrator import RunningApp, chat_body, model_settings, orchestrator_settings

MODES = ("enqueue", "merge", "reject")
MESSAGES = ("hola", "quería comprar unas zapatillas", "talla 42, para correr", "¿tienen envío?")


@dataclass
class ModeResult:
    mode: str
    messages: int
    agent_calls: int
    model_calls: int
    replies: int
    merged: int
    refused: int
    latencies: list[float]
    """Seconds from each burst's last message to its last reply."""

    def row(self) -> str:
        p50 = statistics.median(self.latencies) if self.latencies else 0.0
        worst = max(self.latencies, default=0.0)
        return (
            f"| {self.mode} | {self.agent_calls / self.messages:.2f} | "
            f"{self.model_calls / self.messages:.2f} | {self.replies} | {self.merged} | "
            f"{self.refused} | {p50:.2f} | {worst:.2f} |"
        )


async def _burst(
    client: httpx.AsyncClient, session: int, size: int, gap: float
) -> tuple[list[httpx.Response], float]:
    """Send one burst; returns the answers and the seconds from its last message to its last
    reply (a non-empty answer)."""
    tasks = []
    finished: dict[int, float] = {}

    async def send(n: int, text: str) -> httpx.Response:
        response = await client.post(
            "/api/agent/chat", json=chat_body(text, session), headers={"connection": "close"}
        )
        finished[n] = time.perf_counter()
        return response

    last_sent = time.perf_counter()
    for n in range(size):
        last_sent = time.perf_counter()
        tasks.append(asyncio.create_task(send(n, MESSAGES[n % len(MESSAGES)])))
        if n < size - 1:
            await asyncio.sleep(gap)
    answers = await asyncio.gather(*tasks)
    replied = [
        finished[n] for n, r in enumerate(answers) if r.status_code == 200 and r.json().get("reply")
    ]
    return list(answers), (max(replied) - last_sent) if replied else 0.0


def run_mode(
    mode: str, args: argparse.Namespace, stub: OpenAIStub, agent: HttpAgent, folder: Path
) -> ModeResult:
    stub.reset()
    stub.latency = args.model_latency
    stub.set_handler(lambda req: route_json("delegate", "venta", intent="delegate"))
    agent.state.reset()
    agent.state.delay = args.agent_delay
    settings = orchestrator_settings(
        folder / mode,
        **model_settings(stub),
        AGENT_VENTA_URL=agent.url,
        AGENT_VENTA_PROTOCOL="http",
        DOUBLE_TEXTING=mode,
        MERGE_WINDOW_SECONDS=args.window,
        LOG_LEVEL="WARNING",
    )
    app = RunningApp(settings).start()
    try:

        async def load() -> list[tuple[list[httpx.Response], float]]:
            async with httpx.AsyncClient(base_url=app.url, timeout=120, trust_env=False) as c:
                sessions = [uuid.uuid4().int % 10**9 for _ in range(args.conversations)]
                return await asyncio.gather(*(_burst(c, s, args.burst, args.gap) for s in sessions))

        results = asyncio.run(load())
    finally:
        app.stop()
    answers = [r for responses, _ in results for r in responses]
    bodies = [r.json() for r in answers if r.status_code == 200]
    return ModeResult(
        mode=mode,
        messages=len(answers),
        agent_calls=len(agent.calls),
        model_calls=stub.request_count,
        replies=sum(1 for b in bodies if b.get("reply")),
        merged=sum(1 for b in bodies if b.get("action") == "merged"),
        refused=sum(1 for r in answers if r.status_code == 409),
        latencies=[seconds for _, seconds in results],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=10)
    parser.add_argument("--burst", type=int, default=3, help="messages per burst")
    parser.add_argument("--gap", type=float, default=0.3, help="seconds between messages")
    parser.add_argument("--window", type=float, default=2.0, help="MERGE_WINDOW_SECONDS")
    parser.add_argument("--model-latency", type=float, default=0.5, help="seconds per call")
    parser.add_argument("--agent-delay", type=float, default=1.5, help="seconds per call")
    parser.add_argument("--quick", action="store_true", help="4 conversations")
    parser.add_argument("modes", nargs="*", default=list(MODES))
    args = parser.parse_args(argv)
    if args.quick:
        args.conversations = 4
    results = []
    with (
        OpenAIStub() as stub,
        HttpAgent("venta", "flat") as agent,
        tempfile.TemporaryDirectory(prefix="bench-bursts-") as scratch,
    ):
        for mode in args.modes:
            results.append(run_mode(mode, args, stub, agent, Path(scratch)))
            print(f"{mode}: done", flush=True)
    print(
        f"\n{args.conversations} conversations × {args.burst} messages {args.gap:g} s apart; "
        f"model {args.model_latency:g} s, agent {args.agent_delay:g} s per call; "
        f"MERGE_WINDOW_SECONDS={args.window:g}\n"
    )
    print(
        "| mode | agent calls / message | model calls / message | replies | merged | 409 | "
        "last message → last reply p50 (s) | max (s) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for result in results:
        print(result.row())
    summary = " ".join(
        f"{r.mode}={r.agent_calls / r.messages:.2f}agent/{r.model_calls / r.messages:.2f}model"
        for r in results
    )
    print(f"\nSUMMARY bursts: {summary}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
