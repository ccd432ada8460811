"""Who a process is on this machine: host, pid and start time, so a reused pid is someone else."""

import os
import socket
from pathlib import Path


def start_time(pid: int) -> str | None:
    """The process's start time (clock ticks since boot), "0" without /proc, None when gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        if Path("/proc/self/stat").exists():
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return "0"
    return stat.rsplit(")", 1)[1].split()[19]


def process_owner(pid: int | None = None) -> str:
    """The tag `host:pid:start` of a process (this one by default)."""
    pid = pid or os.getpid()
    return f"{socket.gethostname()}:{pid}:{start_time(pid) or '0'}"


def owner_alive(owner: str) -> bool:
    """False only when the tagged process is known to be gone (another host's counts as alive)."""
    host, _, rest = owner.partition(":")
    pid, _, start = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    return start_time(int(pid)) == start
