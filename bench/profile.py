"""Profile the orchestrator (and bare baseline) under load with py-spy: where a turn's time goes.

    python -m bench.profile                  # orchestrator, then baseline, and the difference
    python -m bench.profile --only orchestrator --seconds 30 [--offline]
    python -m bench.profile --history 200 --concurrency 2   # long conversations
    python -m bench.profile --report bench/results/profile-orchestrator.txt --cpu-ms 28

py-spy samples the thread holding the GIL (`--gil`: Python work, no idle waits); on a loaded
2-core machine it cannot keep its nominal rate, so shares of samples are scaled to the CPU time
the process really used (from /proc) to give milliseconds per turn (native work done without
the GIL, such as SQLite statements on the saver's thread, is spread over the rest). Each sample is
charged to the innermost frame outside the standard library (typing.py called from openai's
request transform counts as openai). Collapsed stacks are kept in
bench/results/profile-*.txt (open them with speedscope or flamegraph.pl).
"""

from __future__ import annotations

import argparse
import contextlib
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import (
    REPO_ROOT,
    RESULTS_DIR,
    Service,
    cpu_seconds,
    orchestrator_env,
    orchestrator_process,
    say,
    scratch_dir,
    start_all,
    start_baseline,
    start_helpers,
    warm_chat,
)
from bench.load import run_load
from bench.workload import DELEGATE_MESSAGE

FRAME = re.compile(r"^(?P<func>.*) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")
STDLIB = "stdlib"

# Named spots: label → a substring of one frame ("function (file" style, file as normalised).
SPOTS: dict[str, str] = {
    "ChatOpenAI._agenerate (all of the model call)": "BaseChatOpenAI._agenerate (",
    "openai request building (_transform)": "openai/_utils/_transform.py",
    "structured output schema (pydantic JSON schema)": "pydantic/json_schema.py",
    "with_structured_output called per turn": "with_structured_output (",
    "langchain callbacks / run managers": "langchain_core/callbacks/",
    "langchain_core tracers": "langchain_core/tracers/",
    "LangGraph pregel loop and channels": "langgraph/pregel/",
    "checkpoint serializer": "langgraph/checkpoint/serde/",
    "SQLite saver calls (its thread)": "langgraph/checkpoint/sqlite/",
    "psycopg calls": "psycopg/",
    "session storage queries (server/storage/ops.py)": "server/storage/ops.py",
    "MCP ClientSession.call_tool": "ClientSession.call_tool (",
    "MCP tool result validation (jsonschema)": "ClientSession._validate_tool_result (",
    "MCP streamable HTTP transport": "mcp/client/streamable_http.py",
    "security middlewares (server/security)": "server/security/",
    "logging": "logging/__init__.py",
    "uvicorn HTTP protocol": "uvicorn/protocols/http/",
    "tenacity retry wrapper": "tenacity/",
}


def normalise(file: str) -> str:
    """site-packages/x/y.py → x/y.py; the repo's files relative to it; the stdlib as 'stdlib/…'."""
    if "site-packages/" in file:
        return file.split("site-packages/", 1)[1]
    root = f"{REPO_ROOT}/"
    if file.startswith(root):
        return file[len(root) :]
    match = re.search(r"/lib/python3\.\d+/(.*)$", file)
    if match or file.startswith("<") or "/" not in file:
        return f"{STDLIB}/{match.group(1) if match else file}"
    return file


@dataclass
class Profile:
    """A parsed profile: samples per package, spot, project function and leaf function."""

    cpu_ms_per_turn: float
    total: int = 0
    packages: Counter[str] = field(default_factory=Counter)
    spots: Counter[str] = field(default_factory=Counter)
    project: Counter[str] = field(default_factory=Counter)
    leaves: Counter[str] = field(default_factory=Counter)

    def ms(self, samples: int) -> float:
        """Samples → ms of CPU per turn (their share of the process's measured CPU time)."""
        return samples / max(1, self.total) * self.cpu_ms_per_turn


