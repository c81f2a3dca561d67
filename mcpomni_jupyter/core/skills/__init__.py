"""Skills (the ``io.modelcontextprotocol/skills`` extension, SEP-2640): listed from entries, loaded on demand, verified."""
