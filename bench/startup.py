"""Item 5: start-up time, from process start to the first /health 200 and the first answered turn.

The stub and the agent are already up; each run uses a fresh SQLite file (tables created at
start-up). Also times a bare `import server.main` in a new interpreter, the largest part.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter

import httpx

from bench.common import (
    REPO_ROOT,
    Figure,
    Service,
    bench_main,
    check,
    orchestrator_env,
    orchestrator_process,
    pick,
    say,
    scratch_dir,
    start_helpers,
)
from bench.stats import median
from bench.workload import CHAT_PATH, CONFIG, DELEGATE_MESSAGE
from harness.procs import child_env

NAME = "startup"
POLL = 0.005


def one_start(stub: Service, agent: Service, rep: int) -> tuple[float, float]:
    """(seconds to the first /health 200, seconds to the first answered chat turn)."""
    with scratch_dir(f"startup-{rep}") as tmp, httpx.Client(timeout=30, trust_env=False) as client:
        orch = orchestrator_process(orchestrator_env(stub, agent, tmp))
        t0 = time.perf_counter()
        orch.process.spawn()
        try:
            deadline = t0 + 60
            health = turn = None
            while time.perf_counter() < deadline:
                if not orch.process.alive:
                    raise RuntimeError(f"orchestrator exited:\n{orch.process.log_tail()}")
                try:
                    if client.get(f"{orch.url}/health", timeout=0.5).status_code == 200:
                        health = time.perf_counter() - t0
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(POLL)
            body = {"message": DELEGATE_MESSAGE, "session_id": "first", "config": CONFIG}
            while health is not None and time.perf_counter() < deadline:
                r = client.post(f"{orch.url}{CHAT_PATH}", json=body)
                if r.status_code == 200:
                    turn = time.perf_counter() - t0
                    if r.json().get("action") != "delegate":
                        say(f"  WARNING: first turn answered {r.json()}")
                    break
                time.sleep(POLL)
            if health is None or turn is None:
                raise RuntimeError("orchestrator did not answer within 60 s")
        finally:
            orch.stop()
    return health, turn


def import_seconds(tries: int = 2) -> tuple[float, list[tuple[str, float]]]:
    """Wall time of `python -c 'import server.main'` less an empty interpreter's start (best of
    `tries` each), and the packages that take longest to import (self time summed per top-level
    package, from -X importtime)."""

    def timed(*argv: str) -> tuple[float, str]:
        t0 = time.perf_counter()
        done = subprocess.run(
            [sys.executable, *argv],
            cwd=REPO_ROOT,
            env=child_env(),
            check=True,
            capture_output=True,
            text=True,
        )
        return time.perf_counter() - t0, done.stderr

    wall = min(timed("-c", "import server.main")[0] for _ in range(tries)) - min(
        timed("-c", "pass")[0] for _ in range(tries)
    )
    per_package: Counter[str] = Counter()
    for line in timed("-X", "importtime", "-c", "import server.main")[1].splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            self_us, _, name = line.split(":", 1)[1].split("|")
            per_package[name.strip().split(".")[0]] += int(self_us)
    return wall, [(name, us / 1e6) for name, us in per_package.most_common(8)]


def run(scale: str = "default") -> list[Figure]:
    reps = pick(scale, 1, 3, 5)
    say(f"{NAME}: {reps} cold start(s) with the agent and the model stub up")
    stub, agent = start_helpers()
    healths, turns = [], []
    try:
        imp, heavy = import_seconds(1 if scale == "quick" else 2)
        say(
            f"  import server.main: {imp:.2f} s; slowest packages (self time): "
            + ", ".join(f"{name} {sec * 1000:.0f} ms" for name, sec in heavy)
        )
        for rep in range(reps):
            health, turn = one_start(stub, agent, rep)
            healths.append(health)
            turns.append(turn)
            say(
                f"  run {rep + 1}: /health 200 after {health:.2f} s, first turn answered after "
                f"{turn:.2f} s"
            )
    finally:
        stub.stop()
        agent.stop()
    h, t = median(healths), median(turns)
    note = f"median of {reps}, max {max(healths):.2f} s" if reps > 1 else ""
    return [
        Figure(NAME, "process start → first /health 200", h, "s", "≤ 2 s", check(h, 2.0), note),
        Figure(
            NAME,
            "process start → first answered chat turn",
            t,
            "s",
            note=f"median of {reps}, max {max(turns):.2f} s" if reps > 1 else "",
        ),
        Figure(NAME, "of which `import server.main`", imp, "s"),
    ]


def main() -> None:
    bench_main(NAME, run)


if __name__ == "__main__":
    main()
