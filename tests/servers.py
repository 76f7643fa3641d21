"""Servers as a user starts them: the real entry points in subprocesses on 127.0.0.1, and a small HTTP client."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(**extra: str) -> dict[str, str]:
    """The environment without a Mistral key (also over any .env), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MISTRAL_", "PORT", "HOST"))}
    return {**env, "MISTRAL_API_KEY": "", "HOST": "127.0.0.1", **extra}


def http(method: str, url: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


class Served:
    """A server process started from the repository root, with its log kept for inspection."""

    def __init__(self, script: str, **env: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = (ROOT / ".pytest_cache").joinpath(f"{script}-{self.port}.log")
        self.log.parent.mkdir(parents=True, exist_ok=True)  # a script in a folder (bench/floor.py) logs in one too
        self.process = subprocess.Popen(
            [sys.executable, script],
            cwd=ROOT,
            env=server_env(PORT=str(self.port), **env),
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if http("GET", f"{self.url}/health")[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{script} did not start:\n{self.log.read_text()}")

    def stop(self) -> str:
        self.process.terminate()
        self.process.wait(timeout=10)
        return self.log.read_text()
