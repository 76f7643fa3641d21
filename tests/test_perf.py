"""bench/perf.py runs end to end: a tiny run of every load against the server and its floor prints every figure
and every goal; and py-spy's samples (it is not installed for the tests) are summed as the report says."""

import subprocess
import sys

from bench.profile import summary
from tests.servers import ROOT

TINY = ["--seconds", "0.5", "--warmup", "0.2", "--clients", "4", "--watchers", "1", "3", "--moves", "4"]
TINY += ["--rooms", "300", "600", "--rate", "40"]
FIGURES = (
    "MCP over SSE: calls/s",
    "MCP over streamable HTTP: calls/s",
    "REST POST /rooms/<id>/move: req/s",
    "server CPU per answer (ms)",
    "calls/s per CPU-second of the server",
    "server on a CPU / threads waiting for one",
    "load client CPU per answer (ms)",
    "a move reaching page streams, p50/p99 ms",
    "3 watcher(s), 12 deliveries",
    "server RSS (MB)",
    "RSS per room added (bytes)",
    "full gc.collect() (ms, median of 3)",
    "REST move p50 / p99 / max (ms)",
    "Python's own full GCs, filling",
    "errors: 0",
)
GOALS = (">= 0.85x the floor: ", ">= 0.75x the floor: ", "p99 <= 1.2x the bare app: ", "<= 250 MB: ", "<= 50 ms: ")


def test_perf_script_prints_its_figures_and_goals():
    command = [sys.executable, "bench/perf.py", *TINY]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    for label in FIGURES + GOALS + ("p99 within 3x p50: ",):
        assert label in result.stdout, label
    assert result.stdout.count(">= 0.85x the floor: ") == 2  # one for each transport


def test_samples_are_summed_by_package_and_function(tmp_path):
    samples = tmp_path / "samples.txt"
    samples.write_text(
        "run (uvicorn/main.py);__call__ (tictactoe/serving/gate.py);dumps (json/__init__.py) 3\n"
        "run (uvicorn/main.py);__call__ (tictactoe/serving/gate.py) 1\n"
    )
    lines = summary(samples)
    assert "  4 samples; by package (self):" in lines
    assert "     75.0%  json" in lines
    assert "     25.0%  tictactoe/serving" in lines
    assert "    100.0%  __call__ (tictactoe/serving/gate.py)" in lines  # the project's function nearest
