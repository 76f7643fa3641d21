"""Tic-tac-toe for chat assistants, in layers that import inward only:

game (rules, engine, lines) <- state (rooms, stores, scores) <- players (the opponent) <- services (what a player
can do) <- doors (REST, pages, MCP) <- serving (the one-port app, gate, bounds, settings, logs).
"""

__version__ = "0.2.0"  # as the MCP server introduces itself (serverInfo) and the OpenAPI document
