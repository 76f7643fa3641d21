"""Serve the game: MCP over SSE (/sse) and streamable HTTP (/mcp) beside the REST API on one port, or MCP on stdio.

python mcp_server.py                    # http://0.0.0.0:7860 (PORT, HOST)
python mcp_server.py --transport stdio  # for desktop MCP clients
"""

import argparse
import logging

import uvicorn

from app import app as flask_app
from app import service, settings
from tictactoe.gate import Policy
from tictactoe.logs import configure_logging
from tictactoe.mcp_tools import build_mcp
from tictactoe.server import GRACE_SECONDS, RedactIds, build_asgi

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
    logging.getLogger("uvicorn.access").addFilter(RedactIds())
    log.info(
        "Serving on http://%s:%d  (LeChat connector URL: <public URL>/sse; opponent: %s)",
        settings.host,
        settings.port,
        service.opponent.name,
    )
    uvicorn.run(
        build_asgi(mcp, flask_app, Policy.from_settings(settings)),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        proxy_headers=False,  # the gate reads X-Forwarded-* from TRUSTED_PROXIES only
        log_config=None,  # keep the one-line logging configured above
        timeout_graceful_shutdown=GRACE_SECONDS,
    )


if __name__ == "__main__":
    main()
