"""The game itself: the board and its rules, the built-in engine and its lines, the errors a player can cause.

The standard library only: nothing here knows of rooms, HTTP, MCP or Mistral.
"""
