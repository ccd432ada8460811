"""Run the benchmarks (all, or some by name), print one table and write bench/results/latest.md.

python -m bench.run_all                 # every benchmark, ~7 minutes
python -m bench.run_all --quick         # every benchmark, ~1 minute (small samples)
python -m bench.run_all --full          # the issue's sizes, ~10 minutes
python -m bench.run_all overhead mcp    # a subset by name
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import shutil
import sys
import time
import traceback

from bench.common import (
    LOG_DIR,
    RESULTS_DIR,
    Figure,
    machine_facts,
    markdown_table,
    say,
    scale_args,
    summary_line,
)

# name → module; "baseline" (item 2) is measured in the same run as "overhead" (item 1).
BENCHMARKS: dict[str, str] = {
    "overhead": "bench.overhead",
    "mcp": "bench.mcp_requests",
    "checkpoint": "bench.checkpoint",
    "startup": "bench.startup",
    "memory": "bench.memory",
    "agents": "bench.agents_http",
    "scale": "bench.scale",
}
ALIASES = {"baseline": "overhead", "mcp_requests": "mcp", "agents_http": "agents"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    scale_args(parser)
    parser.add_argument(
        "names",
        nargs="*",
        metavar="name",
        help=f"benchmarks to run: {', '.join(BENCHMARKS)} (default: all; "
        "'baseline' is part of 'overhead')",
    )
    args = parser.parse_args(argv)
    names: list[str] = []
    for raw in args.names or list(BENCHMARKS):
        name = ALIASES.get(raw, raw)
        if name not in BENCHMARKS:
            parser.error(f"unknown benchmark {raw!r}; choose from {', '.join(BENCHMARKS)}")
        if name not in names:
            names.append(name)

    shutil.rmtree(LOG_DIR, ignore_errors=True)  # the servers' logs of the previous run
    facts = machine_facts()
    load_before = os.getloadavg()
    say(
        f"benchmarks {', '.join(names)} ({args.scale}); {facts['nproc']} CPUs "
        f"({facts['cpu']}), Python {facts['python']}, load avg {load_before[0]:.1f}"
    )
    started = time.monotonic()
    figures: list[Figure] = []
    timings: dict[str, float] = {}
    for name in names:
        t0 = time.monotonic()
        say(f"=== {name}")
        try:
            module = importlib.import_module(BENCHMARKS[name])
            got = module.run(args.scale)
        except Exception as exc:  # one failing benchmark does not stop the rest
            traceback.print_exc()
            got = [Figure(name, f"FAILED: {type(exc).__name__}: {exc}"[:200], None)]
        timings[name] = time.monotonic() - t0
        print(summary_line(name, got), flush=True)
        figures += got
    total = time.monotonic() - started

    table = markdown_table(figures)
    targets = [f for f in figures if f.met is not None]
    met = sum(1 for f in targets if f.met)
    stamp = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    header = (
        f"Benchmarks ({args.scale} run, {stamp}): {facts['nproc']} CPUs, {facts['cpu']}, "
        f"{facts['memory']} RAM, Python {facts['python']}; load average "
        f"{load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after; "
        f"{total:.0f} s in all (" + ", ".join(f"{n} {s:.0f} s" for n, s in timings.items()) + ")."
    )
    print()
    print(header)
    print()
    print(table)
    print()
    print(f"SUMMARY: {met}/{len(targets)} targets met in {total:.0f} s")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / "latest.md"
    out.write_text(
        f"# Benchmark results\n\n{header}\n\n{table}\n\n{met}/{len(targets)} targets met.\n"
    )
    print(f"(written to {out.relative_to(RESULTS_DIR.parent.parent)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