def analyse(path: Path, cpu_ms_per_turn: float) -> Profile:
    prof = Profile(cpu_ms_per_turn)
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        frames = []
        for raw in stack.split(";"):
            match = FRAME.match(raw)
            frames.append(
                (match.group("func"), normalise(match.group("file")))
                if match
                else (raw, f"{STDLIB}/?")
            )
        prof.total += n
        func, file = frames[-1]
        prof.leaves[f"{func} ({file})"] += n
        owner = next(
            (f.split("/", 1)[0] for _, f in reversed(frames) if not f.startswith(f"{STDLIB}/")),
            "stdlib/runtime",
        )
        prof.packages[owner.removesuffix(".py")] += n
        text = ";".join(f"{fn} ({f}" for fn, f in frames)
        for label, needle in SPOTS.items():
            if needle in text:
                prof.spots[label] += n
        for fn, f in set(frames):
            if f.startswith(("server/", "graph/")):
                prof.project[f"{fn} ({f})"] += n
    return prof


def report(prof: Profile, top: int = 15) -> str:
    def row(label: str, n: int) -> str:
        return f"  {n / max(1, prof.total) * 100:5.1f}%  {prof.ms(n):6.2f} ms/turn  {label}"

    out = [
        f"{prof.total} samples; the process used {prof.cpu_ms_per_turn:.1f} ms of CPU per turn",
        "",
        "By package (innermost frame outside the standard library):",
    ]
    out += [row(name, n) for name, n in prof.packages.most_common(top)]
    out += ["", "Named spots (inclusive, they overlap; async tasks have their own stacks):"]
    out += [row(label, n) for label, n in prof.spots.most_common()]
    out += ["", "Project functions (inclusive):"]
    out += [row(name, n) for name, n in prof.project.most_common(top)]
    out += ["", "Hottest leaf functions (self time):"]
    out += [row(name, n) for name, n in prof.leaves.most_common(top)]
    return "\n".join(out)


def compare(orch: Profile, base: Profile, top: int = 20) -> str:
    """Per package and per spot: orchestrator ms/turn, baseline ms/turn, difference."""

    def table(title: str, a: Counter[str], b: Counter[str]) -> list[str]:
        keys = sorted(set(a) | set(b), key=lambda k: orch.ms(a[k]) - base.ms(b[k]), reverse=True)
        lines = [title, f"  {'orchestrator':>12} {'baseline':>9} {'extra':>7}  ms/turn"]
        for key in keys[:top]:
            oa, ba = orch.ms(a[key]), base.ms(b[key])
            lines.append(f"  {oa:12.2f} {ba:9.2f} {oa - ba:+7.2f}  {key}")
        return lines

    out = [
        f"CPU per turn: orchestrator {orch.ms(orch.total):.1f} ms, baseline "
        f"{base.ms(base.total):.1f} ms, extra {orch.ms(orch.total) - base.ms(base.total):.1f}"
        " ms",
        "",
    ]
    out += table("Extra time by package:", orch.packages, base.packages)
    out += [""] + table("Extra time by named spot:", orch.spots, base.spots)
    return "\n".join(out)


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds per thread id of a process."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            out[int(task.name)] = cpu_seconds(pid, int(task.name))
    return out


