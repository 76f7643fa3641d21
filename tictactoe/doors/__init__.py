"""The ways in: the REST API, the pages with their live streams, and the MCP tools. Each parses, calls one service
and formats the answer (JSON and Markdown), over the same rooms."""
