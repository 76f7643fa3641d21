"""Several worker processes on one port (WORKERS=N, with REDIS_URL): uvicorn's supervisor starts each in a process
of its own, restarts one that dies, and needs the app as an import string to do so: each worker builds the whole
app here, from the settings, as the entry points do for one process."""

from __future__ import annotations

from dotenv import load_dotenv

from tictactoe.doors.flask_app import create_app
from tictactoe.doors.mcp.tools import build_mcp
from tictactoe.serving.asgi import bounded, build_asgi, serve
from tictactoe.serving.compose import build_service
from tictactoe.serving.config import Settings, load_settings
from tictactoe.serving.connections import BoundedH11Protocol
from tictactoe.serving.gate import Gate
from tictactoe.serving.logs import configure_logging


class WorkerProtocol(BoundedH11Protocol):
    """The bounded protocol, by a name uvicorn can import in each worker; its bounds are the worker's own."""


def worker_app() -> Gate:
    """The app of one worker process, and its connections' bounds."""
    load_dotenv()
    settings = load_settings()
    configure_logging(settings.log_level)
    service = build_service(settings)
    WorkerProtocol.bounds = bounded(settings)
    return build_asgi(build_mcp(service), create_app(service), service, settings)


def serve_workers(settings: Settings) -> None:
    """WORKERS processes serving the configured address until stopped."""
    serve(f"{__name__}:worker_app", settings, f"{__name__}:WorkerProtocol")
