"""Serving it all on one port: settings, logging, the gate in front of every route, the bounds on connections and
MCP sessions, and the ASGI app uvicorn runs."""
