"""A real redis-server (Debian's package) for the tests: on a free loopback port, in its own folder, started and
stopped by the tests; and killed and restarted on the same port and folder, for the fault tests."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

import redis

from tests.servers import free_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class RedisServer:
    """redis-server on 127.0.0.1, its files in `folder`; with `appendonly`, every write is logged there, fsynced
    as `fsync` says (everysec or always)."""

    def __init__(self, folder: Path, appendonly: bool = False, fsync: str = "everysec"):
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.options = ["--appendonly", "yes" if appendonly else "no", "--appendfsync", fsync]
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self) -> RedisServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
             "--save", "", "--daemonize", "no", "--loglevel", "warning", *self.options],
            stdout=(self.folder / "redis.log").open("a"),
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    log = (self.folder / "redis.log").read_text()
                    raise RuntimeError(f"redis-server did not start:\n{log}") from None
                time.sleep(0.02)
        client.close()
        return self

    def kill(self) -> None:
        """kill -9: whatever Redis had not written to its files is lost."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