def record(
    kind: str,
    seconds: float,
    offline: bool,
    concurrency: int,
    rate: int,
    raw: Path,
    history: int = 0,
) -> float:
    """Run `kind` (orchestrator or baseline) under load while py-spy records it; its CPU ms per
    turn during the recording. With `history`, the sessions first reach that many turns
    (MAX_HISTORY_TURNS=history keeps them there)."""
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        raise SystemExit("py-spy is not installed: pip install py-spy (it is in the dev extras)")
    stub, agent = start_helpers()
    services = [stub, agent]
    try:
        with scratch_dir("profile") as tmp:
            target: Service
            if kind == "orchestrator":
                extra = {"MAX_HISTORY_TURNS": history} if history else {}
                target = orchestrator_process(
                    orchestrator_env(None if offline else stub, agent, tmp, **extra)
                )
            else:
                target = start_baseline(stub, agent, start=False)
            services.append(target)
            start_all(target)
            warm_chat(target.url, "warm-0", DELEGATE_MESSAGE)
            prefix = f"profile-{time.time_ns()}"
            if history:
                say(f"building {concurrency} sessions of {history} turns")
                run_load(
                    target.url,
                    label=f"{kind}-build",
                    concurrency=concurrency,
                    sessions=concurrency,
                    repeat=history,
                    session_prefix=prefix,
                    max_seconds=600,
                    progress=10,
                )
            else:
                run_load(
                    target.url,
                    label=f"{kind}-warm",
                    concurrency=10,
                    sessions=10,
                    repeat=10,
                    progress=0,
                )
            raw.parent.mkdir(parents=True, exist_ok=True)
            say(
                f"profiling the {kind} (pid {target.pid}) for {seconds:.0f} s under "
                f"{concurrency} sessions"
            )
            recorder = subprocess.Popen(
                [
                    spy,
                    "record",
                    "--pid",
                    str(target.pid),
                    "--gil",
                    "--rate",
                    str(rate),
                    "--format",
                    "raw",
                    "--output",
                    str(raw),
                    "--duration",
                    str(int(seconds)),
                    "--nonblocking",
                    "--full-filenames",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            time.sleep(0.3)
            cpu0, threads0 = cpu_seconds(target.pid), thread_cpu(target.pid)
            result = run_load(
                target.url,
                label=f"{kind}-load",
                concurrency=concurrency,
                sessions=concurrency if history else 100_000,
                repeat=100_000 if history else 10,
                session_prefix=prefix,
                max_seconds=seconds - 0.3,
            )
            _, err = recorder.communicate(timeout=60)
            if recorder.returncode != 0 or not raw.exists():
                raise RuntimeError(f"py-spy failed: {err.decode(errors='replace')[-500:]}")
            turns = max(1, result.turns)
            cpu_ms = (cpu_seconds(target.pid) - cpu0) * 1000 / turns
            threads = {
                tid: (sec - threads0.get(tid, 0.0)) * 1000 / turns
                for tid, sec in thread_cpu(target.pid).items()
            }
            main_ms = threads.pop(target.pid, 0.0)
            say("  " + result.describe())
            say(
                f"  CPU {cpu_ms:.1f} ms per turn: main thread {main_ms:.1f} ms, other threads "
                f"{sum(threads.values()):.1f} ms (busiest "
                + ", ".join(f"{ms:.1f}" for ms in sorted(threads.values(), reverse=True)[:3])
                + ")"
            )
            return cpu_ms
    finally:
        for svc in reversed(services):
            svc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=("orchestrator", "baseline"))
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--offline", action="store_true", help="orchestrator routes offline")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rate", type=int, default=200, help="samples per second")
    parser.add_argument(
        "--history",
        type=int,
        default=0,
        help="profile turns on sessions already holding this many turns "
        "(orchestrator only; use a small --concurrency)",
    )
    parser.add_argument("--report", type=Path, help="analyse an existing collapsed-stack file")
    parser.add_argument(
        "--cpu-ms",
        type=float,
        default=1.0,
        help="the process's CPU ms per turn (with --report; else shares only)",
    )
    args = parser.parse_args()
    if args.report:
        print(report(analyse(args.report, args.cpu_ms)))
        return
    profiles: dict[str, Profile] = {}
    kinds = [args.only] if args.only else ["orchestrator", "baseline"]
    if args.history:
        kinds = ["orchestrator"]
    for kind in kinds:
        raw = RESULTS_DIR / f"profile-{kind}{f'-h{args.history}' if args.history else ''}.txt"
        cpu_ms = record(
            kind, args.seconds, args.offline, args.concurrency, args.rate, raw, args.history
        )
        profiles[kind] = analyse(raw, cpu_ms)
        print(f"\n== {kind} ({raw.relative_to(REPO_ROOT)})\n{report(profiles[kind])}\n", flush=True)
    if len(profiles) == 2:
        print(compare(profiles["orchestrator"], profiles["baseline"]))


if __name__ == "__main__":
    main()
