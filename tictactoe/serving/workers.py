"""Several worker processes on one port (WORKERS=N, with REDIS_URL), each building the whole app from the settings and
listening on a socket of its own, bound to the one port with SO_REUSEPORT: the kernel spreads new connections evenly
among them. (uvicorn's own workers share one socket, and asyncio accepts every connection queued at once: a burst
lands on one worker, and connections that stay open, SSE streams above all, keep it there.) A worker that dies is
started again; stopping the server stops them all."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import threading

from dotenv import load_dotenv

from tictactoe.doors.flask_app import create_app
from tictactoe.doors.mcp.tools import build_mcp
from tictactoe.serving.asgi import GRACE_SECONDS, STARTUP_FAILURE, build_asgi, serve
from tictactoe.serving.compose import build_service
from tictactoe.serving.config import Settings, load_settings
from tictactoe.serving.logs import configure_logging

log = logging.getLogger(__name__)

BACKLOG = 2048  # connections the kernel queues for each worker before it accepts them


def shared_socket(settings: Settings, port: int) -> socket.socket:
    """A socket on the server's address that other sockets of this server may bind too (SO_REUSEPORT)."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((settings.host, port))
    return sock


def run_worker() -> None:
    """One worker process: the app, built from the settings, served on a listening socket of its own."""
    load_dotenv()
    settings = load_settings()
    configure_logging(settings.log_level)
    service = build_service(settings)
    listening = shared_socket(settings, settings.port)
    listening.listen(BACKLOG)
    serve(build_asgi(build_mcp(service), create_app(service), service, settings), settings, listening)


def serve_workers(settings: Settings) -> None:
    """WORKERS processes serving the configured address until this one is stopped (SIGTERM or SIGINT)."""
    held = shared_socket(settings, settings.port)  # the port, reserved (never listening) while the workers serve
    os.environ["PORT"] = str(held.getsockname()[1])  # what the workers read, PORT=0 resolved
    stopping = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stopping.set())
    workers = [_started() for _ in range(settings.workers)]
    while not stopping.wait(0.5):
        for index, worker in enumerate(workers):
            if worker.is_alive():
                continue
            if worker.exitcode == STARTUP_FAILURE:
                log.error("a worker could not start; stopping the server")
                stopping.set()
                break
            log.warning("worker %s stopped (exit status %s); starting another", worker.pid, worker.exitcode)
            workers[index] = _started()
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.join(GRACE_SECONDS + 5)
        if worker.is_alive():
            worker.kill()
    held.close()


def _started() -> multiprocessing.Process:
    worker = multiprocessing.get_context("spawn").Process(target=run_worker, name="worker")
    worker.start()
    log.info("worker %s started", worker.pid)
    return worker
