"""The pages people open in a browser: the home page, a room's board, and their live event streams."""
