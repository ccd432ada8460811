"""Webhook backlog under a receiver outage: N asynchronous turns while the receiver is down for
D seconds, then up; the outbox backlog (max, oldest age) and the time to drain it.

    python -m bench.webhooks                  # 100 turns, 25 conversations, receiver down 30 s
    python -m bench.webhooks --turns 20 --down 5

The orchestrator runs as deployed (uvicorn, SQLite, offline routing, one MCP agent); the
receiver is a real HTTP server on a loopback port (harness/webhook_receiver.py). The backlog is
sampled from the SQLite outbox every 0.2 s (the gauge `orquestador_webhook_backlog` is read from
the same table every 5 s).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import sqlite3
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from bench.common import orchestrator_env, orchestrator_process, say, scratch_dir, start_agent
from bench.workload import CONFIG, DELEGATE_MESSAGE
from harness.webhook_receiver import WebhookReceiver
from server.webhooks.signing import verify

SECRET = "bench-webhook-secret"


class BacklogSampler(threading.Thread):
    """Reads the outbox's undelivered rows and the oldest one's age every `every` seconds."""

    def __init__(self, db: Path, every: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.db, self.every = db, every
        self.samples: list[tuple[float, int, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=5)
        try:
            while not self.stop.is_set():
                try:
                    count, oldest = conn.execute(
                        "SELECT COUNT(*), MIN(created_at) FROM orquestador_outbox "
                        "WHERE state IN ('accepted', 'ready')"
                    ).fetchone()
                except sqlite3.Error:
                    count, oldest = 0, None
                now = time.time()
                self.samples.append((now, count, now - oldest if oldest else 0.0))
                self.stop.wait(self.every)
        finally:
            conn.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=100)
    parser.add_argument("--conversations", type=int, default=25)
    parser.add_argument("--down", type=float, default=30.0, help="seconds the receiver is down")
    parser.add_argument("--retry-base", type=float, default=2.0)
    args = parser.parse_args(argv)
    result = run(args.turns, args.conversations, args.down, args.retry_base)
    print(json.dumps(result, indent=2, ensure_ascii=False))


def run(turns: int, conversations: int, down: float, retry_base: float) -> dict[str, Any]:
    receiver = WebhookReceiver().start()
    receiver.stop()  # down from the start: connection refused
    agent = start_agent("reserva")
    with scratch_dir("webhooks") as tmp:
        db = tmp / "checkpoints.sqlite"
        env = orchestrator_env(
            None,
            agent,
            tmp,
            REPLY_WEBHOOK_URL=receiver.url,
            WEBHOOK_SECRET=SECRET,
            WEBHOOK_RETRY_BASE_SECONDS=retry_base,
        )
        app = orchestrator_process(env, name="orchestrator-webhooks")
        app.process.start()  # waits for /health
        sampler = BacklogSampler(db)
        try:
            sampler.start()
            single = _sequential(app.url, 10)
            say(f"one at a time: 202 in {_pct(single, 50)} ms (p50)")
            t0 = time.time()
            accepted, accept_ms = _send(app.url, turns, conversations)
            say(f"{len(accepted)} turns accepted (202) in {time.time() - t0:.2f} s")
            time.sleep(max(0.0, t0 + down - time.time()))
            receiver.start()
            up = time.time()
            say(f"receiver up after {up - t0:.1f} s")
            receiver.wait(turns + 10, timeout=down + 600)
            drained = time.time()
            time.sleep(3)  # the backlog gauges are re-read within a second or two
            metrics = httpx.get(f"{app.url}/metrics", timeout=10).json()["webhooks"]
        finally:
            sampler.stop.set()
            sampler.join(5)
            app.stop()
            agent.stop()
            receiver.stop()
    ok = receiver.accepted()
    by_id = Counter(d.headers["x-orquestador-delivery"] for d in ok)
    order_ok = _in_order(ok)
    first = ok[0]
    peak = max(sampler.samples, key=lambda s: s[1])
    return {
        "turns": turns,
        "one_at_a_time_turns_before": 10,
        "conversations": conversations,
        "receiver_down_seconds": down,
        "retry_base_seconds": retry_base,
        "accept_one_at_a_time_p50_ms": _pct(single, 50),
        "accept_one_at_a_time_max_ms": round(max(single), 1),
        "accept_p50_ms": _pct(accept_ms, 50),
        "accept_p99_ms": _pct(accept_ms, 99),
        "backlog_max": peak[1],
        "oldest_age_max_seconds": round(max(s[2] for s in sampler.samples), 1),
        "drain_seconds_after_receiver_up": round(drained - up, 1),
        "delivered": len(by_id),
        "duplicates": sum(n - 1 for n in by_id.values()),
        "posts_received": len(receiver.deliveries),
        "per_conversation_order_kept": order_ok,
        "all_signatures_valid": all(
            verify(SECRET, d.body, d.headers.get("x-orquestador-signature")) for d in ok
        ),
        "metrics_webhooks": metrics,
        "example_delivery": {
            "headers": {
                k: v
                for k, v in first.headers.items()
                if k.startswith("x-") or k in ("content-type", "user-agent")
            },
            "body": first.body.decode(),
        },
    }


def _send(url: str, turns: int, conversations: int) -> tuple[list[dict[str, Any]], list[float]]:
    def one(i: int) -> tuple[dict[str, Any], float]:
        body = {
            "message": f"{DELEGATE_MESSAGE} (mensaje {i})",
            "session_id": f"bench-hook-{i % conversations}",
            "config": CONFIG,
        }
        started = time.perf_counter()
        r = httpx.post(
            f"{url}/api/agent/chat", json=body, headers={"Prefer": "respond-async"}, timeout=30
        )
        elapsed = (time.perf_counter() - started) * 1000
        assert r.status_code == 202, r.text
        return r.json(), elapsed

    with cf.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(turns)))
    return [r for r, _ in results], [ms for _, ms in results]


def _sequential(url: str, count: int) -> list[float]:
    """Accept times of `count` asynchronous turns sent one after another (other sessions)."""
    times = []
    with httpx.Client(timeout=30) as client:
        for i in range(count):
            body = {"message": DELEGATE_MESSAGE, "session_id": f"bench-one-{i}", "config": CONFIG}
            started = time.perf_counter()
            r = client.post(f"{url}/api/agent/chat", json=body, headers={"Prefer": "respond-async"})
            times.append((time.perf_counter() - started) * 1000)
            assert r.status_code == 202, r.text
            time.sleep(0.05)
    return times


def _in_order(deliveries: list[Any]) -> bool:
    turns: dict[str, list[int]] = {}
    for d in deliveries:
        event = d.json()
        turn = int(event["reply"].rsplit("(turno ", 1)[1].rstrip(")"))
        turns.setdefault(str(event["session_id"]), []).append(turn)
    return all(seq == sorted(seq) for seq in turns.values())


def _pct(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return round(ordered[index], 1)


if __name__ == "__main__":
    main()
