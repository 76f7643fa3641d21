"""The board inside the chat (MCP Apps): one HTML document, served as a ui:// resource, that hosts which render MCP
Apps show beside the results of the tools that point at it. Hosts without MCP Apps ignore the pointer and show the
text, which is the same either way."""

from __future__ import annotations

import re
from pathlib import Path

from fastmcp import FastMCP
from fastmcp.apps.config import AppConfig, app_config_to_meta_dict

BOARD_URI = "ui://tictactoe/board.html"
# A tool's meta pointing at the board (its results are shown on it), as fastmcp's own `app=` option writes it
ON_BOARD = {"ui": app_config_to_meta_dict(AppConfig(resource_uri=BOARD_URI))}
FOLDER = Path(__file__).resolve().parent / "board"
_LINKED = re.compile(r'<link rel="stylesheet" href="([^"]+)">|<script src="([^"]+)"></script>')


def add_board(mcp: FastMCP) -> None:
    """Register the board's document on `mcp` (fastmcp gives a ui:// resource the MCP Apps MIME type)."""
    document = board_document()

    @mcp.resource(BOARD_URI, name="board", description="The tic-tac-toe board, to play inside the chat (MCP Apps).")
    def board() -> str:
        return document


def board_document() -> str:
    """board/board.html with its stylesheets and scripts inlined: the host's sandbox lets the board fetch nothing."""
    return _LINKED.sub(_inlined, (FOLDER / "board.html").read_text())


def _inlined(link: re.Match) -> str:
    stylesheet, script = link.groups()
    if stylesheet:
        return f"<style>\n{(FOLDER / stylesheet).read_text()}</style>"
    return f"<script>\n{(FOLDER / script).read_text()}</script>"
