"""Tic-tac-toe for chat assistants: rules, rooms, opponents, and the REST and MCP adapters over them."""
