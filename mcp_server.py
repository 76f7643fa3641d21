"""Serve the game: MCP over SSE (/sse) and streamable HTTP (/mcp) beside the REST API on one port, or MCP on stdio.

python mcp_server.py                    # http://0.0.0.0:7860 (PORT, HOST)
python mcp_server.py --transport stdio  # for desktop MCP clients
"""

import argparse
import logging

from app import app as flask_app
from app import service, settings
from tictactoe.doors.mcp.tools import build_mcp
from tictactoe.serving.asgi import build_asgi, serve
from tictactoe.serving.logs import configure_logging
from tictactoe.serving.workers import serve_workers

log = logging.getLogger("mcp_server")
mcp = build_mcp(service)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--transport",
        choices=["http", "sse", "stdio"],
        default="http",
        help="http (or sse): MCP at /sse and /mcp plus the REST API on PORT; stdio: MCP on standard input/output",
    )
    args = parser.parse_args(argv)
    configure_logging(settings.log_level)  # again: importing fastmcp gave it a handler of its own
    if args.transport == "stdio":
        mcp.run(transport="stdio", show_banner=False)
        return
    log.info(
        "Serving on http://%s:%d  (LeChat connector URL: <public URL>/sse; opponent: %s)",
        settings.host,
        settings.port,
        service.opponent.name,
    )
    if settings.workers > 1:
        serve_workers(settings)  # each worker builds its own app
    else:
        serve(build_asgi(mcp, flask_app, service, settings), settings)


if __name__ == "__main__":
    main()
