"""A small bundled MCP server for trying ``%mcp``: ``python -m mcpomni_jupyter.demo.server``."""
