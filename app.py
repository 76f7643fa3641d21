"""The game and its REST API, as in the tutorial: `Room`, the `rooms` store and the Mistral helpers live here.

`python app.py` serves the REST API alone; `python mcp_server.py` serves it beside MCP, over these same rooms.
"""

import sys

from dotenv import load_dotenv

from tictactoe.doors.flask_app import create_app
from tictactoe.serving.compose import build_service
from tictactoe.serving.config import ConfigError, load_settings
from tictactoe.serving.logs import configure_logging
from tictactoe.state.room import Room  # noqa: F401  (re-exported: the tutorial's name for a game)

load_dotenv()
try:
    settings = load_settings()
    service = build_service(settings)
except ConfigError as error:
    sys.exit(f"Configuration error: {error}")

configure_logging(settings.log_level)
rooms = service.rooms
opponent = service.opponent
get_ai_move_for_room = opponent.move  # (board, difficulty) -> Reply: Mistral's move, or the engine's
get_ai_chat_for_room = opponent.answer  # (board, message) -> str, in character
app = create_app(service)

if __name__ == "__main__":
    app.run(host=settings.host, port=settings.port, threaded=True)
