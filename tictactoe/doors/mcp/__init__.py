"""The MCP tools and resources: what a chat assistant calls, over SSE, streamable HTTP or stdio."""
