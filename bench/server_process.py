"""The real server as a process both scripts measure: started and always stopped, and its CPU and memory read
from /proc (Linux)."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from tests import servers


@contextlib.contextmanager
def running_server(script: str = "mcp_server.py", **env: str) -> Iterator[servers.Served]:
    """`script` (the server, or another bench/perf.py measures) with `env`, stopped on the way out however the
    measuring ends."""
    server = servers.Served(script, **env)
    try:
        yield server
    finally:
        server.stop()


def wait_listening(port: int, count: int, seconds: float = 30) -> None:
    """Wait until `count` sockets listen on `port` (each worker's own): clients that connect before the last worker
    listens all land on the others, and their connections stay there."""
    deadline = time.monotonic() + seconds
    while listening(port) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{listening(port)} of {count} workers listen on port {port}")
        time.sleep(0.05)


def listening(port: int) -> int:
    """Sockets listening on TCP `port`, IPv4 and IPv6, from /proc/net."""
    found = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                found += state == "0A" and int(local.rsplit(":", 1)[1], 16) == port
    return found


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of process `pid`, from /proc; None where there is no /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float | None:
    """CPU time of process `pid` and of every process under it (uvicorn's workers), from /proc."""
    own = cpu_seconds(pid)
    if own is None:
        return None
    return own + sum(tree_cpu_seconds(child) or 0.0 for child in children(pid))


def children(pid: int) -> list[int]:
    """The processes `pid` started that still run."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(child) for child in task.read_text().split()]
        except OSError:
            continue  # the thread ended as we looked
    return found


def waited_seconds(pid: int) -> float | None:
    """Time the threads of process `pid` spent ready to run but waiting for a CPU, summed, from /proc (schedstat):
    what other processes on the machine, or its own other threads, took from it. None where the kernel does not keep
    it."""
    waits = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):  # a thread that has just ended
            waits.append(int((task / "schedstat").read_text().split()[1]))
    return sum(waits) / 1e9 if waits else None


def rss_kb(pid: int) -> int:
    """Resident memory of process `pid` in KB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0
