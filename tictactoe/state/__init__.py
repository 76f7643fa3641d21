"""What the server keeps: rooms (a game, its seats, its history and how each side sees it), the stores that hold
them (memory or SQLite) and the scores. Built on the game alone."""
