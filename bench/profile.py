"""Where a server's CPU goes under a load: py-spy (not a requirement: install it to use this) samples the process
while the load's window is measured, and the samples are summed by function and by package. py-spy takes CPU of
its own, so figures measured while it samples read low."""

from __future__ import annotations

import contextlib
import math
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

RATE = 250  # samples a second
PROJECT = "tictactoe/"


def py_spy() -> str | None:
    """The py-spy command beside this Python, or on the PATH; None if it is not installed."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


@contextlib.contextmanager
def recording(pid: int, seconds: float, output: Path) -> Iterator[None]:
    """Sample `pid` while the block runs (at most `seconds`) into `output`: collapsed stacks, one a line, of the
    thread holding the GIL only, which is where a Python server's CPU goes."""
    command = [py_spy(), "record", "--pid", str(pid), "--duration", str(math.ceil(seconds)), "--rate", str(RATE)]
    # Blocking (the process paused for each sample): without, py-spy reads stacks as they change, and the functions
    # it finds running disagree from one run to the next.
    command += ["--format", "raw", "--gil", "--nolineno", "--output", str(output)]
    sampler = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        sampler.wait(timeout=seconds + 30)  # it stops by itself after its duration


def package(frame: str) -> str:
    """What a frame ("name (path/file.py)") belongs to: a library, a standard module, or one of the project's
    layers (tictactoe/serving...)."""
    path = frame.rpartition(" (")[2].rstrip(")")
    parts = path.split("/")
    if path.startswith(PROJECT) and len(parts) > 2:
        return "/".join(parts[:2])
    return parts[0].removesuffix(".py")


def summary(output: Path, top: int = 12) -> list[str]:
    """The samples' shares: by package of the running function, by function itself, and by the project's function
    nearest it on the stack (its own code, and the library calls it made)."""
    leaves, packages, nearest = Counter(), Counter(), Counter()
    for line in output.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        leaves[frames[-1]] += int(count)
        packages[package(frames[-1])] += int(count)
        nearest[next((frame for frame in reversed(frames) if PROJECT in frame), "(none)")] += int(count)
    total = leaves.total() or 1

    def shares(counter: Counter) -> list[str]:
        return [f"    {100 * n / total:5.1f}%  {name}" for name, n in counter.most_common(top)]

    return [
        f"  {total} samples; by package (self):", *shares(packages),
        "  by function (self):", *shares(leaves),
        "  by the project's function nearest on the stack:", *shares(nearest),
    ]  # fmt: skip
